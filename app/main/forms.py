from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, SubmitField

from app.forms import BaseForm


class LanguageForm(BaseForm):
    locale = SelectField(_l("Language"), choices=[("en", "English"), ("nl", "Nederlands")])
    next = HiddenField()
    submit = SubmitField(_l("Switch"))
