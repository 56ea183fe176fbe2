from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app import live
from app.accounts import bp, services
from app.accounts.forms import (
    ButtonForm,
    ChangePasswordForm,
    DeleteAccountForm,
    ForgotPasswordForm,
    LoginForm,
    NotificationsForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from app.couple import services as couples
from app.extensions import limiter
from app.mailing import after_response, send_mail
from app.navigation import attachment, form_status, next_after_login, public_url
from app.outbox import push
from app.outbox import services as outbox
from app.rate_limits import password_checks, per_email
from app.transaction import transaction, unit_of_work


def _sign_in(user) -> None:
    # A fresh session on every login: nothing from before survives, and the token is new.
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    services.start_session(user, request.user_agent.string)
    login_user(user)
    # Which device this is, for the download fast path (app/live.py): its token's digest,
    # signed with the session (an id could be reused by SQLite after a sign-out).
    session[live.DEVICE] = user.current_device.token_hash
    session.permanent = True


def _limit(name: str):
    return limiter.limit(lambda: current_app.config[name], methods=["POST"])


@bp.route("/register", methods=["GET", "POST"])
@_limit("RATELIMIT_REGISTER")
@transaction
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_user(
                form.email.data, form.display_name.data, form.password.data, str(get_locale())
            )
        except services.AccountError as error:
            form[error.field].errors.append(error.message)
        else:
            target = next_after_login(url_for("main.index"))
            _sign_in(user)  # first: it starts a fresh session, which would drop the flash
            if form.invite.data:
                target = _join_invitation(user, form.invite.data)
            return redirect(target)
    elif form.is_submitted() and not form.email.errors:
        # One answer names every problem: a taken address too, while others are fixed.
        _check(form, services.check_email_free, form.email.data)
    return render_template(
        "accounts/register.html", form=form, inviter=_inviter(form.invite.data)
    ), form_status(form)


def _inviter(token: str | None):
    """Who invited the person filling in the form on their invitation, while it is open."""
    try:
        return couples.couple_for_token(token).partners[0] if token else None
    except couples.CoupleError:
        return None


def _join_invitation(user, token: str) -> str:
    """Where a new account made on an invitation goes: home as a couple, in the same
    transaction; or, if the invite closed meanwhile, the invitation, which says why."""
    try:
        couples.join_couple(user, couples.couple_for_token(token))
    except couples.CoupleError:
        return url_for("couple.invitation", token=token)
    flash(_("You are now a couple in Duet."))
    return url_for("main.index")


def _check(form, rule, *args) -> None:
    """Run one rule of a service on a form sent back anyway, its refusal beside its field."""
    try:
        rule(*args)
    except services.AccountError as error:
        form[error.field].errors.append(error.message)


@bp.route("/login", methods=["GET", "POST"])
@_limit("RATELIMIT_LOGIN")
@per_email("RATELIMIT_LOGIN_ACCOUNT")
@transaction
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            target = next_after_login(url_for("main.index"))
            _sign_in(user)
            return redirect(target)
        form.password.errors.append(
            _("That email and password do not match an account. Please try again.")
        )
    return render_template("accounts/login.html", form=form), form_status(form)


@bp.post("/logout")
@login_required
@transaction
def logout():
    services.end_session(current_user)
    logout_user()
    session.clear()
    flash(_("You are logged out. Take care."))
    return redirect(url_for("accounts.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@_limit("RATELIMIT_RESET")
@per_email("RATELIMIT_RESET_ACCOUNT")
@transaction
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = form.email.data
        # The same answer, as fast, either way: the account is looked up after the response.
        after_response(lambda: _mail_reset_link(email))
        return render_template("accounts/forgot_sent.html")
    return render_template("accounts/forgot.html", form=form), form_status(form)


def _mail_reset_link(email: str) -> None:
    """After the response: make a reset link for the account, if there is one, and mail it."""
    with unit_of_work():
        found = services.request_password_reset(email)
    if found is None:
        return
    user, token = found
    link = public_url("accounts.reset_password", token=token)
    with force_locale(user.locale or str(get_locale())):
        send_mail(
            user.email,
            _("Set a new Duet password"),
            render_template("accounts/reset_email.txt", user=user, link=link),
        )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@_limit("RATELIMIT_RESET")
@transaction
def reset_password(token: str):
    reset = services.valid_reset(token)
    if reset is None:
        return render_template("accounts/reset_invalid.html"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.reset_password(reset, form.password.data)
        logout_user()
        session.clear()
        flash(_("Your password is changed. Please log in with the new one."))
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form), form_status(form)


def _settings_page(status: int = 200, **forms):
    forms.setdefault(
        "profile_form",
        ProfileForm(
            formdata=None,
            display_name=current_user.display_name,
            locale=current_user.locale or str(get_locale()),
        ),
    )
    forms.setdefault("password_form", ChangePasswordForm(formdata=None))
    chosen = outbox.choices_of(current_user)
    forms.setdefault(
        "notifications_form",
        NotificationsForm(
            formdata=None,
            mail=[kind for kind, channel in chosen if channel == "mail"],
            push=[kind for kind, channel in chosen if channel == "push"],
        ),
    )
    return (
        render_template(
            "accounts/settings.html",
            devices=services.devices_of(current_user),
            current_device=current_user.current_device,
            push_key=push.keys().public,
            push_subscribed=push.subscribed(current_user.current_device),
            button_form=ButtonForm(),
            **forms,
        ),
        status,
    )


@bp.get("/settings")
@login_required
def settings():
    return _settings_page()


@bp.post("/settings/profile")
@login_required
@transaction
def update_profile():
    form = ProfileForm()
    if not form.validate():
        return _settings_page(400, profile_form=form)
    services.update_profile(current_user, form.display_name.data, form.locale.data)
    flash(_("Saved."))
    return redirect(url_for("accounts.settings"))


@bp.post("/settings/notifications")
@login_required
@transaction
def update_notifications():
    form = NotificationsForm()
    if not form.validate():
        return _settings_page(400, notifications_form=form)
    outbox.set_choices(
        current_user,
        {(kind, "mail") for kind in form.mail.data or ()}
        | {(kind, "push") for kind in form.push.data or ()},
    )
    flash(_("Saved."))
    return redirect(url_for("accounts.settings", _anchor="notifications-heading"))


@bp.post("/settings/push")
@login_required
@transaction
def subscribe_push():
    """This device's push subscription, sent by static/js/push.js after the person tapped
    "Notify me on this phone" and allowed notifications (JSON: `PushSubscription.toJSON()`)."""
    device = current_user.current_device
    if device is None:
        abort(400)
    try:
        endpoint, p256dh, auth = push.read_subscription(request.get_json(silent=True))
    except push.NotASubscription:
        return {"error": _("This browser's notifications cannot be used by Duet.")}, 400
    push.subscribe(current_user, device, endpoint, p256dh, auth)
    flash(_("This phone will show a notification for what you choose below."))
    return {"ok": True}


@bp.post("/settings/push/stop")
@login_required
@transaction
def unsubscribe_push():
    if current_user.current_device is not None:
        push.forget_device(current_user.current_device.id)
    flash(_("This phone will not be notified any more."))
    return redirect(url_for("accounts.settings", _anchor="notifications-heading"))


@bp.post("/settings/password")
@login_required
@password_checks
@transaction
def change_password():
    form = ChangePasswordForm()
    if form.validate():
        try:
            services.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except services.AccountError as error:
            form[error.field].errors.append(error.message)
        else:
            flash(_("Your password is changed. Every other device is signed out."))
            return redirect(url_for("accounts.settings"))
    elif not form.current_password.errors:
        # One answer names every problem: the current password is checked (and counted
        # against the password limit) even when the new one is refused.
        _check(form, services.check_current_password, current_user, form.current_password.data)
    if not form.current_password.errors:
        # A password is never sent back into the page, so a right one is typed again.
        form.current_password.description = _(
            "Your password was right. It is not kept on the page, so please type it again."
        )
    return _settings_page(400, password_form=form)


@bp.post("/settings/devices/<int:device_id>/sign-out")
@login_required
@transaction
def sign_out_device(device_id: int):
    signing_out_self = (
        current_user.current_device is not None and current_user.current_device.id == device_id
    )
    if services.sign_out_device(current_user, device_id) is None:
        abort(404)
    if signing_out_self:
        logout_user()
        session.clear()
        return redirect(url_for("accounts.login"))
    flash(_("That device is signed out."))
    return redirect(url_for("accounts.settings"))


@bp.post("/settings/devices/sign-out-others")
@login_required
@transaction
def sign_out_other_devices():
    services.sign_out_other_devices(current_user)
    flash(_("Every other device is signed out."))
    return redirect(url_for("accounts.settings"))


@bp.get("/settings/export")
@login_required
def export():
    return attachment(services.export_archive(current_user), "application/zip", "duet-my-data.zip")


@bp.route("/settings/delete", methods=["GET", "POST"])
@login_required
@password_checks
@transaction
def delete_account():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            services.delete_account(current_user, form.password.data)
        except services.AccountError as error:
            form[error.field].errors.append(error.message)
        else:
            logout_user()
            session.clear()
            flash(_("Your account is deleted. Take good care of yourself."))
            return redirect(url_for("main.index"))
    return render_template("accounts/delete.html", form=form), form_status(form)
