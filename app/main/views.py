from datetime import timedelta

from flask import current_app, redirect, render_template, session, url_for
from flask_babel import refresh
from flask_login import current_user, logout_user

from app import live
from app.accounts import services as accounts
from app.accounts.forms import ButtonForm, RegisterForm
from app.content import library
from app.couple import services as couples
from app.db import as_utc, utcnow
from app.extensions import limiter
from app.live import follows, reloads
from app.main import bp, services
from app.main.forms import LanguageForm
from app.navigation import safe_next
from app.pause import services as pauses
from app.reflection import services as reflections
from app.signing import services as signing
from app.transaction import transaction


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("main/welcome.html", form=RegisterForm(formdata=None))
    return _home()


@follows("partner", "reflection", "agreement", "signing", "pause")
def _home():
    couple = couples.couple_of(current_user)
    partner = couples.partner_of(current_user, couple) if couple else None
    if partner is None:
        reloads("partner")  # waiting for the partner to join, or no couple: the page moves on
    progress = reflections.progress(current_user, library())
    now = utcnow()
    terms = pauses.final_terms(couple, library()) if partner else None
    pause = pauses.latest_pause(couple) if terms else None
    return live.render(
        "main/dashboard.html",
        {
            "together": "main/_together.html",
            "steps": "main/_steps.html",
            "pause": "main/_pause.html",
        },
        pause_terms=terms,
        pause=pause,
        pause_state=pauses.state_at(pause, now) if pause else None,
        # "ready to talk" is news for half a day, then the card offers a pause again
        recent_pause=pause is not None and now - as_utc(pause.started_at) < timedelta(hours=12),
        couple=couple,
        partner=partner,
        together=services.together(current_user, couple, partner) if partner else None,
        review=signing.review_due(couple) if couple else None,
        ended=couples.link_ended_notices(current_user),
        kept=bool(signing.kept_copies(current_user)),
        answered=sum(item.answered for item in progress),
        prompts=sum(len(item.prompts) for item in progress),
        form=ButtonForm(),
    )


@bp.post("/language")
@transaction
def language():
    form = LanguageForm()
    if form.validate():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            current_user.locale = form.locale.data
        refresh()
    return redirect(safe_next(url_for("main.index")))


# What the browser is told to drop on quick exit: its cache (with any back-button copies),
# cookies, and local and session storage, which includes service workers.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'


@bp.get("/exit")
@limiter.exempt
@transaction
def quick_exit():
    """Quick exit (docs/safety.md): end this device's session on the server, tell the browser
    to drop what Duet stored, and leave for a neutral page.

    A GET, so that it works as a plain link without JavaScript; the script in
    static/js/quick-exit.js opens it in place of the current page, so Back does not return.
    """
    if current_user.is_authenticated:
        accounts.end_session(current_user)
        logout_user()
    session.clear()
    response = redirect(current_app.config["QUICK_EXIT_URL"], 303)
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """For a load balancer or monitor: no login, no cookie, no language, never cached."""
    up = services.database_answers()
    response = current_app.response_class(
        "ok\n" if up else "database unavailable\n", 200 if up else 503, mimetype="text/plain"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
