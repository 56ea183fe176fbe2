from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from app.forms import BaseForm, strip
from app.review.models import TEXT_MAX_LENGTH

MARK_CHOICES = [
    SelectChoice("kept", _l("Kept")),
    SelectChoice("hard", _l("Hard")),
    SelectChoice("change", _l("Change it")),
]
TOO_LONG = _l("Please keep this to at most %(count)d ordinary characters.", count=TEXT_MAX_LENGTH)
MARK_LABELS = {choice.value: choice.label for choice in MARK_CHOICES}


def mark_field(index: int) -> str:
    """The form field of the clause at `index` (from 1) in the signed order."""
    return f"mark_{index}"


def _short_text(label, description) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[strip],
        validators=[Length(max=TEXT_MAX_LENGTH, message=TOO_LONG)],
        description=description,
        render_kw={"rows": 3},
    )


def review_form(titles: list[str], **kwargs) -> BaseForm:
    """One kept / hard / change it question per clause, titled as signed, and two short texts.
    The rules (app/review/services.py) check them again."""

    class ReviewForm(BaseForm):
        questions_in_summary = True
        helped = _short_text(
            _l("What helped"), _l("What made it easier, for you or for both of you.")
        )
        hard = _short_text(
            _l("What was hard"),
            _l("What got in the way. Describe the moment rather than your partner."),
        )
        submit = SubmitField(_l("Save my answers"))

    for index, title in enumerate(titles, start=1):
        setattr(
            ReviewForm,
            mark_field(index),
            RadioField(
                title,
                choices=MARK_CHOICES,
                validators=[InputRequired(_l("Please choose kept, hard or change it."))],
            ),
        )
    return ReviewForm(**kwargs)


def mark_fields(form: BaseForm, count: int) -> list:
    return [form[mark_field(index)] for index in range(1, count + 1)]
