import hmac
from datetime import timedelta

import click
from asn1crypto import pem
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from icalendar import Alarm, Calendar
from icalendar import Event as CalendarEvent

from app import live
from app.content import library
from app.couple import services as couples
from app.couple.access import couple_or_404, current_couple, owned_or_404
from app.db import utcnow
from app.drafting import services as drafting
from app.extensions import db, limiter
from app.filters import date as long_date
from app.live import follows, reloads
from app.navigation import attachment, public_url
from app.rate_limits import password_checks
from app.reflection import services as reflections
from app.signing import bp, pdf, services
from app.signing.forms import SignForm, VerifyForm
from app.transaction import transaction


def _sign_page(couple, draft, form, status=200, agreement_error=None):
    content = library()
    partners = couple.partners
    partner = couples.partner_of(current_user, couple)
    voided = services.voided_signature_of(draft, current_user)
    partner_voided = services.voided_signature_of(draft, partner) if partner else None
    theirs = services.signature_of(draft, partner) if partner else None
    if theirs is not None:
        # Both sign the same review date: the partner's, unless this person chooses another.
        form.review_on.description = _(
            "%(name)s chose %(date)s. If you choose another date, %(name)s signs again with yours.",
            name=partner.display_name,
            date=long_date(theirs.review_on),
        )
    review_on = form.review_on.data or services.default_review_date(draft)
    return (
        live.render(
            "signing/sign.html",
            {"status": "signing/_status.html"},
            form=form,
            agreement_error=agreement_error,
            draft=draft,
            partner=partner,
            ready=services.ready_to_sign(draft, partners),
            mine=services.signature_of(draft, current_user),
            theirs=theirs,
            voided=voided,
            why_voided=services.why_voided(voided, current_user) if voided else None,
            partner_voided=(
                services.why_voided(partner_voided, current_user) if partner_voided else None
            ),
            signatures=services.active_signatures(draft),
            clauses=drafting.active_clauses(draft),
            title=drafting.TITLES[draft.language],
            fingerprint=drafting.agreement_fingerprint(draft, partners, content, review_on),
            title_of=lambda clause: drafting.clause_title(clause, content, draft.language),
            text_of=lambda clause: drafting.clause_text(clause, content, draft.language),
            caution=reflections.wants_caution(current_user, content),
        ),
        status,
    )


@bp.route("/agreement/sign", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGN"], methods=["POST"])
@password_checks
@follows("partner", "agreement", "signing")
@transaction
def sign():
    # What is signed changed, or the agreement became final: the page shows it afresh,
    # unless the person is filling in the form (then it says so and waits).
    reloads("agreement")
    couple = current_couple()
    if couple is None and request.method == "GET":
        # The couple ended (a page reloading itself just then): the signed versions are
        # kept there, with the versions from an earlier link.
        return redirect(url_for("signing.versions"))
    couple = couple or couple_or_404()
    draft = drafting.current_draft(couple)
    if draft is None and request.method == "POST":
        return _versions_page(couple, 409, _("This agreement is already signed by both of you."))
    if draft is None:
        return redirect(url_for("signing.versions"))
    form = SignForm()
    if request.method == "GET":
        try:
            # A signature that can no longer count (a deploy changed a clause's wording)
            # is voided now, with the reason, rather than waited for.
            draft = services.void_outdated(draft, couple.partners, library(), current_user)
        except drafting.AgreementClosed:
            return redirect(url_for("signing.versions"))
        form.review_on.data = services.default_review_date(draft)
        # Typing is the way without JavaScript: sign.js unticks this when it shows the pad.
        form.typed.data = True
        return _sign_page(couple, draft, form)
    # One submit reports every problem: what the form found goes to the service, which adds
    # its own (the password too), rather than stopping at the form's first refusal.
    form.validate()
    try:
        services.sign(
            draft,
            current_user,
            couple.partners,
            password=form.password.data,
            full_name=form.full_name.data,
            drawing=form.signature.data,
            typed=form.typed.data,
            agreed=form.agreed.data,
            review_on=form.review_on.data,
            library=library(),
            refused={field.name: str(field.errors[0]) for field in form if field.errors},
        )
    except services.SigningError as error:
        db.session.rollback()
        draft = drafting.current_draft(couple)
        for name, message in error.errors.items():
            if name in form:
                form[name].errors = [message]
        refused = error.errors.get("agreement")
        if not refused and form.password.data and not form.password.errors:
            # A password is never sent back into the page, so a right one is typed again.
            form.password.description = _(
                "Your password was right. It is not kept on the page, so please type it again."
            )
        return _sign_page(couple, draft, form, 409 if refused else 400, refused)
    except drafting.AgreementClosed:
        db.session.rollback()
        return redirect(url_for("signing.versions"))
    if drafting.current_draft(couple) is None:
        flash(_("You have both signed. Your agreement is final."))
        return redirect(url_for("signing.versions"))
    flash(_("You have signed. Your partner can sign now."))
    return redirect(url_for("signing.sign"))


def _offline_owner() -> str:
    """Whose choice "keep my signed agreements offline" is, as this browser stores it: an
    opaque mark of the person, so another person signing in on the same phone has not
    chosen it for them (static/js/offline.js)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"offline:{current_user.id}".encode(), "sha256").hexdigest()[:20]


def _versions_page(couple, status=200, refused=None):
    """The current couple's signed versions, and every version kept from a couple that ended."""
    return (
        live.render(
            "signing/versions.html",
            {"versions": "signing/_versions.html"},
            versions=services.final_versions(couple) if couple else [],
            draft=drafting.current_draft(couple) if couple else None,
            review=services.review_due(couple) if couple else None,
            kept=services.kept_copies(current_user),
            refused=refused,
            offline_owner=_offline_owner(),
        ),
        status,
    )


@bp.get("/agreements")
@login_required
@follows("agreement", "signing")
def versions():
    return _versions_page(current_couple())


def _final_or_404(agreement_id: int):
    return owned_or_404(services.final_version_of(couple_or_404(), agreement_id))


@bp.get("/agreements/<int:agreement_id>/pdf")
@login_required
def download(agreement_id: int):
    agreement, document = _final_or_404(agreement_id)
    if document.pdf is None:
        # Rendering after the second signature failed or has not finished: do it now.
        try:
            document = services.complete_document(agreement.id, library())
        except Exception:
            current_app.logger.exception("The PDF of agreement %s could not be made.", agreement.id)
            document = None
    if document is None or document.pdf is None:
        return render_template("signing/preparing.html"), 503, {"Retry-After": "30"}
    return attachment(
        document.pdf, "application/pdf", services.file_name(document.finalised_at, agreement.number)
    )


@bp.get("/agreements/kept/<int:copy_id>/pdf")
@login_required
def download_kept(copy_id: int):
    """A signed version kept from a couple that ended: this person's own copy."""
    copy = owned_or_404(services.kept_copy_of(current_user, copy_id))
    if copy.pdf is None:
        try:
            copy = services.complete_kept_copy(copy.id)
        except Exception:
            current_app.logger.exception("The PDF of kept copy %s could not be made.", copy.id)
            return render_template("signing/preparing.html"), 503, {"Retry-After": "30"}
    return attachment(
        copy.pdf, "application/pdf", services.file_name(copy.finalised_at, copy.number)
    )


REVIEW_REMINDER_BEFORE = -timedelta(hours=5)  # from the review day's midnight: 19:00 the day before


@bp.get("/agreements/<int:agreement_id>/review.ics")
@login_required
def review_calendar(agreement_id: int):
    agreement, document = _final_or_404(agreement_id)
    calendar = Calendar()
    calendar.add("prodid", "-//Duet//Agreement review//EN")
    calendar.add("version", "2.0")
    event = CalendarEvent()
    event.add("uid", f"duet-review-{agreement.id}-{document.fingerprint[:16]}@duet")
    event.add("dtstamp", utcnow())
    event.add("dtstart", document.review_on)
    event.add("summary", _("Talk about how our agreement is going"))
    event.add("description", public_url("review.show"))
    # The evening before: an all-day event starts at midnight where the phone is, so five
    # hours earlier is 19:00 the day before, wherever that is. Both partners get the same.
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", _("Tomorrow: talk about how our agreement is going"))
    alarm.add("trigger", REVIEW_REMINDER_BEFORE)
    event.add_component(alarm)
    calendar.add_component(event)
    return attachment(calendar.to_ical(), "text/calendar", "duet-review.ics")


@bp.post("/agreements/<int:agreement_id>/revise")
@login_required
@transaction
def revise(agreement_id: int):
    agreement, _document = _final_or_404(agreement_id)
    try:
        services.revise(couple_or_404(), agreement, current_user, library())
    except services.SigningError as error:
        flash(next(iter(error.errors.values())))
        return redirect(url_for("drafting.agreement"))
    flash(
        _(
            "Version %(number)d is open for drafting. Every clause needs both yeses again.",
            number=agreement.number + 1,
        )
    )
    return redirect(url_for("drafting.agreement"))


# A file built to be expensive is refused; without a seal to check against, nothing is.
VERIFY_STATUS = {"uncheckable": 422, "unavailable": 503}


def _verify_upload(data: bytes) -> pdf.Verification:
    try:
        sealer = services.sealer()
    except Exception:
        current_app.logger.exception("The seal could not be loaded to check an upload")
        return pdf.Verification("unavailable")
    return pdf.verify_pdf(
        data,
        sealer,
        pdf.VerifyBudget.from_config(current_app.config),
        services.timestamp_trust(),
    )


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_VERIFY"], methods=["POST"])
def verify():
    form = VerifyForm()
    result = None
    if form.validate_on_submit():
        data = form.document.data.read(current_app.config["VERIFY_MAX_BYTES"] + 1)
        if len(data) > current_app.config["VERIFY_MAX_BYTES"]:
            form.document.errors = [_("This file is too large to be a Duet agreement.")]
        else:
            # Read in memory, never stored.
            result = _verify_upload(data)
    if form.errors or (form.is_submitted() and result is None):
        status = 400
    else:
        status = VERIFY_STATUS.get(result.status, 200) if result else 200
    return (
        render_template(
            "signing/verify.html", form=form, result=result, seal_certificate=_our_fingerprint()
        ),
        status,
    )


def _our_fingerprint() -> str | None:
    """This installation's seal certificate (SHA-256 of its DER), for "check it yourself"."""
    try:
        return services.sealer().certificate_fingerprint
    except pdf.SealUnavailable:
        return None  # logged at start-up (report_seal); the page then shows no link


SEAL_CERTIFICATE_MAX_AGE = 300  # seconds: a replaced seal shows within minutes


@bp.get("/verify/seal-certificate.pem")
def seal_certificate():
    """This installation's seal certificate, for checking a PDF with other tools."""
    return _seal_certificate("pem")


@bp.get("/verify/seal-certificate.cer")
def seal_certificate_der():
    """The same certificate as DER, which a double click opens in most systems' viewers."""
    return _seal_certificate("cer")


def _seal_certificate(extension: str):
    try:
        der = services.sealer().certificate.dump()
    except pdf.SealUnavailable:
        response = current_app.response_class(
            _("The seal certificate is not available right now. Please try again later."),
            status=503,
            mimetype="text/plain",
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    if extension == "pem":
        data, mimetype = pem.armor("CERTIFICATE", der), "application/x-pem-file"
    else:
        data, mimetype = der, "application/pkix-cert"
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="duet-seal.{extension}"'
    # Public and the same for everyone: no cookie, nothing about the reader.
    response.headers["Cache-Control"] = f"public, max-age={SEAL_CERTIFICATE_MAX_AGE}"
    return response


@bp.cli.command("finish")
def finish_command():
    """Render and seal every final agreement whose PDF is still missing."""
    pending = services.unfinished_documents()
    for agreement_id in pending:
        document = services.complete_document(agreement_id, library())
        state = "sealed" if document is not None and document.pdf else "still missing"
        click.echo(f"Agreement {agreement_id}: PDF {state}.")
    click.echo(f"{len(pending)} agreement(s) needed their PDF.")


@bp.cli.command("render")
@click.argument("agreement_id", type=int)
@click.argument("output", type=click.Path(dir_okay=False, writable=True))
def render_command(agreement_id: int, output: str):
    """Render and seal final agreement AGREEMENT_ID again, into the file OUTPUT."""
    try:
        data = services.render_again(agreement_id, library())
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    with open(output, "wb") as handle:
        handle.write(data)
    click.echo(f"Wrote {len(data)} bytes to {output}.")
