from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from app.forms import LANGUAGE_CHOICES, BaseForm, strip


def _email_field() -> EmailField:
    return EmailField(
        _l("Email"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=254, message=_l("An email address is at most 254 characters.")),
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
            Length(max=60, message=_l("A name is at most 60 characters.")),
        ],
        render_kw={"autocomplete": "given-name"},
    )


class NewPassword:
    """Length limits from the configuration, so they live in one place."""

    def __call__(self, form, field) -> None:
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        maximum = current_app.config["PASSWORD_MAX_LENGTH"]
        if len(field.data or "") < minimum:
            raise ValidationError(
                _l("Please choose a password of at least %(count)d characters.", count=minimum)
            )
        if len(field.data) > maximum:
            raise ValidationError(_l("A password is at most %(count)d characters.", count=maximum))


def _new_password_field(label) -> PasswordField:
    return PasswordField(
        label,
        description=_l("At least 10 characters. A few words you will remember work well."),
        validators=[InputRequired(_l("Please choose a password.")), NewPassword()],
        render_kw={"autocomplete": "new-password"},
    )


def _password_field(label, autocomplete="current-password") -> PasswordField:
    return PasswordField(
        label,
        validators=[
            InputRequired(_l("Please enter your password.")),
            Length(max=256, message=_l("A password is at most 256 characters.")),
        ],
        render_kw={"autocomplete": autocomplete},
    )


class RegisterForm(BaseForm):
    email = _email_field()
    display_name = _display_name_field()
    password = _new_password_field(_l("Password"))
    submit = SubmitField(_l("Create account"))


class LoginForm(BaseForm):
    email = _email_field()
    password = _password_field(_l("Password"))
    submit = SubmitField(_l("Log in"))


class ForgotPasswordForm(BaseForm):
    email = _email_field()
    submit = SubmitField(_l("Send me a link"))


class ResetPasswordForm(BaseForm):
    password = _new_password_field(_l("New password"))
    submit = SubmitField(_l("Save new password"))


class ProfileForm(BaseForm):
    display_name = _display_name_field()
    locale = RadioField(
        _l("Language"),
        choices=LANGUAGE_CHOICES,
        validators=[InputRequired(_l("Please choose a language."))],
    )
    submit = SubmitField(_l("Save"))


class ChangePasswordForm(BaseForm):
    current_password = _password_field(_l("Current password"))
    new_password = _new_password_field(_l("New password"))
    submit = SubmitField(_l("Change password"))


class DeleteAccountForm(BaseForm):
    password = _password_field(_l("Your password"))
    submit = SubmitField(_l("Delete my account"))


class ButtonForm(BaseForm):
    """A form that is only a button: the CSRF token is all it carries."""
