from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired

from app.content.schema import Library
from app.forms import LANGUAGE_CHOICES, BaseForm


def start_form(library: Library, locale: str, **kwargs) -> BaseForm:
    class StartForm(BaseForm):
        language = RadioField(
            _l("Language of the agreement"),
            description=_l("The clauses are shown, signed and printed in this language."),
            choices=LANGUAGE_CHOICES,
            validators=[InputRequired(_l("Please choose a language."))],
        )
        starter = RadioField(
            _l("Start from"),
            choices=[
                *(SelectChoice(starter.id, starter.title(locale)) for starter in library.starters),
                SelectChoice("", _l("An empty agreement")),
            ],
            validate_choice=True,
        )
        submit = SubmitField(_l("Start drafting"))

    return StartForm(**kwargs)


class CustomClauseForm(BaseForm):
    title = StringField(_l("Title"), render_kw={"maxlength": 120})
    body = TextAreaField(_l("What you agree"), render_kw={"rows": 4, "maxlength": 2000})
    submit = SubmitField(_l("Add this clause"))
