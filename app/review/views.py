"""The review on both phones: each partner's private answers, the wait for the other, both
side by side, and revising from it. The rules are app/review/services.py."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import format_timedelta, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.content import library
from app.couple import services as couples
from app.couple.access import couple_or_404, owned_or_404
from app.db import utcnow
from app.drafting import services as drafting
from app.extensions import db
from app.live import follows, reloads
from app.reflection import services as reflections
from app.review import bp, services
from app.review.forms import MARK_LABELS, mark_fields, review_form
from app.signing import services as signing
from app.transaction import transaction


def _form_for(review, **kwargs):
    return review_form([clause.title for clause in review.clauses], **kwargs)


def _filled(review, form):
    """The form with the person's saved answers, to change them."""
    mine = review.answer_of(current_user)
    if mine is not None:
        for field, mark in zip(mark_fields(form, len(review.clauses)), mine.marks, strict=True):
            field.data = mark
        form.helped.data, form.hard.data = mine.helped, mine.hard
    return form


def _review_page(couple, review, form=None, status=200):
    now = utcnow()
    if form is None and review.is_open and not review.both_answered:
        form = _filled(review, _form_for(review, formdata=None))
    mine = review.answer_of(current_user)
    return render_template(
        "review/review.html",
        review=review,
        form=form,
        marks=mark_fields(form, len(review.clauses)) if form else [],
        mine=mine,
        theirs=review.partners_answer_for(current_user),
        partner_answered=review.partner_answered(current_user),
        partner=couples.partner_of(current_user, couple),
        mark_labels=MARK_LABELS,
        pauses=[
            (line, _length(line.minutes)) for line in services.pauses_since_signing(review, now)
        ]
        if review.is_open
        else [],
        to_change=set(services.to_change(review)) if review.both_answered else set(),
        draft=drafting.current_draft(couple),
        caution=reflections.wants_caution(current_user, library()),
    ), status


def _length(minutes: int) -> str:
    """How long a pause lasted, as people say it: 45 minutes, 80 minutes, 3 hours."""
    if minutes < 1:
        return _("Less than a minute")
    return format_timedelta(timedelta(minutes=minutes), threshold=2, granularity="minute")


def _review_or_404(couple):
    review = services.current_review(couple, library(), utcnow())
    if review is None:  # a review follows a signed agreement: before one, there is none
        abort(404)
    return review


@bp.get("/review")
@login_required
@follows("review", "signing", "agreement", "partner")
def show():
    couple = couple_or_404()
    review = _review_or_404(couple)
    if review.is_open and not review.both_answered:
        # Waiting for the partner, or they answered first: the page moves on when they do
        # (unless this person is choosing their own marks: then it says so, live.js).
        reloads("review", "signing")
    return _review_page(couple, review)


def _this_review(couple, agreement_id: int):
    agreement, document = owned_or_404(signing.final_version_of(couple, agreement_id))
    return services.review_of(couple, agreement, document, library(), utcnow())


@bp.post("/review/<int:agreement_id>")
@login_required
@transaction
def answer(agreement_id: int):
    couple = couple_or_404()
    review = _this_review(couple, agreement_id)
    form = _form_for(review)
    try:
        services.may_answer(review, utcnow())
        if form.validate():
            services.answer(
                couple,
                review.agreement,
                current_user,
                library(),
                marks=[field.data for field in mark_fields(form, len(review.clauses))],
                helped=form.helped.data,
                hard=form.hard.data,
                now=utcnow(),
            )
            return redirect(url_for("review.show"))
    except services.ReviewError as error:
        db.session.rollback()
        if "review" in error.errors:  # the review as a whole: said once, on its page
            flash(error.errors["review"])
            return redirect(url_for("review.show"))
        for field, message in error.errors.items():
            form[field].errors = [*form[field].errors, message]
    return _review_page(couple, review, form, 400)


@bp.post("/review/<int:agreement_id>/revise")
@login_required
@transaction
def revise(agreement_id: int):
    couple = couple_or_404()
    review = _this_review(couple, agreement_id)
    try:
        draft, first = services.revise_from_review(
            couple, review, current_user, library(), now=utcnow()
        )
    except services.ReviewError as error:
        db.session.rollback()
        flash(next(iter(error.errors.values())))
        return redirect(url_for("review.show"))
    if first:
        flash(
            ngettext(
                "Version %(number)d is open for drafting, with the clause one of you wanted to"
                " change first. Every clause needs both yeses again.",
                "Version %(number)d is open for drafting, with the %(num)d clauses one of you"
                " wanted to change first. Every clause needs both yeses again.",
                first,
                number=draft.number,
            )
        )
    else:
        flash(
            _(
                "Version %(number)d is open for drafting. Every clause needs both yeses again.",
                number=draft.number,
            )
        )
    return redirect(url_for("drafting.agreement"))
