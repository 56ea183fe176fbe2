"""The way back into the talk after a pause, through the pages: each partner writes a
softened start privately, reads it, shares it; either says who starts; the couple's "talk
once calm" time shows; the topic may rest. Unshared starts never reach the partner."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import as_utc
from app.extensions import db
from app.pause.models import Pause, SoftStart
from tests.integration.signing_helpers import finalise_through_services
from tests.integration.test_privacy import _every_page

ANNA_START = {"feel": "lonely", "about": "the evening we did not speak", "need": "a hug first"}
BRAM_START = {"feel": "boos", "about": "de deur die dichtsloeg", "need": "dat we eerst even zitten"}


@pytest.fixture
def back(partners, app):
    """Anna paused and is ready to talk again; Bram reads Duet in Dutch."""
    anna, bram = partners
    finalise_through_services(app, anna.email)
    bram.post("/language", data={"locale": "nl"})
    assert anna.post("/pause", data={"minutes": "30"}).status_code == 302
    pause_id = the_pause(app).id
    assert anna.post(f"/pause/{pause_id}/ready").status_code == 302
    return anna, bram, pause_id


def the_pause(app) -> Pause:
    with app.app_context():
        pause = db.session.scalar(select(Pause).order_by(Pause.id.desc()).limit(1))
        db.session.expunge(pause)
        return pause


def test_the_way_back_opens_only_once_the_pause_is_over(partners, app):
    anna, bram = partners
    finalise_through_services(app, anna.email)
    assert anna.get("/pause/talk").status_code == 302  # no pause yet: to asking for one
    anna.post("/pause", data={"minutes": "30"})
    pause_id = the_pause(app).id
    response = bram.get("/pause/talk")
    assert response.status_code == 302 and response.location.endswith("/pause")
    refused = bram.post(f"/pause/{pause_id}/start", data=BRAM_START | {"feel": "boos"})
    assert refused.status_code == 302
    assert "The way back opens when the pause is over." in bram.get("/pause").text
    with app.app_context():
        assert db.session.scalar(select(SoftStart)) is None


def test_both_write_read_and_share_a_gentle_start(back, app):
    anna, bram, pause_id = back
    # Both are offered the way back.
    assert "Prepare a gentle start" in anna.get("/pause").text
    assert "Prepare a gentle start" in anna.get("/").text
    assert "Bereid een zacht begin voor" in bram.get("/pause").text
    home = bram.get("/").text
    assert "Anna is klaar om te praten" in home and "Bereid een zacht begin voor" in home

    page = anna.get("/pause/talk").text
    assert "Back into the talk" in page and "Only you see this until you share it." in page
    # The couple's "talk once calm" clause with its time: 24 hours after she was back.
    assert "We talk about what happened" in page and "Talk by tomorrow at" in page

    # Anna writes; she reads it as one sentence before sharing; it is hers alone so far.
    written = anna.post(f"/pause/{pause_id}/start", data=ANNA_START)
    assert written.status_code == 302 and written.location.endswith("#your-start")
    page = anna.get("/pause/talk").text
    sentence = "I feel lonely about the evening we did not speak and I need a hug first."
    assert sentence in page and "Share it with Bram" in page and "Change it" in page
    for url in ("/", "/pause", "/pause/talk"):
        assert "the evening we did not speak" not in bram.get(url).text, url
    assert "Nog niets gedeeld." in bram.get("/pause/talk").text

    # She changes it: the form comes back filled in; then she shares it.
    form = anna.get("/pause/talk?change=1").text
    assert 'value="the evening we did not speak"' in form
    anna.post(f"/pause/{pause_id}/start", data=ANNA_START | {"need": "a hug first."})
    assert anna.post(f"/pause/{pause_id}/start/share").status_code == 302
    assert "You shared:" in anna.get("/pause/talk").text
    # Bram reads it as she wrote it, in her language, whatever his own.
    assert sentence in bram.get("/pause/talk").text
    # Shared is as it was read: no changing it afterwards.
    anna.post(f"/pause/{pause_id}/start", data=ANNA_START | {"feel": "angry"})
    page = anna.get("/pause/talk").text
    assert "You have shared your start already." in page and sentence in page

    # Bram writes his in Dutch; Anna reads it in Dutch once he shares it.
    bram.post(f"/pause/{pause_id}/start", data=BRAM_START)
    dutch = (
        "Ik voel me boos over de deur die dichtsloeg, "
        "en wat ik nodig heb, is dat we eerst even zitten."
    )
    assert dutch in bram.get("/pause/talk").text
    assert "de deur die dichtsloeg" not in anna.get("/pause/talk").text
    bram.post(f"/pause/{pause_id}/start/share")
    assert dutch in anna.get("/pause/talk").text


def test_who_starts_is_chosen_by_either_and_shown_to_both(back, app):
    anna, bram, pause_id = back
    page = anna.get("/pause/talk").text
    assert "Who starts?" in page and "I’ll start" in page and "Bram starts" in page
    assert anna.post(f"/pause/{pause_id}/starter", data={"who": "partner"}).status_code == 302
    assert "Bram starts. You listen first." in anna.get("/pause/talk").text
    assert "Jij begint. Anna luistert eerst." in bram.get("/pause/talk").text
    # Bram would rather Anna began: either may change it.
    bram.post(f"/pause/{pause_id}/starter", data={"who": "partner"})
    assert "You start. Bram listens first." in anna.get("/pause/talk").text
    anna.post(f"/pause/{pause_id}/starter", data={"who": "someone"})
    assert "Please choose who starts." in anna.get("/pause/talk").text
    assert the_pause(app).starter_id is not None


def test_the_topic_rests_for_the_agreed_hours_when_they_agreed_it(back, app):
    anna, bram, pause_id = back
    # The basic starter has no "The topic rests" clause: nothing offered, and refused.
    assert "let it rest" not in anna.get("/pause/talk").text
    anna.post(f"/pause/{pause_id}/rest")
    assert "Your agreement has no rest for the topic." in anna.get("/pause/talk").text
    assert the_pause(app).rests_until is None


def test_the_topic_rests_when_the_agreement_says_so(partners, app):
    anna, bram = partners
    finalise_through_services(app, anna.email, extra_clauses=[("topic-rests", {"hours": 6})])
    anna.post("/pause", data={"minutes": "30"})
    pause_id = the_pause(app).id
    anna.post(f"/pause/{pause_id}/ready")
    page = bram.get("/pause/talk").text
    assert "The topic rests after we make up" in page
    assert "We have talked: let it rest for 6 hours" in page
    assert bram.post(f"/pause/{pause_id}/rest").status_code == 302
    pause = the_pause(app)
    assert as_utc(pause.rests_until) - as_utc(pause.ready_at) <= timedelta(hours=6, minutes=1)
    assert "The topic rests until today at" in anna.get("/pause/talk").text or (
        "The topic rests until tomorrow at" in anna.get("/pause/talk").text
    )


def test_a_start_with_a_missing_or_long_part_is_sent_back_with_what_was_typed(back):
    anna, _, pause_id = back
    response = anna.post(f"/pause/{pause_id}/start", data=ANNA_START | {"about": "  "})
    assert response.status_code == 400
    assert "Please write a few words here." in response.text
    assert 'value="lonely"' in response.text and 'value="a hug first"' in response.text
    assert 'id="about-error"' in response.text
    long = anna.post(f"/pause/{pause_id}/start", data=ANNA_START | {"need": "x" * 201})
    assert long.status_code == 400 and "at most 200 characters" in long.text
    controls = anna.post(f"/pause/{pause_id}/start", data=ANNA_START | {"feel": "sad\u202e"})
    assert controls.status_code == 400
    assert anna.post(f"/pause/{pause_id}/start/share").status_code == 302
    assert "Write your start first, then share it." in anna.get("/pause/talk").text


def test_another_couples_way_back_is_not_found(back, person, app):
    _anna, _bram, pause_id = back
    carla, dirk = person("Carla"), person("Dirk")
    dirk.join(carla.create_couple())
    finalise_through_services(app, carla.email)
    for action in ("start", "start/share", "starter", "rest"):
        assert carla.post(f"/pause/{pause_id}/{action}", data=ANNA_START).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(SoftStart)) is None


def test_an_unshared_start_reaches_no_page_of_the_partner(back, app):
    """The privacy canary over every GET page Bram can open, with a signed agreement and a
    pause behind them: Anna's start, written and read but not shared, is on none of them,
    nor in his export; once shared, it is on the way-back page only."""
    anna, bram, pause_id = back
    canary = f"canary-{uuid.uuid4().hex}"
    anna.post(f"/pause/{pause_id}/start", data=ANNA_START | {"about": f"the {canary}"})
    assert canary in anna.get("/pause/talk").text
    pages = [url for url, _body in _every_page(bram, app)]
    assert "/pause/talk" in pages and len(pages) > 10
    assert not [url for url, body in _every_page(bram, app) if canary in body]
    data, files = bram.export()
    assert canary not in json.dumps(data)
    assert not [name for name, content in files.items() if canary.encode() in content]

    anna.post(f"/pause/{pause_id}/start/share")
    assert [url for url, body in _every_page(bram, app) if canary in body] == ["/pause/talk"]
