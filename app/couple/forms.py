from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length

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
    password = PasswordField(
        _l("Your password"),
        validators=[
            InputRequired(_l("Please enter your password.")),
            Length(max=256, message=_l("A password is at most 256 characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Leave the couple"))
