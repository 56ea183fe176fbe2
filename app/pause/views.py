"""The pause on both phones: asking for it, the calm page while it lasts, more time or ready,
and the partner's one word. The rules are app/pause/services.py; these pages only carry them."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.content import library
from app.couple import services as couples
from app.couple.access import couple_or_404, owned_or_404
from app.db import as_utc, utcnow
from app.extensions import db
from app.live import follows, reloads
from app.pause import bp, services
from app.pause.forms import AskForm, SoftStartForm, WordForm
from app.reflection import services as reflections
from app.transaction import transaction


def _terms_or_404(couple):
    terms = services.final_terms(couple, library())
    if terms is None:  # a pause follows a signed agreement: before one, there is none
        abort(404)
    return terms


def _ask_page(couple, form, status=200):
    terms = _terms_or_404(couple)
    return render_template(
        "pause/ask.html",
        form=form,
        terms=terms,
        shortest=int(services.SHORTEST.total_seconds() // 60),
        caution=reflections.wants_caution(current_user, library()),
        partner=couples.partner_of(current_user, couple),
    ), status


@bp.get("/pause/new")
@login_required
def new():
    couple = couple_or_404()
    terms = _terms_or_404(couple)
    if services.open_pause(couple, utcnow()) is not None:
        return redirect(url_for("pause.show"))
    return _ask_page(couple, AskForm(formdata=None, minutes=terms.minutes))


@bp.post("/pause")
@login_required
@transaction
def ask():
    couple = couple_or_404()
    _terms_or_404(couple)
    form = AskForm()  # the home page's one tap sends the agreed length, and no note
    if form.validate():
        try:
            services.ask(
                couple,
                current_user,
                library(),
                minutes=form.minutes.data,
                note=form.note.data,
                now=utcnow(),
            )
        except services.PauseError as error:
            db.session.rollback()
            if error.field not in ("minutes", "note"):
                flash(error.message)
                return redirect(url_for("pause.show"))
            form[error.field].errors = [error.message]
        else:
            return redirect(url_for("pause.show"))
    return _ask_page(couple, form, 400)


@bp.get("/pause")
@login_required
@follows("pause", "signing", "partner")
def show():
    couple = couple_or_404()
    reloads("pause")  # the other phone moved the pause: this page shows the new state
    terms = _terms_or_404(couple)
    pause = services.latest_pause(couple)
    if pause is None:
        return redirect(url_for("pause.new"))
    now = utcnow()
    return _pause_page(couple, terms, pause, now, WordForm(formdata=None))


def _pause_page(couple, terms, pause, now, word_form, status=200):
    mine = pause.asked_by_id == current_user.id
    return render_template(
        "pause/pause.html",
        pause=pause,
        state=services.state_at(pause, now),
        mine=mine,
        partner=couples.partner_of(current_user, couple),
        terms=terms,
        minutes_left=max(0, int((as_utc(pause.back_by) - now).total_seconds() // 60)),
        next_step=services.next_step(pause),
        can_extend=as_utc(pause.back_by) < services.ends_at(pause),
        word_form=word_form,
        word=services.REASSURANCES.get(pause.reassurance) if pause.reassurance else None,
        caution=reflections.wants_caution(current_user, library()),
    ), status


def _change(pause_id: int, change, page: str = "pause.show", done: str | None = None):
    """Make one change to this couple's pause and go back to `page`; a refusal is said once
    there (the pause is over, it is not yours to change), and so is `done`."""
    couple = couple_or_404()
    pause = owned_or_404(services.pause_of(couple, pause_id))
    try:
        change(pause)
    except services.PauseError as error:
        db.session.rollback()
        flash(error.message)
    else:
        if done:
            flash(done)
    return redirect(url_for(page))


@bp.post("/pause/<int:pause_id>/more")
@login_required
@transaction
def more(pause_id: int):
    step = request.form.get("step") or None
    return _change(pause_id, lambda pause: services.extend(pause, current_user, step, now=utcnow()))


@bp.post("/pause/<int:pause_id>/ready")
@login_required
@transaction
def ready(pause_id: int):
    return _change(pause_id, lambda pause: services.ready(pause, current_user, now=utcnow()))


@bp.post("/pause/<int:pause_id>/word")
@login_required
@transaction
def word(pause_id: int):
    couple = couple_or_404()
    pause = owned_or_404(services.pause_of(couple, pause_id))
    form = WordForm()
    if not form.validate():
        return _pause_page(couple, _terms_or_404(couple), pause, utcnow(), form, 400)
    try:
        services.reassure(pause, current_user, form.message.data, now=utcnow())
    except services.PauseError as error:
        db.session.rollback()
        flash(error.message)  # sent already, or the pause is over: the page says how it stands
    else:
        flash(_("Sent. They will see it when they look."))
    return redirect(url_for("pause.show"))


# --- The way back into the talk ----------------------------------------------------------


@bp.get("/pause/talk")
@login_required
@follows("pause", "signing", "partner")
def talk():
    couple = couple_or_404()
    reloads("pause")  # the partner shared their start, or chose who begins
    terms = _terms_or_404(couple)
    pause = services.latest_pause(couple)
    now = utcnow()
    if pause is None or not services.way_back_open(pause, now):
        return redirect(url_for("pause.show"))
    return _talk_page(couple, terms, pause, now)


def _talk_page(couple, terms, pause, now, form=None, status=200):
    """The way back; `form` is a start sent back with what needs changing."""
    own, theirs = services.soft_starts(pause, current_user)
    editing = form is not None or own is None
    if own is not None and own.shared_at is None and request.args.get("change") == "1":
        editing = True  # "Change it": the form again, filled in
    if form is None:
        form = SoftStartForm(formdata=None, obj=own if editing else None)
    rests_until = as_utc(pause.rests_until) if pause.rests_until else None
    return render_template(
        "pause/talk.html",
        pause=pause,
        terms=terms,
        partner=couples.partner_of(current_user, couple),
        own=own,
        own_sentence=services.sentence(own) if own else None,
        theirs=theirs,
        their_sentence=services.sentence(theirs) if theirs else None,
        form=form,
        editing=editing,
        talk=terms.clause(services.TALK_CLAUSE),
        talk_by=services.talk_by(pause, terms),
        rest=terms.clause(services.REST_CLAUSE),
        rest_hours=services.rest_hours(terms),
        rests_until=rests_until if rests_until and rests_until > now else None,
        caution=reflections.wants_caution(current_user, library()),
    ), status


@bp.post("/pause/<int:pause_id>/start")
@login_required
@transaction
def write_start(pause_id: int):
    couple = couple_or_404()
    pause = owned_or_404(services.pause_of(couple, pause_id))
    form = SoftStartForm()
    now = utcnow()
    if form.validate():
        try:
            services.write_start(
                pause,
                current_user,
                {name: form[name].data for name in services.SOFT_START_PARTS},
                language=str(get_locale()),
                now=now,
            )
        except services.SoftStartError as error:
            db.session.rollback()
            for name, message in error.errors.items():
                form[name].errors = [message]
        except services.PauseError as error:
            db.session.rollback()
            flash(error.message)
            return redirect(url_for("pause.talk"))
        else:
            return redirect(url_for("pause.talk", _anchor="your-start"))
    terms = _terms_or_404(couple)
    if not services.way_back_open(pause, now):
        return redirect(url_for("pause.show"))
    return _talk_page(couple, terms, pause, now, form, status=400)


@bp.post("/pause/<int:pause_id>/start/share")
@login_required
@transaction
def share_start(pause_id: int):
    return _change(
        pause_id,
        lambda pause: services.share_start(pause, current_user, now=utcnow()),
        "pause.talk",
        _("Shared. Your partner can read it now."),
    )


@bp.post("/pause/<int:pause_id>/starter")
@login_required
@transaction
def starter(pause_id: int):
    who = request.form.get("who", "")
    return _change(
        pause_id,
        lambda pause: services.choose_starter(pause, current_user, who, now=utcnow()),
        "pause.talk",
    )


@bp.post("/pause/<int:pause_id>/rest")
@login_required
@transaction
def rest(pause_id: int):
    couple = couple_or_404()
    terms = _terms_or_404(couple)
    return _change(
        pause_id,
        lambda pause: services.rest_topic(pause, current_user, terms, now=utcnow()),
        "pause.talk",
    )
