import contextlib

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import qr
from app.accounts.forms import ButtonForm, RegisterForm
from app.couple import bp, services
from app.couple.access import couple_or_404, owned_or_404
from app.couple.forms import JoinForm, LeaveForm
from app.extensions import limiter
from app.live import follows
from app.navigation import form_status, public_url
from app.rate_limits import failed_joins, password_checks
from app.transaction import transaction


def _join_limit():
    return limiter.limit(lambda: current_app.config["RATELIMIT_JOIN"], methods=["POST"])


@bp.post("/couple/new")
@login_required
@transaction
def create():
    # In a couple already (the same button pressed twice): its invite is the answer.
    with contextlib.suppress(services.CoupleError):
        services.create_couple(current_user)
    return redirect(url_for("couple.invite"))


@bp.get("/couple/invite")
@login_required
@follows("partner", reload=("partner",))
def invite():
    couple = services.couple_of(current_user)
    if couple is None or services.is_complete(couple):
        return redirect(url_for("main.index"))
    link = None
    if couple.invite_token:
        link = public_url("couple.invitation", token=couple.invite_token)
    return render_template(
        "couple/invite.html",
        couple=couple,
        live=services.invite_is_live(couple),
        link=link,
        qr=invite_qr(link) if link else None,
        form=ButtonForm(),
    )


def invite_qr(link: str) -> str:
    """The invite link as a QR code to scan in the same room: on white, so any camera reads it."""
    return qr.svg_data_uri(link, light="#fff")


@bp.post("/couple/invite/renew")
@login_required
@transaction
def renew_invite():
    couple = services.couple_of(current_user)
    if couple is None or services.is_complete(couple):
        return redirect(url_for("main.index"))
    services.renew_invite(couple)
    flash(_("Here is a new link and code. The old ones no longer work."))
    return redirect(url_for("couple.invite"))


@bp.route("/couple/join", methods=["GET", "POST"])
@login_required
@_join_limit()
@failed_joins
@transaction
def join():
    form = JoinForm()
    if form.validate_on_submit():
        try:
            couple = services.couple_for_code(form.code.data)
            services.join_couple(current_user, couple)
        except services.CoupleError as error:
            form.code.errors.append(error.message)
        else:
            flash(_("You are now a couple in Duet."))
            return redirect(url_for("main.index"))
    return render_template("couple/join.html", form=form), form_status(form)


@bp.get("/join/<token>")
def invitation(token: str):
    try:
        couple = services.couple_for_token(token)
    except services.CoupleError as error:
        return render_template("couple/invitation_invalid.html", reason=error.message), 404
    inviter = couple.partners[0]
    own = services.couple_of(current_user) if current_user.is_authenticated else None
    return render_template(
        "couple/invitation.html",
        token=token,
        inviter=inviter,
        own_couple=own,
        is_own=own is not None and own.id == couple.id,
        form=RegisterForm(formdata=None, invite=token),
    )


@bp.post("/join/<token>")
@login_required
@_join_limit()
@transaction
def accept(token: str):
    try:
        couple = services.couple_for_token(token)
        services.join_couple(current_user, couple)
    except services.CoupleError as error:
        return render_template("couple/invitation_invalid.html", reason=error.message), 409
    flash(_("You are now a couple in Duet."))
    return redirect(url_for("main.index"))


@bp.route("/couple/leave", methods=["GET", "POST"])
@login_required
@password_checks
@transaction
def leave():
    couple = couple_or_404(complete=False)
    form = LeaveForm()
    if form.validate_on_submit():
        try:
            services.leave_couple(current_user, form.password.data)
        except services.CoupleError as error:
            form[error.field].errors.append(error.message)
        else:
            flash(_("You have left the couple."))
            return redirect(url_for("main.index"))
    partner = services.partner_of(current_user, couple)
    return render_template("couple/leave.html", form=form, partner=partner), form_status(form)


@bp.post("/couple/ended/<int:notice_id>/dismiss")
@login_required
@transaction
def dismiss_notice(notice_id: int):
    services.dismiss_notice(owned_or_404(services.notice_of(current_user, notice_id)))
    return redirect(url_for("main.index"))
