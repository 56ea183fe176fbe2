from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SubmitField, TextAreaField
from wtforms.validators import InputRequired, StopValidation, ValidationError

from app.content.schema import Library
from app.forms import BaseForm


def _sent(form, field) -> None:
    """An answer missing from the request is not an empty one, which would delete the saved one."""
    if not field.raw_data:
        raise StopValidation(_l("Your answer did not arrive. Please try again."))


def _note_length(form, field) -> None:
    """Checked with the statements, so a long note is reported in the same answer."""
    limit = current_app.config["ANSWER_MAX_LENGTH"]
    if len(field.data or "") > limit:
        raise ValidationError(_("A note can be at most %(limit)d characters.", limit=limit))


class AnswerForm(BaseForm):
    text = TextAreaField(_l("Your answer"), validators=[_sent], render_kw={"rows": 8})
    save = SubmitField(_l("Save"))
    save_next = SubmitField(_l("Save and go on"))


FREQUENCY_CHOICES = [
    SelectChoice("not-really", _l("Not really")),
    SelectChoice("sometimes", _l("Sometimes")),
    SelectChoice("often", _l("Often")),
]


def pattern_check_form(library: Library, locale: str, **kwargs) -> BaseForm:
    """One question per statement in the content library, plus a private note."""

    class PatternCheckForm(BaseForm):
        questions_in_summary = True
        note = TextAreaField(
            _l("Anything you want to note for yourself"),
            description=_l("Only you can see this."),
            validators=[_note_length],
            render_kw={"rows": 4},
        )
        submit = SubmitField(_l("See what fits"))

    for statement in library.pattern_check.statements:
        setattr(
            PatternCheckForm,
            f"statement_{statement.id}",
            RadioField(
                statement.text(locale),
                choices=FREQUENCY_CHOICES,
                validators=[InputRequired(_l("Please choose one."))],
            ),
        )
    return PatternCheckForm(**kwargs)
