"""The base form every Duet form builds on."""

import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField

LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("nl", "Nederlands")]

# Tab, newline and carriage return are the only control characters a person types.
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}
# Bidi embeddings, overrides and isolates turn the rest of a line around ("Anna" shown for
# "annA"): refused, while the plain left-to-right and right-to-left marks stay allowed.
_BIDI_CONTROLS = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


def _raw_controls(text: str) -> bool:
    return any(
        unicodedata.category(char) in {"Cc", "Cs"} and char not in _ALLOWED_CONTROLS
        for char in text
    )


def has_control_characters(text: str) -> bool:
    return _raw_controls(text) or any(char in _BIDI_CONTROLS for char in text)


def is_ordinary(text: str, max_length: int) -> bool:
    """Short enough, and nothing in it that turns text around or does not show: what the
    rules ask of every short plain text a person writes (a name, a note, a review answer)."""
    return len(text) <= max_length and not has_control_characters(text)


# What shows nothing on screen: format characters (zero-width, bidi controls, soft hyphen,
# BOM), controls, spaces and separators; and letters fonts draw as nothing (fillers, the blank
# braille cell, variation selectors, the grapheme joiner).
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}
_INVISIBLE_LETTERS = {
    "\u034f",
    "\u115f",
    "\u1160",
    "\u2800",
    "\u3164",
    "\uffa0",
    *map(chr, range(0x180B, 0x1810)),
    *map(chr, range(0xFE00, 0xFE10)),
}


def shows_nothing(text: str) -> bool:
    """Whether the text is empty on screen: a name or title made of it is no name at all."""
    return all(
        unicodedata.category(char) in _INVISIBLE_CATEGORIES or char in _INVISIBLE_LETTERS
        for char in text
    )


def strip(value):
    """Filter: surrounding spaces are never meant, and text that shows nothing is empty."""
    if not isinstance(value, str):
        return value
    return "" if shows_nothing(value) else value.strip()


class BaseForm(FlaskForm):
    # Where the error summary links for a field without a control of its own (a hidden
    # field filled by a script): field name -> id of the control to go to instead.
    error_targets: dict[str, str] = {}
    # Whether the error summary repeats each choice question before its message: a short
    # "Please choose one." means nothing in a list of several such questions.
    questions_in_summary = False

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            text = field.data if isinstance(field, StringField) else None
            # Bidi controls in text that shows nothing get the field's own "please type".
            quiet = text and shows_nothing(text) and not _raw_controls(text)
            if text and not quiet and has_control_characters(text):
                message = _l("Please remove the invisible control characters.")
                field.errors = [*field.errors, message]
                valid = False
        return valid


@dataclass(frozen=True)
class FieldError:
    """One line of a page's error summary: the message, and the id of the control it links to."""

    target: str
    message: str
    question: str | None = None


def _target(form: BaseForm, field) -> str:
    if field.name in form.error_targets:
        return form.error_targets[field.name]
    if isinstance(field, RadioField):
        return next(iter(field)).id  # the first option, as the summary links to a group
    return field.id


def error_list(form: BaseForm, fields=None) -> list[FieldError]:
    """The form's field errors for the error summary, in the order of the page: `fields`
    when the page shows them in another order than the form defines them."""
    questions = form.questions_in_summary
    return [
        FieldError(
            _target(form, field),
            str(field.errors[0]),
            str(field.label.text) if questions and isinstance(field, RadioField) else None,
        )
        for field in (form if fields is None else fields)
        if field.errors
    ]
