"""The review together, through the pages: Anna (English) and Bram (Dutch) each answer
privately, wait for the other, see both side by side, and revise with the clauses to change
first; the refusals; the calendar's reminder; another couple's review."""

import re
import uuid
from datetime import date, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select, update

from app.db import utcnow
from app.drafting import services as drafting
from app.drafting.models import Agreement
from app.extensions import db
from app.review.models import ReviewAnswer
from app.signing.models import FinalDocument
from tests.integration.signing_helpers import finalise_through_services
from tests.integration.test_bad_input import _hammer, forms_on
from tests.integration.test_privacy import LIBRARY

BASIC = [item.clause for item in next(s for s in LIBRARY.starters if s.id == "basic").clauses]
TITLES = [LIBRARY.clause(template).title.en for template in BASIC]


def marks(*chosen: str, **texts: str) -> dict:
    """The form as sent: one mark per clause (mark_1, ...), and the two texts."""
    return {f"mark_{index}": mark for index, mark in enumerate(chosen, start=1)} | texts


ALL_KEPT = marks(*["kept"] * len(BASIC))


def review_in(app, days: int) -> None:
    """The review date moves to `days` from today (the review opens 7 days before it)."""
    with app.app_context():
        db.session.execute(
            update(FinalDocument).values(review_on=utcnow().date() + timedelta(days=days))
        )
        db.session.commit()


@pytest.fixture
def signed(partners, app):
    anna, bram = partners
    bram.post("/language", data={"locale": "nl"})
    agreement_id = finalise_through_services(app, anna.email)
    return anna, bram, agreement_id


@pytest.fixture
def opened(signed, app):
    review_in(app, 3)
    return signed


def test_no_review_before_an_agreement_is_signed(partners):
    anna, _bram = partners
    assert anna.get("/review").status_code == 404
    assert anna.post("/review/1", data=ALL_KEPT).status_code == 404
    assert anna.post("/review/1/revise").status_code == 404


def test_before_its_week_the_page_says_when_it_opens(signed, app):
    anna, bram, agreement_id = signed
    opens = utcnow().date() + timedelta(days=28 - 7)
    page = anna.get("/review").text
    assert "How is your agreement going?" in page
    assert f"opens on {opens.day} " in page
    assert 'name="mark_1"' not in page
    assert f"/agreements/{agreement_id}/review.ics" in page
    assert "Hoe gaat het met jullie overeenkomst?" in bram.get("/review").text
    sent = anna.post(f"/review/{agreement_id}", data=ALL_KEPT)
    assert sent.status_code == 302 and sent.location.endswith("/review")
    assert "Your review has not opened yet." in anna.get("/review").text
    # Home and the versions page say nothing of it yet.
    assert "/review" not in anna.get("/").text
    assert 'href="/review"' not in anna.get("/agreements").text


def test_both_partners_through_the_review_in_their_languages(opened, app):
    anna, bram, agreement_id = opened
    # Home and the versions page lead to it.
    assert 'href="/review"' in anna.get("/").text
    assert 'href="/review"' in bram.get("/agreements").text
    assert "Open onze evaluatie" in bram.get("/").text

    page = anna.get("/review").text
    assert "For each clause, say how it went since you signed." in page
    for title in TITLES:
        assert title in page
    assert page.count('type="radio"') == 3 * len(BASIC)
    assert "Your pauses since you signed" in page and "No pauses since you signed." in page

    helped, hard = f"helped-{uuid.uuid4().hex}", f"hard-{uuid.uuid4().hex}"
    anna_marks = ["kept", "change", "kept", "hard", "kept", "kept"]
    sent = anna.post(f"/review/{agreement_id}", data=marks(*anna_marks, helped=helped, hard=hard))
    assert sent.status_code == 302 and sent.location.endswith("/review")
    page = anna.get("/review").text
    assert "Waiting for Bram." in page
    assert "Your answers stay private until they have answered too." in page
    assert "Change my answers" in page and helped in page  # her own, to change

    # Bram (Dutch) learns that she answered, and nothing of what.
    page = bram.get("/review").text
    assert "Anna heeft geantwoord." in page
    assert helped not in page and hard not in page
    assert "checked" not in page

    bram_helped = f"bram-{uuid.uuid4().hex}"
    bram_marks = ["kept", "kept", "kept", "kept", "change", "hard"]
    sent = bram.post(f"/review/{agreement_id}", data=marks(*bram_marks, helped=bram_helped))
    assert sent.status_code == 302

    # Both see both, side by side, fixed.
    for person, own, other in ((anna, helped, bram_helped), (bram, bram_helped, helped)):
        page = person.get("/review").text
        assert own in page and other in page
        assert 'name="mark_1"' not in page
    page = anna.get("/review").text
    assert "You have both answered." in page
    assert page.count('class="mark mark-change"') == 2
    assert "Revise into version 2" in page
    page = bram.get("/review").text
    assert "Jullie hebben allebei geantwoord." in page
    assert "Herzien tot versie 2" in page
    assert "Niets opgeschreven." in page  # his "what was hard" stayed empty

    # Bram revises: the draft opens with the two clauses to change first.
    revised = bram.post(f"/review/{agreement_id}/revise")
    assert revised.status_code == 302 and revised.location.endswith("/agreement")
    page = bram.get("/agreement").text
    assert "met de 2 afspraken die een van jullie wilde aanpassen eerst" in page
    with app.app_context():
        draft = db.session.scalar(select(Agreement).where(Agreement.number == 2))
        order = [clause.template_id for clause in drafting.active_clauses(draft)]
    assert order == [BASIC[1], BASIC[4], BASIC[0], BASIC[2], BASIC[3], BASIC[5]]
    # The review now leads to the draft instead.
    page = anna.get("/review").text
    assert "Version 2 is being drafted." in page and "Revise into" not in page
    assert anna.post(f"/review/{agreement_id}/revise").status_code == 302
    assert "You already have an agreement in drafting." in anna.get("/review").text


def test_a_partner_may_change_their_answers_until_both_answered(opened, app):
    anna, bram, agreement_id = opened
    anna.post(f"/review/{agreement_id}", data=ALL_KEPT | {"helped": "first"})
    anna.post(f"/review/{agreement_id}", data=ALL_KEPT | {"helped": "second"})
    assert "second" in anna.get("/review").text
    bram.post(f"/review/{agreement_id}", data=ALL_KEPT)
    refused = anna.post(f"/review/{agreement_id}", data=ALL_KEPT | {"helped": "third"})
    assert refused.status_code == 302
    page = anna.get("/review").text
    assert "You have both answered, so your answers stay as they are." in page
    with app.app_context():
        assert {answer.helped for answer in db.session.scalars(select(ReviewAnswer))} == {
            "second",
            "",
        }


def test_a_missing_mark_or_a_bad_text_is_said_beside_it_and_nothing_is_lost(opened):
    anna, _bram, agreement_id = opened
    typed = "We walked every evening."
    partial = marks("kept", "", "hard", "kept", "kept", "kept", helped=typed)
    sent = anna.post(f"/review/{agreement_id}", data=partial)
    assert sent.status_code == 400
    assert 'id="mark_2-error"' in sent.text
    assert "Please choose kept, hard or change it." in sent.text
    assert typed in sent.text  # what she typed stays
    assert re.search(
        r'<input checked id="mark_3-1" name="mark_3" required type="radio" value="hard"', sent.text
    )
    assert "There is a problem" in sent.text

    for bad in ("x" * 1001, "bell \x07", "\u202eturned"):
        sent = anna.post(f"/review/{agreement_id}", data=ALL_KEPT | {"hard": bad})
        assert sent.status_code == 400
        assert 'id="hard-error"' in sent.text
    sent = anna.post(f"/review/{agreement_id}", data=ALL_KEPT | {"mark_4": "maybe"})
    assert sent.status_code == 400 and 'id="mark_4-error"' in sent.text
    assert "Waiting for" not in anna.get("/review").text  # nothing was saved


def test_the_review_form_takes_odd_values_without_a_500(opened):
    anna, _bram, _agreement_id = opened
    for action, fields in forms_on(anna.client, "/review"):
        _hammer(anna.client, action, fields)


def test_revising_waits_until_both_answered(opened):
    anna, _bram, agreement_id = opened
    anna.post(f"/review/{agreement_id}", data=ALL_KEPT)
    refused = anna.post(f"/review/{agreement_id}/revise")
    assert refused.status_code == 302 and refused.location.endswith("/review")
    assert "You can revise together once you have both answered." in anna.get("/review").text
    assert "Version 2" not in anna.get("/agreements").text


def test_nothing_of_one_partners_answers_reaches_the_other_before_both(opened):
    anna, bram, agreement_id = opened
    canary = f"canary-{uuid.uuid4().hex}"
    anna.post(f"/review/{agreement_id}", data=ALL_KEPT | {"helped": canary, "hard": canary})
    for path in ("/", "/review", "/agreements", "/agreement", "/pause/new"):
        response = bram.get(path)
        assert canary not in response.text, path
    data, _files = bram.export()
    assert data["review_answers"] == []
    assert canary in str(anna.export()[0]["review_answers"])
    # Nor when his open page asks what moved: only the revision, never what.
    assert canary not in bram.get("/live").text


def test_the_pauses_since_signing_are_listed(opened):
    anna, bram, agreement_id = opened
    assert anna.post("/pause", data={"minutes": "30"}).status_code == 302
    page = bram.get("/review").text
    assert "Nog bezig." in page
    with anna.app.app_context():
        from app.pause.models import Pause

        pause_id = db.session.scalar(select(Pause.id))
    anna.post(f"/pause/{pause_id}/ready")
    page = anna.get("/review").text
    assert "Less than a minute. Back by the time given." in re.sub(r"\s+", " ", page)
    assert "To help you remember them, not to keep score." in page
    assert "Anna" not in page.split('id="pauses-heading"')[1].split("</section>")[0]


def test_another_couples_review_is_not_found(opened, person, app):
    anna, _bram, agreement_id = opened
    carla, dirk = person("Carla"), person("Dirk")
    dirk.join(carla.create_couple())
    finalise_through_services(app, carla.email)
    review_in(app, 3)
    assert carla.post(f"/review/{agreement_id}", data=ALL_KEPT).status_code == 404
    assert carla.post(f"/review/{agreement_id}/revise").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(ReviewAnswer)) is None
    assert "Waiting for" not in anna.get("/review").text


def test_the_calendar_reminds_both_the_evening_before(signed, app):
    anna, bram, agreement_id = signed
    events = []
    for person in (anna, bram):
        response = person.get(f"/agreements/{agreement_id}/review.ics")
        assert response.mimetype == "text/calendar"
        (event,) = Calendar.from_ical(response.data).walk("VEVENT")
        (alarm,) = event.walk("VALARM")
        assert str(alarm["ACTION"]) == "DISPLAY"
        assert str(alarm["DESCRIPTION"])
        events.append((str(event["UID"]), event.decoded("DTSTART"), alarm.decoded("TRIGGER")))
        assert str(event["DESCRIPTION"]).endswith("/review")
    assert events[0] == events[1]  # the same event and reminder on both phones
    _uid, start, trigger = events[0]
    assert start == utcnow().date() + timedelta(days=28) and isinstance(start, date)
    assert trigger == -timedelta(hours=5)  # from the day's midnight: 19:00 the evening before
    assert "Morgen: praten over hoe het gaat met onze overeenkomst" in bram.get(
        f"/agreements/{agreement_id}/review.ics"
    ).text.replace("\r\n ", "")
