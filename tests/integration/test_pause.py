"""The pause on both phones, through the pages: Anna asks, Bram sees it and sends one word,
Anna needs more time and then is ready; the limits and the refusals; another couple's pause."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import as_utc
from app.extensions import db
from app.pause.models import Pause
from tests.integration.signing_helpers import finalise_through_services
from tests.integration.test_privacy import LIBRARY, PRIVATE_TO_ANNA

# The basic starter's "A pause has an end" agrees 60 minutes; "Tell me you need space"'s
# signal is "I need a pause".
AGREED = 60


@pytest.fixture
def signed(partners, app):
    anna, bram = partners
    finalise_through_services(app, anna.email)
    return anna, bram


def the_pause(app) -> Pause:
    with app.app_context():
        pause = db.session.scalar(select(Pause).order_by(Pause.id.desc()).limit(1))
        db.session.expunge(pause)
        return pause


def test_no_pause_before_an_agreement_is_signed(partners):
    anna, _ = partners
    assert "Need a pause?" not in anna.get("/").text
    assert anna.get("/pause/new").status_code == 404
    assert anna.post("/pause", data={"minutes": "30"}).status_code == 404
    assert anna.get("/pause").status_code == 404


def test_a_pause_from_asking_to_ready_on_both_phones(signed, app):
    anna, bram = signed
    home = anna.get("/").text
    assert "Need a pause?" in home and "Your signal: “I need a pause”." in home
    assert f'name="minutes" value="{AGREED}"' in home
    assert f"Ask for a pause of {AGREED} minutes" in home

    # One tap from home: the agreed length.
    response = anna.post("/pause", data={"minutes": str(AGREED)})
    assert response.status_code == 302 and response.location.endswith("/pause")
    pause = the_pause(app)
    assert as_utc(pause.back_by) - as_utc(pause.started_at) == timedelta(minutes=AGREED)
    page = anna.get("/pause").text
    assert "You are taking a pause" in page and "Back by" in page
    assert "I’m ready to talk" in page and "I need more time: 20 minutes more" in page
    assert "While you pause" in page

    # Bram's home and pause page show it, with the return time; he may send one word.
    home = bram.get("/").text
    assert "Anna asked for a pause" in home and "Back by" in home
    page = bram.get("/pause").text
    assert "Anna asked for a pause" in page and "While you wait" in page
    assert "Don’t chase" in page
    assert "I’m ready to talk" not in page and "/more" not in page
    # He cannot end or stretch it.
    bram.post(f"/pause/{pause.id}/ready")
    bram.post(f"/pause/{pause.id}/more", data={"step": "20-minutes"})
    assert the_pause(app).state == "asked" and the_pause(app).back_by == pause.back_by
    assert (
        bram.post(f"/pause/{pause.id}/word", data={"message": "take-your-time"}).status_code == 302
    )
    page = bram.get("/pause").text
    assert "You sent: “Take your time. I'm here.”" in page
    again = bram.post(f"/pause/{pause.id}/word", data={"message": "no-hurry"})
    assert again.status_code == 302
    assert "sent your word for this pause already" in bram.get("/pause").text
    assert bram.post(f"/pause/{pause.id}/word", data={"message": "rude"}).status_code == 400
    assert "Bram sent you: “Take your time. I'm here.”" in anna.get("/pause").text

    # Anna needs 20 minutes more, then is ready; Bram's home says so.
    assert anna.post(f"/pause/{pause.id}/more", data={"step": "20-minutes"}).status_code == 302
    moved = the_pause(app)
    assert as_utc(moved.back_by) - as_utc(pause.back_by) == timedelta(minutes=20)
    assert "I need more time: An hour more" in anna.get("/pause").text
    assert anna.post(f"/pause/{pause.id}/ready").status_code == 302
    assert the_pause(app).state == "ready"
    assert "Anna is ready to talk" in bram.get("/").text
    assert "Anna is ready to talk" in bram.get("/pause").text
    assert "Need a pause?" in anna.get("/").text  # she can ask again another time


def test_asking_with_another_length_and_a_note(signed, app):
    anna, bram = signed
    page = anna.get("/pause/new").text
    assert f'value="{AGREED}"' in page and "From 20 to 60 minutes, as you agreed." in page
    refused = anna.post("/pause", data={"minutes": "5", "note": "Walking the dog"})
    assert refused.status_code == 400
    assert "A pause lasts from 20 to 60 minutes, as you agreed." in refused.text
    assert "Walking the dog" in refused.text  # nothing typed is lost
    assert re.search(r'id="minutes-error"', refused.text)
    for minutes in ("61", "abc", ""):
        assert anna.post("/pause", data={"minutes": minutes}).status_code == 400
    assert anna.post("/pause", data={"minutes": "30", "note": "x" * 141}).status_code == 400
    assert anna.post("/pause", data={"minutes": "30", "note": "Walking the dog"}).status_code == 302
    assert "“Walking the dog”" in bram.get("/pause").text
    # One pause at a time: a second ask leads to the one that is on.
    second = bram.post("/pause", data={"minutes": "30"})
    assert second.status_code == 302 and the_pause(app).asked_by_id != _id_of(app, bram)


def _id_of(app, person) -> int:
    from app.accounts.models import User

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == person.email))


def test_another_couples_pause_is_not_found(signed, person, app):
    anna, _ = signed
    anna.post("/pause", data={"minutes": "30"})
    pause = the_pause(app)
    carla, dirk = person("Carla"), person("Dirk")
    dirk.join(carla.create_couple())
    finalise_through_services(app, carla.email)
    for action in ("ready", "more", "word"):
        assert carla.post(f"/pause/{pause.id}/{action}").status_code == 404
    assert the_pause(app).state == "asked"


def test_the_pause_pages_in_dutch(signed, app):
    anna, bram = signed
    bram.post("/language", data={"locale": "nl"})
    anna.post("/pause", data={"minutes": "30", "note": "Even lopen"})
    home = bram.get("/").text
    assert "Anna vroeg om een pauze" in home
    page = bram.get("/pause").text
    assert "Terug om" in page and "Zolang je wacht" in page


def test_a_pause_past_its_time_says_so_kindly_to_both(signed, app):
    anna, bram = signed
    anna.post("/pause", data={"minutes": "30"})
    with app.app_context():
        pause = db.session.scalar(select(Pause).order_by(Pause.id.desc()).limit(1))
        pause.started_at -= timedelta(minutes=45)
        pause.back_by -= timedelta(minutes=45)
        db.session.commit()
        pause_id = pause.id
    home = anna.get("/").text
    assert "Your time is up" in home and "Come back now" in home
    page = anna.get("/pause").text
    assert "Your time is up" in page and "I’m ready to talk" in page
    home = bram.get("/").text
    assert "Anna is not back yet" in home and "Give them a little longer" in home
    assert "Anna is not back yet" in bram.get("/pause").text
    # Coming back still works after the time: she is ready, and Bram is told.
    assert anna.post(f"/pause/{pause_id}/ready").status_code == 302
    assert "Anna is ready to talk" in bram.get("/").text


def test_the_pause_caution_is_for_the_one_whose_check_calls_for_it(signed, app):
    """Anna's own check says control: her pause pages carry the caution and the help link;
    none of it, nor anything of her check, reaches Bram's pages of the same pause."""
    anna, bram = signed
    check = {f"statement_{item.id}": "often" for item in LIBRARY.pattern_check.statements}
    assert anna.post("/reflection/pattern-check", data=check).status_code == 302
    caution = "A pause is for calming down, never for silencing someone."
    assert caution in anna.get("/pause/new").text
    anna.post("/pause", data={"minutes": "30"})
    assert caution in anna.get("/pause").text and "/help" in anna.get("/pause").text
    for url in ("/", "/pause"):
        body = bram.get(url).text
        assert caution not in body, url
        assert not [words for words in PRIVATE_TO_ANNA if words in body], url
