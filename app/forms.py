"""The base form every Duet form builds on."""

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, StringField

LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("nl", "Nederlands")]

# Tab, newline and carriage return are the only control characters a person types.
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def has_control_characters(text: str) -> bool:
    return any(
        unicodedata.category(char) in {"Cc", "Cs"} and char not in _ALLOWED_CONTROLS
        for char in text
    )


def strip(value):
    """Filter: surrounding spaces are never meant, and a name of only spaces is empty."""
    return value.strip() if isinstance(value, str) else value


class BaseForm(FlaskForm):
    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field, StringField) and field.data and has_control_characters(field.data):
                message = _l("Please remove the invisible control characters.")
                field.errors = [*field.errors, message]
                valid = False
        return valid
