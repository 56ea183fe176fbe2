"""The review rules, with a clock the test sets: when it opens, what an answer must hold, who
sees what and when, the pauses it lists, and revising with the clauses to change first."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts import services as accounts
from app.couple import services as couples
from app.couple.models import Couple
from app.drafting import services as drafting
from app.extensions import db
from app.outbox.kinds import Kind
from app.outbox.models import NotificationChoice, OutboxMessage
from app.pause.models import Pause
from app.review import services as reviews
from app.review.models import TEXT_MAX_LENGTH, ReviewAnswer
from app.review.services import ReviewError
from app.signing import services as signing
from app.signing.models import FinalDocument
from tests.unit.test_pause_rules import LIBRARY, PASSWORD, at, finalise, sign_as_final

REVIEW_ON = date(2027, 1, 5)  # the review date finalise() signs
SIGNED_AT = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)
OPEN = at("2027-01-01", "20:00")  # four days before the review date
CLAUSES = 6  # the basic starter's


@pytest.fixture
def signed(ctx):
    anna = accounts.register_user("anna@example.com", "Anna", PASSWORD, "en")
    bram = accounts.register_user("bram@example.com", "Bram", PASSWORD, "nl")
    couple = couples.create_couple(anna)
    couples.join_couple(bram, couple)
    db.session.commit()
    agreement = finalise(couple, anna)
    db.session.get(FinalDocument, agreement.id).finalised_at = SIGNED_AT
    db.session.commit()
    return anna, bram, couple


def review(couple, now=OPEN) -> reviews.Review:
    return reviews.current_review(couple, LIBRARY, now)


def answer(couple, person, marks=None, helped="", hard="", now=OPEN) -> ReviewAnswer:
    current = review(couple, now)
    done = reviews.answer(
        couple,
        current.agreement,
        person,
        LIBRARY,
        marks=["kept"] * CLAUSES if marks is None else marks,
        helped=helped,
        hard=hard,
        now=now,
    )
    db.session.commit()
    return done


def refused(couple, person, **kwargs) -> dict[str, str]:
    with pytest.raises(ReviewError) as error:
        answer(couple, person, **kwargs)
    db.session.rollback()
    return error.value.errors


# --- When it opens ------------------------------------------------------------------------


def test_no_review_before_a_final_agreement(ctx):
    anna = accounts.register_user("anna@example.com", "Anna", PASSWORD, "en")
    couple = couples.create_couple(anna)
    db.session.commit()
    assert reviews.current_review(couple, LIBRARY, OPEN) is None


def test_it_opens_a_week_before_the_review_date_and_stays_open(signed):
    _anna, _bram, couple = signed
    assert review(couple).opens_on == date(2026, 12, 29)
    assert not review(couple, at("2026-12-28", "23:59")).is_open
    # The date is the app's: 00:10 in Amsterdam is still the day before in UTC.
    assert review(couple, at("2026-12-29", "00:10")).is_open
    assert review(couple, at("2027-01-05", "12:00")).is_open
    assert review(couple, at("2027-03-01", "12:00")).is_open  # past the date, still to do


def test_no_answer_before_it_opens(signed):
    anna, _bram, couple = signed
    errors = refused(couple, anna, now=at("2026-12-20", "20:00"))
    assert errors == {"review": "Your review has not opened yet."}
    assert review(couple).answers == {}


def test_a_newer_version_closes_the_review_of_the_one_before(signed):
    anna, bram, couple = signed
    first = review(couple)
    answer(couple, anna)
    draft = signing.revise(couple, first.agreement, anna, LIBRARY)
    db.session.flush()
    _sign_as_final(couple, draft, date(2027, 6, 1))
    assert review(couple).agreement.number == 2 and not review(couple).is_open
    with pytest.raises(ReviewError) as error:
        reviews.answer(
            couple, first.agreement, bram, LIBRARY, marks=["kept"] * 6, helped="", hard="", now=OPEN
        )
    assert error.value.errors == {"review": "This review is for an earlier version."}


def _sign_as_final(couple, draft, review_on):
    for clause in drafting.active_clauses(draft):
        for person in couple.partners:
            drafting.approve(draft, clause, person, clause.version, LIBRARY)
    db.session.commit()
    db.session.expire_all()  # the approvals' times, read back as the database keeps them
    sign_as_final(couple, draft, couple.partners[0], review_on)


# --- What an answer holds -----------------------------------------------------------------


def test_one_mark_per_clause_in_the_signed_order(signed):
    anna, _bram, couple = signed
    marks = ["kept", "hard", "change", "kept", "kept", "hard"]
    answer(couple, anna, marks=marks, helped="  Walking together.  ", hard="Sunday nights.")
    mine = review(couple).answer_of(anna)
    assert mine.marks == marks
    assert (mine.helped, mine.hard) == ("Walking together.", "Sunday nights.")
    assert [clause.template for clause in review(couple).clauses][:2] == [
        "ask-for-space",
        "pause-has-a-limit",
    ]


def test_every_clause_needs_one_of_the_three_marks(signed):
    anna, _bram, couple = signed
    errors = refused(couple, anna, marks=["kept", "maybe", None, "kept", "kept", "KEPT"])
    assert set(errors) == {"mark_2", "mark_3", "mark_6"}
    assert errors["mark_2"] == "Please choose kept, hard or change it."
    assert "review" in refused(couple, anna, marks=["kept"] * 5)  # one missing
    assert "review" in refused(couple, anna, marks=["kept"] * 7)
    assert review(couple).answers == {}


def test_the_texts_are_short_and_ordinary(signed):
    anna, _bram, couple = signed
    too_long = "x" * (TEXT_MAX_LENGTH + 1)
    errors = refused(couple, anna, helped=too_long, hard="A\u202eB")
    assert set(errors) == {"helped", "hard"}
    assert errors["helped"] == "Please keep this to at most 1000 ordinary characters."
    assert refused(couple, anna, hard="bell\x07") == {"hard": errors["helped"]}
    answer(couple, anna, helped="x" * TEXT_MAX_LENGTH, hard="Line one\nline two")
    assert review(couple).answer_of(anna).hard == "Line one\nline two"


def test_only_the_two_of_them_answer(signed, ctx):
    _anna, _bram, couple = signed
    carla = accounts.register_user("carla@example.com", "Carla", PASSWORD, "en")
    db.session.commit()
    assert refused(couple, carla) == {"review": "Only the two of you can review your agreement."}


# --- Private until both, then fixed -------------------------------------------------------


def test_answers_are_private_until_both_answered_then_fixed(signed):
    anna, bram, couple = signed
    answer(couple, anna, marks=["hard"] * CLAUSES, helped="first")
    current = review(couple)
    assert current.answer_of(anna).helped == "first"
    assert current.partners_answer_for(bram) is None  # Bram sees nothing of Anna's yet
    assert current.partners_answer_for(anna) is None
    assert not current.both_answered

    # Anna may change hers while she waits.
    answer(couple, anna, marks=["change"] + ["kept"] * 5, helped="second")
    assert review(couple).answer_of(anna).helped == "second"
    assert len(db.session.scalars(select(ReviewAnswer)).all()) == 1

    answer(couple, bram, marks=["kept"] * CLAUSES, hard="his")
    current = review(couple)
    assert current.both_answered
    assert current.partners_answer_for(bram).helped == "second"
    assert current.partners_answer_for(anna).hard == "his"

    # Now neither changes.
    fixed = {"review": "You have both answered, so your answers stay as they are."}
    assert refused(couple, anna, helped="third") == fixed
    assert refused(couple, bram, helped="again") == fixed
    assert review(couple).answer_of(anna).helped == "second"


def test_answering_moves_the_review_and_tells_the_partner_once(signed):
    anna, bram, couple = signed
    for person in (anna, bram):
        db.session.add(
            NotificationChoice(user_id=person.id, kind=Kind.REVIEW_ANSWERED.value, channel="mail")
        )
    db.session.commit()

    def revision() -> int:
        db.session.expire_all()
        return db.session.get(Couple, couple.id).review_revision

    def told(person) -> int:
        return db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.user_id == person.id, OutboxMessage.kind == "review_answered")
        )

    before = revision()
    answer(couple, anna)
    first = revision()
    assert first > before
    assert (told(anna), told(bram)) == (0, 1)
    answer(couple, anna, helped="changed")  # a change moves the page, and mails no one again
    assert revision() > first
    assert (told(anna), told(bram)) == (0, 1)
    answer(couple, bram)
    assert (told(anna), told(bram)) == (1, 1)
    both = revision()
    refused(couple, bram)  # refused: moves nothing
    assert revision() == both


# --- The pauses it lists ------------------------------------------------------------------


def _pause(couple, person, started, back_in, **fields) -> Pause:
    pause = Pause(
        couple_id=couple.id,
        asked_by_id=person.id,
        agreement_id=review(couple).agreement.id,
        started_at=started,
        back_by=started + back_in,
        **fields,
    )
    db.session.add(pause)
    db.session.commit()
    return pause


def test_the_pauses_since_signing_say_when_how_long_and_whether_back_in_time(signed):
    anna, bram, couple = signed
    before = SIGNED_AT - timedelta(days=3)
    _pause(couple, anna, before, timedelta(minutes=30), state="ready", ready_at=before)
    one = at("2026-11-10", "21:00")
    _pause(
        couple,
        anna,
        one,
        timedelta(minutes=45),
        state="ready",
        ready_at=one + timedelta(minutes=40),
    )
    two = at("2026-12-01", "22:00")
    _pause(
        couple,
        bram,
        two,
        timedelta(minutes=60),
        state="ready",
        ready_at=two + timedelta(minutes=80),
        extensions=1,
    )
    three = at("2026-12-20", "23:00")
    _pause(couple, anna, three, timedelta(minutes=60), state="asked", open_couple_id=None)
    four = OPEN - timedelta(minutes=10)
    _pause(couple, bram, four, timedelta(minutes=30), state="asked", open_couple_id=couple.id)

    lines = reviews.pauses_since_signing(review(couple), OPEN)
    assert [(line.started_at, line.minutes, line.outcome) for line in lines] == [
        (one, 40, "on-time"),
        (two, 80, "later"),
        (three, 24 * 60, "no-word"),  # ran a day without a word: ended then
        (four, 10, "on"),
    ]
    assert not hasattr(lines[0], "asked_by")  # when and how long, never whose


# --- Revising from it ---------------------------------------------------------------------


def test_revising_puts_the_clauses_to_change_first(signed):
    anna, bram, couple = signed
    answer(couple, anna, marks=["kept", "kept", "kept", "change", "kept", "hard"])
    answer(couple, bram, marks=["kept", "change", "kept", "kept", "hard", "kept"])
    current = review(couple)
    assert reviews.to_change(current) == [1, 3]
    signed_order = [clause.template for clause in current.clauses]
    draft, first = reviews.revise_from_review(couple, current, bram, LIBRARY, now=OPEN)
    db.session.commit()
    assert first == 2 and draft.number == 2 and draft.is_draft
    clauses = drafting.active_clauses(db.session.get(type(draft), draft.id))
    assert [clause.position for clause in clauses] == list(range(1, CLAUSES + 1))
    assert [clause.template_id for clause in clauses] == [
        signed_order[1],
        signed_order[3],
        signed_order[0],
        signed_order[2],
        signed_order[4],
        signed_order[5],
    ]
    # Once drafting, a second revise is refused, as on the versions page.
    errors = pytest.raises(
        ReviewError, reviews.revise_from_review, couple, review(couple), anna, LIBRARY, now=OPEN
    ).value.errors
    assert errors == {"agreement": "You already have an agreement in drafting."}


def test_revising_waits_until_both_answered(signed):
    anna, _bram, couple = signed
    answer(couple, anna, marks=["change"] * CLAUSES)
    with pytest.raises(ReviewError) as error:
        reviews.revise_from_review(couple, review(couple), anna, LIBRARY, now=OPEN)
    assert error.value.errors == {"review": "You can revise together once you have both answered."}
    assert drafting.current_draft(couple) is None


def test_without_a_clause_to_change_the_order_stays(signed):
    anna, bram, couple = signed
    answer(couple, anna)
    answer(couple, bram, marks=["hard"] * CLAUSES)
    current = review(couple)
    draft, first = reviews.revise_from_review(couple, current, anna, LIBRARY, now=OPEN)
    assert first == 0
    assert [clause.template_id for clause in drafting.active_clauses(draft)] == [
        clause.template for clause in current.clauses
    ]


# --- Export -------------------------------------------------------------------------------


def test_each_person_exports_their_own_answers_only(signed):
    anna, bram, couple = signed
    answer(couple, anna, helped="Anna's words")
    answer(couple, bram, marks=["hard"] * CLAUSES, hard="Bram's words")
    mine = accounts.export_data(anna)["review_answers"]
    assert mine == [
        {
            "version": 1,
            "marks": ["kept"] * CLAUSES,
            "what_helped": "Anna's words",
            "what_was_hard": "",
            "answered_at": OPEN.isoformat(),
        }
    ]
    assert "Anna's words" not in str(accounts.export_data(bram))


def test_the_review_day_is_the_apps_day_not_utcs(ctx, monkeypatch):
    """Just after midnight in Amsterdam it is still yesterday in UTC: the home page's review
    notice, the reminders and the review page all count in the app's time zone."""
    monkeypatch.setattr(signing, "utcnow", lambda: datetime(2026, 12, 1, 23, 30, tzinfo=UTC))
    assert signing.local_today() == date(2026, 12, 2)
    assert reviews.today_at(datetime(2026, 12, 1, 23, 30, tzinfo=UTC)) == date(2026, 12, 2)
