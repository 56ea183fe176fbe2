"""The pause rules, with a clock the test moves: lengths from the agreement, the limits, the
ladder and its one-day cap, tomorrow morning across midnight and daylight saving time,
overrun, who may do what, and one open pause per couple."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError

from app.accounts import services as accounts
from app.content import load_library
from app.couple import services as couples
from app.couple.models import Couple
from app.db import as_utc
from app.drafting import services as drafting
from app.extensions import db
from app.pause import services as pauses
from app.pause.models import Pause, SoftStart
from app.pause.services import PauseError, SoftStartError
from app.signing import services as signing
from app.signing import snapshot
from app.signing.models import Signature

LIBRARY = load_library(Path(__file__).resolve().parents[2] / "agreements")
PASSWORD = "a long enough password"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def at(day: str, clock: str) -> datetime:
    """A moment given as Amsterdam wall-clock time, in UTC as the rules take it."""
    local = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=AMSTERDAM)
    return local.astimezone(UTC)


def local(moment: datetime) -> str:
    return as_utc(moment).astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def pair(ctx):
    anna = accounts.register_user("anna@example.com", "Anna", PASSWORD, "en")
    bram = accounts.register_user("bram@example.com", "Bram", PASSWORD, "nl")
    couple = couples.create_couple(anna)
    couples.join_couple(bram, couple)
    db.session.commit()
    return anna, bram, couple


def finalise(couple, by, language="en", starter="basic", values=None, extra=()):
    """A final agreement from `starter` with some values changed, as signing leaves it
    (the PDF itself is made after a commit, which these tests never reach)."""
    agreement = drafting.start_agreement(couple, by, language, starter, LIBRARY)
    for template in extra:
        drafting.add_clause(agreement, by, template, LIBRARY)
    for clause in agreement.clauses:
        if clause.template_id in (values or {}):
            clause.params = {**clause.params, **values[clause.template_id]}
    db.session.flush()
    sign_as_final(couple, agreement, by, date(2027, 1, 5))
    return agreement


def sign_as_final(couple, agreement, by, review_on):
    """Both partners' signatures on the agreement as it stands, and finalising, as signing
    leaves it (the PDF itself is made after a commit, which these tests never reach)."""
    partners = couple.partners
    fingerprint = drafting.agreement_fingerprint(agreement, partners, LIBRARY, review_on)
    signatures = [
        Signature(
            agreement_id=agreement.id,
            user_id=person.id,
            fingerprint=fingerprint,
            full_name=person.display_name,
            typed=True,
            review_on=review_on,
        )
        for person in partners
    ]
    db.session.add_all(signatures)
    db.session.flush()
    signing.finalise(agreement, by, partners, signatures, LIBRARY)
    db.session.commit()


@pytest.fixture
def signed(pair):
    anna, bram, couple = pair
    finalise(couple, anna, values={"pause-has-a-limit": {"minutes": 45}})
    return anna, bram, couple


def refused(field: str, call, *args, **kwargs) -> str:
    with pytest.raises(PauseError) as error:
        call(*args, **kwargs)
    assert error.value.field == field, error.value.message
    db.session.rollback()
    return error.value.message


# --- What the agreement says --------------------------------------------------------------


def test_the_terms_are_the_final_agreements(signed):
    anna, _bram, couple = signed
    terms = pauses.final_terms(couple, LIBRARY)
    assert terms.signal == "I need a pause"
    assert (terms.minutes, terms.longest) == (45, 45)
    assert terms.language == "en"
    during = terms.clause("while-we-pause")
    assert during is not None and "a walk, music or slow breathing" in during.text
    assert terms.clause("talk-it-through-after") is None


def test_the_terms_come_from_the_snapshot_as_signed(signed):
    _anna, _bram, couple = signed
    agreement, _document = signing.final_versions(couple)[0]
    # Even were a clause row to change after signing, what was signed counts.
    clause = next(c for c in agreement.clauses if c.template_id == "pause-has-a-limit")
    clause.params = {"minutes": 120}
    assert pauses.final_terms(couple, LIBRARY).minutes == 45


def test_a_snapshot_from_before_the_terms_reads_them_from_the_final_agreement(signed):
    _anna, _bram, couple = signed
    _agreement, document = signing.final_versions(couple)[0]
    old = dict(document.content)
    old["clauses"] = [{"title": c["title"], "text": c["text"]} for c in old["clauses"]]
    document.content = old
    db.session.flush()
    assert not snapshot.has_terms(document.content)
    terms = pauses.final_terms(couple, LIBRARY)
    assert (terms.signal, terms.minutes) == ("I need a pause", 45)


def test_the_snapshot_keeps_each_clauses_template_and_values(signed):
    _anna, _bram, couple = signed
    content = signing.content_of(signing.final_versions(couple)[0][1], LIBRARY)
    again = snapshot.from_json(snapshot.to_json(content))
    assert again == content
    limit = next(c for c in again.clauses if c.template == "pause-has-a-limit")
    assert limit.value("minutes") == 45 and limit.params == (("minutes", 45),)


def test_a_dutch_agreement_gives_its_own_signal(pair):
    anna, _bram, couple = pair
    finalise(couple, anna, language="nl")
    terms = pauses.final_terms(couple, LIBRARY)
    assert (terms.language, terms.signal, terms.minutes) == ("nl", "Ik heb even pauze nodig", 60)


def test_without_a_length_the_templates_default_and_maximum_hold(pair):
    anna, _bram, couple = pair
    finalise(couple, anna, starter=None, extra=["ask-for-space"])
    terms = pauses.final_terms(couple, LIBRARY)
    limit = LIBRARY.clause("pause-has-a-limit").param("minutes")
    assert (terms.minutes, terms.longest) == (limit.default, limit.max) == (60, 240)
    now = at("2026-12-01", "20:00")
    assert pauses.ask(couple, anna, LIBRARY, minutes=240, now=now).back_by == now + timedelta(
        hours=4
    )


def test_no_pause_without_a_final_agreement(pair):
    anna, _bram, couple = pair
    assert pauses.final_terms(couple, LIBRARY) is None
    now = at("2026-12-01", "20:00")
    assert "Sign one together first" in refused("pause", pauses.ask, couple, anna, LIBRARY, now=now)
    drafting.start_agreement(couple, anna, "en", "basic", LIBRARY)  # a draft is not enough
    db.session.commit()
    refused("pause", pauses.ask, couple, anna, LIBRARY, now=now)
    assert db.session.query(Pause).count() == 0


# --- Asking -------------------------------------------------------------------------------


def test_asking_takes_the_agreed_length_by_default(signed):
    anna, _bram, couple = signed
    now = at("2026-12-01", "21:00")
    pause = pauses.ask(couple, anna, LIBRARY, note="  Going for a walk.  ", now=now)
    db.session.commit()
    assert pause.asked_by_id == anna.id and pause.state == "asked"
    assert local(pause.back_by) == "2026-12-01 21:45"
    assert pause.note == "Going for a walk."
    assert pause.extensions == 0 and pause.reassurance is None
    assert pauses.open_pause(couple, now) == pause
    assert pauses.state_at(pause, now) == "asked"


def test_the_length_stays_within_20_minutes_and_the_agreed_length(signed):
    anna, _bram, couple = signed
    now = at("2026-12-01", "21:00")
    message = refused("minutes", pauses.ask, couple, anna, LIBRARY, minutes=19, now=now)
    assert message == "A pause lasts from 20 to 45 minutes, as you agreed."
    refused("minutes", pauses.ask, couple, anna, LIBRARY, minutes=46, now=now)
    refused("minutes", pauses.ask, couple, anna, LIBRARY, minutes="30", now=now)
    refused("minutes", pauses.ask, couple, anna, LIBRARY, minutes=True, now=now)
    assert pauses.open_pause(couple, now) is None
    shortest = pauses.ask(couple, anna, LIBRARY, minutes=20, now=now)
    assert shortest.back_by - now == timedelta(minutes=20)
    pauses.ready(shortest, anna, now=now + timedelta(minutes=20))
    longest = pauses.ask(couple, anna, LIBRARY, minutes=45, now=now + timedelta(hours=1))
    assert longest.back_by - longest.started_at == timedelta(minutes=45)


def test_the_note_is_short_plain_text(signed):
    anna, _bram, couple = signed
    now = at("2026-12-01", "21:00")
    refused("note", pauses.ask, couple, anna, LIBRARY, note="x" * 141, now=now)
    refused("note", pauses.ask, couple, anna, LIBRARY, note="back\u202esoon", now=now)
    assert pauses.ask(couple, anna, LIBRARY, note="   ", now=now).note is None


def test_nobody_asks_for_a_pause_on_someone_elses_behalf(signed, ctx):
    anna, bram, couple = signed
    carla = accounts.register_user("carla@example.com", "Carla", PASSWORD, "en")
    db.session.commit()
    now = at("2026-12-01", "21:00")
    refused("pause", pauses.ask, couple, carla, LIBRARY, now=now)
    # The one who asks is always the one the pause is for.
    assert pauses.ask(couple, bram, LIBRARY, now=now).asked_by_id == bram.id


def test_one_open_pause_per_couple(signed):
    anna, bram, couple = signed
    now = at("2026-12-01", "21:00")
    first = pauses.ask(couple, anna, LIBRARY, now=now)
    db.session.commit()
    later = now + timedelta(minutes=10)
    assert "already" in refused("pause", pauses.ask, couple, bram, LIBRARY, now=later)
    refused("pause", pauses.ask, couple, anna, LIBRARY, now=later)
    # Still one past its time: overrun is still on.
    refused("pause", pauses.ask, couple, bram, LIBRARY, now=now + timedelta(hours=3))
    pauses.ready(db.session.get(Pause, first.id), anna, now=later)
    db.session.commit()
    second = pauses.ask(couple, bram, LIBRARY, now=later + timedelta(minutes=1))
    assert second.asked_by_id == bram.id and pauses.open_pause(couple, later) == second


def test_the_database_holds_one_open_pause_per_couple(signed):
    anna, _bram, couple = signed
    now = at("2026-12-01", "21:00")
    first = pauses.ask(couple, anna, LIBRARY, now=now)
    db.session.commit()
    db.session.add(
        Pause(
            couple_id=couple.id,
            open_couple_id=couple.id,
            asked_by_id=anna.id,
            agreement_id=first.agreement_id,
            started_at=now,
            back_by=now + timedelta(minutes=30),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_pause_left_a_day_ends_on_its_own_and_frees_the_couple(signed):
    anna, bram, couple = signed
    now = at("2026-12-01", "21:00")
    first = pauses.ask(couple, anna, LIBRARY, now=now)
    db.session.commit()
    a_day = now + timedelta(hours=24)
    assert pauses.state_at(first, a_day - timedelta(seconds=1)) == "overrun"
    assert pauses.state_at(first, a_day) == "ended"
    assert pauses.open_pause(couple, a_day) is None
    refused("pause", pauses.ready, first, anna, now=a_day)
    second = pauses.ask(couple, bram, LIBRARY, now=a_day)
    db.session.commit()
    db.session.refresh(first)
    assert (first.state, first.ready_at, first.open_couple_id) == ("ended", None, None)
    assert as_utc(first.ended_at) == a_day
    assert second.open_couple_id == couple.id


# --- The ladder ---------------------------------------------------------------------------


def test_the_ladder_then_the_cap_of_a_day(signed):
    anna, _bram, couple = signed
    start = at("2026-12-01", "20:00")
    pause = pauses.ask(couple, anna, LIBRARY, now=start)
    assert local(pause.back_by) == "2026-12-01 20:45"
    steps = []

    def more(now):
        steps.append(pauses.next_step(pause).id)
        pauses.extend(pause, anna, now=now, zone=AMSTERDAM)
        return local(pause.back_by)

    # Asked before the time: counted from the time already promised.
    assert more(at("2026-12-01", "20:40")) == "2026-12-01 21:05"
    # Asked after it: counted from now.
    assert more(at("2026-12-01", "21:10")) == "2026-12-01 22:10"
    assert more(at("2026-12-01", "22:10")) == "2026-12-02 00:10"
    assert more(at("2026-12-02", "00:05")) == "2026-12-02 08:00"
    # Tomorrow morning from 08:00 would be a day later: it stops a day after the start.
    assert more(at("2026-12-02", "08:00")) == "2026-12-02 20:00"
    assert steps == ["20-minutes", "1-hour", "2-hours", "tomorrow-morning", "tomorrow-morning"]
    assert pause.extensions == 5
    message = refused("step", pauses.extend, pause, anna, now=at("2026-12-02", "09:00"))
    assert message.startswith("A pause lasts at most a day.")


def test_a_step_can_be_named_and_is_cut_at_a_day(signed):
    anna, _bram, couple = signed
    start = at("2026-12-01", "09:30")
    pause = pauses.ask(couple, anna, LIBRARY, now=start)
    pauses.extend(pause, anna, "2-hours", now=start, zone=AMSTERDAM)
    assert local(pause.back_by) == "2026-12-01 12:15"
    # From 12:15, tomorrow morning is 08:00 the next day: within the day since 09:30.
    pauses.extend(pause, anna, "tomorrow-morning", now=start, zone=AMSTERDAM)
    assert local(pause.back_by) == "2026-12-02 08:00"
    pauses.extend(pause, anna, "1-hour", now=at("2026-12-02", "09:00"), zone=AMSTERDAM)
    assert local(pause.back_by) == "2026-12-02 09:30"  # not 10:00: a day after 09:30
    refused("step", pauses.extend, pause, anna, "no-such-step", now=start)


def test_tomorrow_morning_across_midnight():
    def morning(day, clock):
        return local(pauses.tomorrow_morning(at(day, clock), AMSTERDAM))

    assert morning("2026-12-01", "23:40") == "2026-12-02 08:00"
    assert morning("2026-12-02", "01:10") == "2026-12-02 08:00"  # the morning after the night
    assert morning("2026-12-02", "07:59") == "2026-12-02 08:00"
    assert morning("2026-12-02", "08:00") == "2026-12-03 08:00"
    assert morning("2026-12-31", "22:00") == "2027-01-01 08:00"


def test_tomorrow_morning_across_daylight_saving_time():
    # The clocks go back on 25 October 2026: the night is an hour longer.
    autumn = pauses.tomorrow_morning(at("2026-10-24", "22:00"), AMSTERDAM)
    assert local(autumn) == "2026-10-25 08:00"
    assert autumn == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    assert autumn - at("2026-10-24", "22:00") == timedelta(hours=11)
    # They go forward on 29 March 2026: an hour shorter.
    spring = pauses.tomorrow_morning(at("2026-03-28", "22:00"), AMSTERDAM)
    assert local(spring) == "2026-03-29 08:00"
    assert spring == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert spring - at("2026-03-28", "22:00") == timedelta(hours=9)
    # In the hour that happens twice, the first 08:00 after it is still that morning's.
    repeated = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert local(pauses.tomorrow_morning(repeated, AMSTERDAM)) == "2026-10-25 08:00"


def test_the_cap_of_a_day_is_24_hours_even_across_daylight_saving_time(signed):
    anna, _bram, couple = signed
    start = at("2026-10-24", "20:00")
    pause = pauses.ask(couple, anna, LIBRARY, now=start)
    pauses.extend(pause, anna, "tomorrow-morning", now=start, zone=AMSTERDAM)
    assert local(pause.back_by) == "2026-10-25 08:00"
    pauses.extend(pause, anna, "tomorrow-morning", now=at("2026-10-25", "09:00"), zone=AMSTERDAM)
    assert pause.back_by == start + timedelta(hours=24)
    assert local(pause.back_by) == "2026-10-25 19:00"  # the clocks went back an hour


# --- Overrun, and who may do what ---------------------------------------------------------


def test_overrun_when_the_time_passes_with_no_word(signed):
    anna, _bram, couple = signed
    start = at("2026-12-01", "21:00")
    pause = pauses.ask(couple, anna, LIBRARY, now=start)
    back = start + timedelta(minutes=45)
    assert pauses.state_at(pause, back) == "asked"
    assert pauses.state_at(pause, back + timedelta(seconds=1)) == "overrun"
    assert pauses.open_pause(couple, back + timedelta(minutes=5)) == pause
    # Coming back late is still coming back.
    pauses.ready(pause, anna, now=back + timedelta(minutes=30))
    assert pause.state == "ready" and pause.ready_at == back + timedelta(minutes=30)
    assert pauses.state_at(pause, back + timedelta(hours=30)) == "ready"
    assert pauses.open_pause(couple, back + timedelta(minutes=31)) is None


def test_only_the_one_who_asked_moves_or_ends_the_pause(signed):
    anna, bram, couple = signed
    start = at("2026-12-01", "21:00")
    pause = pauses.ask(couple, anna, LIBRARY, now=start)
    db.session.commit()
    later = start + timedelta(minutes=10)
    refused("pause", pauses.extend, pause, bram, now=later, zone=AMSTERDAM)
    refused("pause", pauses.ready, pause, bram, now=later)
    pause = db.session.get(Pause, pause.id)
    assert (pause.state, pause.extensions) == ("asked", 0)
    assert local(pause.back_by) == "2026-12-01 21:45"
    pauses.ready(pause, anna, now=later)
    db.session.commit()
    assert "over" in refused("pause", pauses.extend, pause, anna, now=later, zone=AMSTERDAM)
    refused("pause", pauses.ready, pause, anna, now=later)


def test_the_partner_may_send_one_prewritten_word_and_nothing_else(signed):
    anna, bram, couple = signed
    start = at("2026-12-01", "21:00")
    pause = pauses.ask(couple, anna, LIBRARY, now=start)
    db.session.commit()
    later = start + timedelta(minutes=5)
    refused("message", pauses.reassure, pause, bram, "Come back now!", now=later)
    refused("message", pauses.reassure, pause, anna, "take-your-time", now=later)
    pauses.reassure(pause, bram, "take-your-time", now=later)
    db.session.commit()
    assert (pause.reassurance, as_utc(pause.reassured_at)) == ("take-your-time", later)
    assert str(pauses.REASSURANCES[pause.reassurance]) == "Take your time. I'm here."
    refused("message", pauses.reassure, pause, bram, "no-hurry", now=later)
    # It changes nothing about the pause itself.
    assert pause.state == "asked" and local(pause.back_by) == "2026-12-01 21:45"


def test_nobody_outside_the_couple_touches_its_pause(signed, ctx):
    anna, _bram, couple = signed
    carla = accounts.register_user("carla@example.com", "Carla", PASSWORD, "en")
    dirk = accounts.register_user("dirk@example.com", "Dirk", PASSWORD, "en")
    theirs = couples.create_couple(carla)
    couples.join_couple(dirk, theirs)
    db.session.commit()
    now = at("2026-12-01", "21:00")
    pause = pauses.ask(couple, anna, LIBRARY, now=now)
    db.session.commit()
    refused("pause", pauses.reassure, pause, carla, "take-your-time", now=now)
    refused("pause", pauses.extend, pause, carla, now=now, zone=AMSTERDAM)
    refused("pause", pauses.ready, pause, carla, now=now)
    assert db.session.scalar(pauses.pause_of(theirs, pause.id)) is None
    assert db.session.scalar(pauses.pause_of(couple, pause.id)) == pause


def test_every_change_moves_the_couples_pause_revision(signed):
    anna, bram, couple = signed

    def revision() -> int:
        db.session.expire_all()
        return db.session.get(Couple, couple.id).pause_revision

    start = at("2026-12-01", "21:00")
    before = revision()
    pause = pauses.ask(couple, anna, LIBRARY, now=start)
    db.session.commit()
    moved = [revision()]
    pauses.reassure(db.session.get(Pause, pause.id), bram, "no-hurry", now=start)
    db.session.commit()
    moved.append(revision())
    pauses.extend(db.session.get(Pause, pause.id), anna, now=start, zone=AMSTERDAM)
    db.session.commit()
    moved.append(revision())
    pauses.ready(db.session.get(Pause, pause.id), anna, now=start + timedelta(hours=1))
    db.session.commit()
    moved.append(revision())
    assert before < moved[0] < moved[1] < moved[2] < moved[3]
    refused("pause", pauses.ready, db.session.get(Pause, pause.id), anna, now=start)
    assert revision() == moved[3]


def test_pauses_since_lists_them_in_order(signed):
    anna, bram, couple = signed
    start = at("2026-12-01", "21:00")
    first = pauses.ask(couple, anna, LIBRARY, now=start)
    pauses.ready(first, anna, now=start + timedelta(minutes=30))
    second = pauses.ask(couple, bram, LIBRARY, now=start + timedelta(days=2))
    db.session.commit()
    assert pauses.pauses_since(couple, start) == [first, second]
    assert pauses.pauses_since(couple, start + timedelta(days=1)) == [second]


def test_each_person_exports_their_own_pauses_and_words(signed):
    anna, bram, couple = signed
    start = at("2026-12-01", "21:00")
    pause = pauses.ask(couple, anna, LIBRARY, note="A walk round the block.", now=start)
    pauses.reassure(pause, bram, "take-your-time", now=start + timedelta(minutes=5))
    pauses.ready(pause, anna, now=start + timedelta(minutes=40))
    db.session.commit()
    mine = accounts.export_data(anna)
    assert mine["pauses_asked"] == [
        {
            "started_at": start.isoformat(),
            "back_by": (start + timedelta(minutes=45)).isoformat(),
            "note": "A walk round the block.",
            "times_more_asked": 0,
            "state": "ready",
            "ready_at": (start + timedelta(minutes=40)).isoformat(),
            "ended_at": None,
        }
    ]
    assert mine["pause_words_sent"] == []
    assert mine["soft_starts_written"] == []
    theirs = accounts.export_data(bram)
    assert theirs["pauses_asked"] == []  # Anna's note is hers, not in Bram's export
    assert theirs["pause_words_sent"] == [
        {"message": "take-your-time", "sent_at": (start + timedelta(minutes=5)).isoformat()}
    ]


# --- The way back into the talk -----------------------------------------------------------

START = {"feel": "hurt", "about": "the door that slammed", "need": "to sit down together"}


@pytest.fixture
def back(pair):
    """Anna paused at 21:00 and was back at 21:40; the agreement has "talk once calm" at
    12 hours and "The topic rests" at 6."""
    anna, bram, couple = pair
    finalise(
        couple,
        anna,
        extra=["topic-rests"],
        values={"talk-once-calm": {"hours": 12}, "topic-rests": {"hours": 6}},
    )
    start = at("2026-12-01", "21:00")
    pause = pauses.ask(couple, anna, LIBRARY, now=start)
    pauses.ready(pause, anna, now=start + timedelta(minutes=40))
    db.session.commit()
    return anna, bram, couple, pause, start + timedelta(minutes=40)


def test_the_way_back_opens_once_the_pause_is_over(signed):
    anna, bram, couple = signed
    start = at("2026-12-01", "21:00")
    pause = pauses.ask(couple, anna, LIBRARY, now=start)
    db.session.commit()
    assert not pauses.way_back_open(pause, start + timedelta(minutes=50))  # overrun: not yet
    message = refused("pause", pauses.write_start, pause, bram, START, language="nl", now=start)
    assert message == "The way back opens when the pause is over."
    refused("pause", pauses.choose_starter, pause, anna, "me", now=start)
    # A day later it ended on its own: the way back is open then too.
    day_later = start + timedelta(hours=24, minutes=1)
    assert pauses.way_back_open(pause, day_later)
    pauses.write_start(pause, bram, START, language="nl", now=day_later)
    assert db.session.get(Pause, pause.id).state == "ended"


def test_a_start_is_private_until_shared_and_fixed_once_shared(back):
    anna, bram, _couple, pause, now = back
    pauses.write_start(pause, anna, START, language="en", now=now)
    db.session.commit()
    own, theirs = pauses.soft_starts(pause, anna)
    assert own.feel == "hurt" and theirs is None
    assert pauses.soft_starts(pause, bram) == (None, None)  # not Bram's to read yet
    assert pauses.sentence(own) == (
        "I feel hurt about the door that slammed and I need to sit down together."
    )
    # Rewritten before sharing: one start per person and pause.
    pauses.write_start(pause, anna, START | {"need": "a hug."}, language="en", now=now)
    pauses.share_start(pause, anna, now=now + timedelta(minutes=1))
    db.session.commit()
    assert db.session.query(SoftStart).count() == 1
    _own, shared = pauses.soft_starts(pause, bram)
    assert shared.need == "a hug." and as_utc(shared.shared_at) == now + timedelta(minutes=1)
    assert pauses.sentence(shared).endswith("and I need a hug.")
    refused("start", pauses.write_start, pause, anna, START, language="en", now=now)
    # In the writer's language, whoever reads it.
    pauses.write_start(pause, bram, START, language="nl", now=now)
    mine, _theirs = pauses.soft_starts(pause, bram)
    assert pauses.sentence(mine).startswith("Ik voel me hurt over the door that slammed")


def test_a_start_needs_three_short_ordinary_parts(back):
    anna, bram, _couple, pause, now = back
    with pytest.raises(SoftStartError) as error:
        pauses.write_start(
            pause,
            anna,
            {"feel": " ", "about": "x" * 201, "need": "ok\u202e"},
            language="en",
            now=now,
        )
    assert set(error.value.errors) == {"feel", "about", "need"}
    db.session.rollback()
    refused("start", pauses.share_start, pause, anna, now=now)


def test_talk_by_follows_the_agreed_hours_from_the_return(back):
    anna, _bram, couple, pause, now = back
    terms = pauses.final_terms(couple, LIBRARY)
    assert local(pauses.talk_by(pause, terms)) == "2026-12-02 09:40"
    assert pauses.rest_hours(terms) == 6


def test_either_partner_chooses_who_starts(back):
    anna, bram, _couple, pause, now = back
    pauses.choose_starter(pause, anna, "partner", now=now)
    assert pause.starter_id == bram.id
    pauses.choose_starter(pause, bram, "partner", now=now)
    assert pause.starter_id == anna.id
    refused("starter", pauses.choose_starter, pause, bram, "Carla", now=now)


def test_the_topic_rests_for_the_agreed_hours_once(back):
    anna, bram, couple, pause, now = back
    terms = pauses.final_terms(couple, LIBRARY)
    pauses.rest_topic(pause, bram, terms, now=now)
    assert local(pause.rests_until) == "2026-12-02 03:40"
    pauses.rest_topic(pause, anna, terms, now=now + timedelta(hours=1))  # it rests already
    assert local(pause.rests_until) == "2026-12-02 03:40"


def test_without_the_clause_the_topic_has_no_rest(signed):
    anna, _bram, couple = signed
    start = at("2026-12-01", "21:00")
    pause = pauses.ask(couple, anna, LIBRARY, now=start)
    pauses.ready(pause, anna, now=start + timedelta(minutes=30))
    terms = pauses.final_terms(couple, LIBRARY)
    assert pauses.rest_hours(terms) is None
    refused("rest", pauses.rest_topic, pause, anna, terms, now=start + timedelta(hours=1))


def test_sharing_and_choosing_move_the_pause_but_writing_does_not(back):
    anna, bram, couple, pause, now = back

    def revision() -> int:
        db.session.expire_all()
        return db.session.get(Couple, couple.id).pause_revision

    before = revision()
    pauses.write_start(db.session.get(Pause, pause.id), anna, START, language="en", now=now)
    db.session.commit()
    assert revision() == before  # Bram's page must not even learn that she is writing
    pauses.share_start(db.session.get(Pause, pause.id), anna, now=now)
    db.session.commit()
    shared = revision()
    assert shared > before
    pauses.choose_starter(db.session.get(Pause, pause.id), bram, "me", now=now)
    db.session.commit()
    assert revision() > shared


def test_nobody_outside_the_couple_takes_part_in_the_way_back(back, ctx):
    _anna, _bram, _couple, pause, now = back
    carla = accounts.register_user("carla@example.com", "Carla", PASSWORD, "en")
    refused("pause", pauses.write_start, pause, carla, START, language="en", now=now)
    refused("pause", pauses.choose_starter, pause, carla, "me", now=now)


def test_each_person_exports_their_own_starts_only(back):
    anna, bram, _couple, pause, now = back
    pauses.write_start(pause, anna, START, language="en", now=now)
    db.session.commit()
    assert accounts.export_data(anna)["soft_starts_written"] == [
        START | {"written_at": now.isoformat(), "shared_at": None}
    ]
    assert accounts.export_data(bram)["soft_starts_written"] == []
