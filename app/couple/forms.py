from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from app.accounts.forms import password_field
from app.forms import BaseForm, strip


class JoinForm(BaseForm):
    code = StringField(
        _l("Invite code"),
        description=_l("Six letters and numbers, like K7M-3QX."),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter the code your partner gave you.")),
            Length(max=20, message=_l("A code is six letters and numbers, like K7M-3QX.")),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Join"))


class LeaveForm(BaseForm):
    password = password_field(_l("Your password"))
    submit = SubmitField(_l("Leave the couple"))
