from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, StringField, SubmitField
from wtforms.validators import Optional

from app.accounts.forms import password_field
from app.forms import BaseForm


class SignForm(BaseForm):
    # The drawing's error links to "type instead", there without JavaScript too.
    error_targets = {"signature": "typed"}

    full_name = StringField(
        _l("Your full name"),
        description=_l("As you would write it on a paper document."),
        render_kw={"autocomplete": "name", "maxlength": 120},
    )
    signature = HiddenField()
    typed = BooleanField(_l("Type my signature instead of drawing it"))
    review_on = DateField(
        _l("When shall we talk about how it is going?"),
        description=_l("Four weeks from now is a good start. Duet reminds you both."),
        validators=[Optional()],
    )
    agreed = BooleanField(_l("I have read this agreement and I agree to it."))
    password = password_field(_l("Your password"))
    submit = SubmitField(_l("Sign"))


class VerifyForm(BaseForm):
    document = FileField(
        _l("The PDF to check"),
        validators=[FileRequired(_l("Please choose a PDF file."))],
    )
    submit = SubmitField(_l("Check"))
