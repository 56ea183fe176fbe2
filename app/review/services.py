"""The review rules: when it opens, who may answer and until when, what each partner sees,
and revising from it. No request, and no clock of their own: `now` is passed in.

A review belongs to the couple's latest final version. It opens a week before the review
date the partners chose when they signed, and stays open until a newer version is final.
Each partner answers privately; once both have, the answers are fixed and both see both.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app import live
from app.accounts.models import User
from app.accounts.services import exporting
from app.content.schema import Library
from app.couple.models import Couple
from app.db import as_utc
from app.drafting import services as drafting
from app.drafting.models import Agreement
from app.extensions import db
from app.forms import is_ordinary, strip
from app.outbox import services as outbox
from app.pause import services as pauses
from app.review.models import MARKS, TEXT_MAX_LENGTH, ReviewAnswer
from app.signing import pdf
from app.signing import services as signing
from app.signing.models import FinalDocument
from app.transaction import locked

OPENS_BEFORE = timedelta(days=7)  # as the reminder "a week away" (signing.review_due)


class ReviewError(Exception):
    """A refused answer: `errors` maps a field ("mark_3", "helped", "hard", or "review" for
    the review as a whole) to a message for the person."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Review:
    """The review of one final version, as the rules see it at one moment."""

    agreement: Agreement
    document: FinalDocument
    clauses: tuple[pdf.PdfClause, ...]  # as signed, in the order the marks follow
    language: str  # the agreement's, which its clause titles are written in
    opens_on: date
    is_open: bool
    answers: dict[int, ReviewAnswer]  # by user id

    @property
    def both_answered(self) -> bool:
        return len(self.answers) == 2

    def answer_of(self, user: User) -> ReviewAnswer | None:
        return self.answers.get(user.id)

    def partner_answered(self, viewer: User) -> bool:
        """Whether the partner has answered: said to `viewer`, never what they answered."""
        return any(user_id != viewer.id for user_id in self.answers)

    def partners_answer_for(self, viewer: User) -> ReviewAnswer | None:
        """The partner's answers, for `viewer`: only once both have answered. Before that,
        nothing of them leaves this function (docs/safety.md, "The review")."""
        if not self.both_answered:
            return None
        return next(answer for user_id, answer in self.answers.items() if user_id != viewer.id)


@dataclass(frozen=True)
class PauseLine:
    """One pause since signing, as the review lists it: when, how long, and whether the one
    who paused was back by the time they gave. No name, no count, no score."""

    started_at: datetime
    minutes: int
    outcome: str  # "on-time", "later", "no-word" (ran a day), "on" (still going)


def today_at(now: datetime) -> date:
    """The date in the app's time zone, in which the review date is meant."""
    return now.astimezone(pauses.app_zone()).date()


def answers_of(agreement: Agreement) -> dict[int, ReviewAnswer]:
    return {
        answer.user_id: answer
        for answer in db.session.scalars(
            select(ReviewAnswer).where(ReviewAnswer.agreement_id == agreement.id)
        )
    }


def review_of(
    couple: Couple, agreement: Agreement, document: FinalDocument, library: Library, now: datetime
) -> Review:
    """The review of this final version of the couple's."""
    opens_on = document.review_on - OPENS_BEFORE
    latest = signing.review_due(couple, today_at(now))
    return Review(
        agreement=agreement,
        document=document,
        clauses=signing.content_of(document, library).clauses,
        language=agreement.language,
        opens_on=opens_on,
        is_open=latest is not None and latest.agreement_id == agreement.id,
        answers=answers_of(agreement),
    )


def current_review(couple: Couple, library: Library, now: datetime) -> Review | None:
    """The review of the couple's latest final version (open or not yet), or None before
    they signed one."""
    versions = signing.final_versions(couple)
    if not versions:
        return None
    agreement, document = versions[0]
    return review_of(couple, agreement, document, library, now)


def _partner_in(couple: Couple, user: User) -> None:
    if user.id not in {partner.id for partner in couple.partners}:
        raise ReviewError({"review": _("Only the two of you can review your agreement.")})


def may_answer(review: Review, now: datetime) -> None:
    """Answers are taken while the review is open and until both partners have answered."""
    if not review.is_open:
        raise ReviewError({"review": _not_open(review, now)})
    if review.both_answered:
        raise ReviewError(
            {"review": _("You have both answered, so your answers stay as they are.")}
        )


def _not_open(review: Review, now: datetime) -> str:
    if today_at(now) < review.opens_on:
        return _("Your review has not opened yet.")
    return _("This review is for an earlier version.")


def _checked_text(field: str, value: str | None, errors: dict[str, str]) -> str:
    text = strip(value or "")
    if not is_ordinary(text, TEXT_MAX_LENGTH):
        errors[field] = _(
            "Please keep this to at most %(count)d ordinary characters.", count=TEXT_MAX_LENGTH
        )
    return text


def answer(
    couple: Couple,
    agreement: Agreement,
    user: User,
    library: Library,
    *,
    marks: list[str | None],
    helped: str | None,
    hard: str | None,
    now: datetime,
) -> ReviewAnswer:
    """`user`'s answers for the review of `agreement`: one of MARKS for each clause, in the
    signed order, and two short texts. They may change them until both have answered."""
    _partner_in(couple, user)
    # Locked, so that one partner's change and the other's first answer are taken one after
    # the other: once both have answered, neither changes.
    couple = locked(Couple, couple.id)
    if couple is None:
        raise ReviewError({"review": _("Only the two of you can review your agreement.")})
    document = db.session.get(FinalDocument, agreement.id)
    review = review_of(couple, agreement, document, library, now)
    may_answer(review, now)

    errors: dict[str, str] = {}
    marks = list(marks)
    if len(marks) != len(review.clauses):
        errors["review"] = _("The agreement changed meanwhile. Please answer again.")
    for index, mark in enumerate(marks, start=1):
        if mark not in MARKS:
            errors[f"mark_{index}"] = _("Please choose kept, hard or change it.")
    helped = _checked_text("helped", helped, errors)
    hard = _checked_text("hard", hard, errors)
    if errors:
        raise ReviewError(errors)

    mine = review.answer_of(user)
    if mine is None:
        mine = ReviewAnswer(agreement_id=agreement.id, user_id=user.id)
        db.session.add(mine)
        # Told once per version, never what was answered (docs/safety.md).
        outbox.notify_partner(couple.id, user.id, outbox.Kind.REVIEW_ANSWERED, str(agreement.id))
    mine.marks = marks
    mine.helped = helped
    mine.hard = hard
    mine.answered_at = now
    db.session.flush()
    live.moved(couple.id, "review")
    return mine


def pauses_since_signing(review: Review, now: datetime) -> list[PauseLine]:
    """The couple's pauses since this version was signed, oldest first."""
    couple = db.session.get(Couple, review.agreement.couple_id)
    lines = []
    for pause in pauses.pauses_since(couple, as_utc(review.document.finalised_at)):
        state = pauses.state_at(pause, now)
        started = as_utc(pause.started_at)
        if state == "ready":
            until = as_utc(pause.ready_at)
            outcome = "on-time" if until <= as_utc(pause.back_by) else "later"
        elif state == "ended":
            until = as_utc(pause.ended_at) if pause.ended_at else pauses.ends_at(pause)
            outcome = "no-word"
        else:
            until, outcome = now, "on"
        lines.append(PauseLine(started, int((until - started).total_seconds() // 60), outcome))
    return lines


def to_change(review: Review) -> list[int]:
    """The clauses (indexes in the signed order) either partner marked "change it"."""
    return [
        index
        for index in range(len(review.clauses))
        if any(answer.marks[index] == "change" for answer in review.answers.values())
    ]


def revise_from_review(
    couple: Couple, review: Review, user: User, library: Library, *, now: datetime
) -> tuple[Agreement, int]:
    """Start version N+1 from a review both answered, with the clauses either marked "change
    it" first and the rest after them in their order. Returns the draft and how many came
    first."""
    _partner_in(couple, user)
    if not review.is_open:
        raise ReviewError({"review": _not_open(review, now)})
    if not review.both_answered:
        raise ReviewError({"review": _("You can revise together once you have both answered.")})
    try:
        draft = signing.revise(couple, review.agreement, user, library)
    except signing.SigningError as error:
        raise ReviewError(error.errors) from error
    first = set(to_change(review))
    # revise() copies the active clauses in the signed order, the order the marks follow.
    copied = list(zip(drafting.active_clauses(review.agreement), draft.clauses, strict=True))
    ordered = [clause for index, (_final, clause) in enumerate(copied) if index in first]
    ordered += [clause for index, (_final, clause) in enumerate(copied) if index not in first]
    for position, clause in enumerate(ordered, start=1):
        clause.position = position
    db.session.flush()
    return draft, len(first)


@exporting.connect
def _export_review_answers(user: User, **_extra) -> dict:
    """This person's own review answers; never the partner's."""
    rows = db.session.execute(
        select(ReviewAnswer, Agreement.number)
        .join(Agreement, Agreement.id == ReviewAnswer.agreement_id)
        .where(ReviewAnswer.user_id == user.id)
        .order_by(Agreement.number)
    )
    return {
        "review_answers": [
            {
                "version": number,
                "marks": list(answer.marks),
                "what_helped": answer.helped,
                "what_was_hard": answer.hard,
                "answered_at": as_utc(answer.answered_at).isoformat(),
            }
            for answer, number in rows
        ]
    }
