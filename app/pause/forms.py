from flask_babel import lazy_gettext as _l
from wtforms import (
    IntegerField,
    RadioField,
    SelectChoice,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from app.forms import BaseForm, strip
from app.pause.models import NOTE_MAX_LENGTH, PART_MAX_LENGTH
from app.pause.services import REASSURANCES


class AskForm(BaseForm):
    """How long, and a short note: the rules (app/pause/services.py) check the limits."""

    minutes = IntegerField(
        _l("Back in how many minutes?"),
        validators=[InputRequired(_l("Please give the length in whole minutes."))],
    )
    note = TextAreaField(
        _l("A short note for your partner (if you want)"),
        filters=[strip],
        validators=[Optional(), Length(max=NOTE_MAX_LENGTH)],
        description=_l("Plain words, no more than a line. The talk itself comes later."),
    )
    submit = SubmitField(_l("Ask for the pause"))


class WordForm(BaseForm):
    """The partner's one pre-written word during a pause."""

    message = RadioField(
        _l("Send one short word"),
        choices=[SelectChoice(key, label) for key, label in REASSURANCES.items()],
        validators=[InputRequired(_l("Please choose one of the messages offered."))],
    )
    submit = SubmitField(_l("Send"))


def _part(label, hint=None):
    return StringField(
        label,
        filters=[strip],
        validators=[
            InputRequired(_l("Please write a few words here.")),
            Length(
                max=PART_MAX_LENGTH,
                message=_l("Please keep this to at most %(max)d characters."),
            ),
        ],
        description=hint,
    )


class SoftStartForm(BaseForm):
    """A softened start in three parts: "I feel … about … and I need …"."""

    feel = _part(_l("I feel …"), _l("One or two words: hurt, lonely, worried."))
    about = _part(_l("about …"), _l("One situation, not what the other is like."))
    need = _part(_l("and I need …"), _l("Something they can do, said kindly."))
    submit = SubmitField(_l("Read it through"))
