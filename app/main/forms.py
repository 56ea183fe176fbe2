from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField

from app.forms import LANGUAGE_CHOICES, BaseForm


class LanguageForm(BaseForm):
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    next = HiddenField()
