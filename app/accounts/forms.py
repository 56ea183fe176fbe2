from flask import current_app
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts.models import DISPLAY_NAME_MAX_LENGTH, EMAIL_MAX_LENGTH
from app.forms import LANGUAGE_CHOICES, BaseForm, strip
from app.outbox.kinds import LABELS


def _email_field() -> EmailField:
    return EmailField(
        _l("Email"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(
                max=EMAIL_MAX_LENGTH,
                message=_l(
                    "An email address is at most %(count)d characters.", count=EMAIL_MAX_LENGTH
                ),
            ),
            Email(_l("Please enter an email address like name@example.com.")),
        ],
        render_kw={"autocomplete": "email"},
    )


def _display_name_field() -> StringField:
    return StringField(
        _l("Your name"),
        description=_l("How your partner will see you. A first name is enough."),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter a name.")),
            Length(
                max=DISPLAY_NAME_MAX_LENGTH,
                message=_l(
                    "A name is at most %(count)d characters.", count=DISPLAY_NAME_MAX_LENGTH
                ),
            ),
        ],
        render_kw={"autocomplete": "given-name"},
    )


class PasswordLength:
    """Password limits from the configuration, so they live in one place."""

    def __init__(self, new: bool):
        self.new = new

    def __call__(self, form, field) -> None:
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        maximum = current_app.config["PASSWORD_MAX_LENGTH"]
        if self.new and len(field.data or "") < minimum:
            raise ValidationError(
                _("Please choose a password of at least %(count)d characters.", count=minimum)
            )
        if len(field.data or "") > maximum:
            raise ValidationError(_("A password is at most %(count)d characters.", count=maximum))


def _new_password_hint() -> str:
    return _(
        "At least %(count)d characters. A few words you will remember work well.",
        count=current_app.config["PASSWORD_MIN_LENGTH"],
    )


def new_password_field(label) -> PasswordField:
    return PasswordField(
        label,
        description=LazyString(_new_password_hint),
        validators=[InputRequired(_l("Please choose a password.")), PasswordLength(new=True)],
        render_kw={"autocomplete": "new-password"},
    )


def password_field(label) -> PasswordField:
    return PasswordField(
        label,
        validators=[InputRequired(_l("Please enter your password.")), PasswordLength(new=False)],
        render_kw={"autocomplete": "current-password"},
    )


class RegisterForm(BaseForm):
    email = _email_field()
    display_name = _display_name_field()
    password = new_password_field(_l("Password"))
    # An invitation's token, when the form sits on the invitation: the new account joins it.
    invite = HiddenField()
    submit = SubmitField(_l("Create account"))


class LoginForm(BaseForm):
    email = _email_field()
    password = password_field(_l("Password"))
    submit = SubmitField(_l("Log in"))


class ForgotPasswordForm(BaseForm):
    email = _email_field()
    submit = SubmitField(_l("Send me a link"))


class ResetPasswordForm(BaseForm):
    password = new_password_field(_l("New password"))
    submit = SubmitField(_l("Save new password"))


class ProfileForm(BaseForm):
    display_name = _display_name_field()
    locale = RadioField(
        _l("Language"),
        choices=LANGUAGE_CHOICES,
        validators=[InputRequired(_l("Please choose a language."))],
    )
    submit = SubmitField(_l("Save"))


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# One box per kind of notification, in the order Settings lists them (app/outbox/kinds.py).
KIND_CHOICES = [SelectChoice(kind.value, label) for kind, label in LABELS.items()]


class NotificationsForm(BaseForm):
    """One set of checkboxes per channel, one box per kind (app/outbox/kinds.py)."""

    mail = CheckboxesField(
        _l("Send me a mail when"),
        choices=KIND_CHOICES,
        description=_l(
            "Every mail says only that there is something new in Duet, with a link: no "
            "names, nothing you or your partner wrote. Anyone who reads your mail can still "
            "see that it came from Duet."
        ),
    )
    push = CheckboxesField(
        _l("Notify my phone when"),
        choices=KIND_CHOICES,
        description=_l(
            "Sent to each phone where you tapped “Notify me on this phone”. It shows only "
            "“Duet: Something new in Duet”, also on a locked screen."
        ),
    )
    submit = SubmitField(_l("Save my choices"))


class ChangePasswordForm(BaseForm):
    current_password = password_field(_l("Current password"))
    new_password = new_password_field(_l("New password"))
    submit = SubmitField(_l("Change password"))


class DeleteAccountForm(BaseForm):
    password = password_field(_l("Your password"))
    submit = SubmitField(_l("Delete my account"))


class ButtonForm(BaseForm):
    """A form that is only a button: the CSRF token is all it carries."""
