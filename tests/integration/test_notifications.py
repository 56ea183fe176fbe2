"""Mail notifications end to end: two partners, a real SMTP server on loopback, the outbox
delivered by the worker's own function; and nothing private ever enqueues or sends a thing."""

import logging
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.content import library
from app.db import utcnow
from app.drafting.models import Agreement
from app.extensions import db
from app.outbox import services as outbox
from app.outbox.kinds import Kind
from app.outbox.models import OutboxMessage
from app.outbox.worker import deliver_due
from app.pause.models import Pause
from app.signing.models import FinalDocument
from app.signing.services import enqueue_review_reminders
from tests.integration.conftest import do_everything_private
from tests.integration.signing_helpers import png_data_url
from tests.integration.test_signing import sign_data, versions

SUBJECTS = {"en": "Something new in Duet", "nl": "Iets nieuws in Duet"}


@pytest.fixture
def app(make_app, mail_server):
    """Every app in this file sends its mail to the server on loopback."""
    return make_app(**mail_server.settings())


def _turn_everything_on(person) -> None:
    response = person.post("/settings/notifications", data={"mail": [kind.value for kind in Kind]})
    assert response.status_code == 302, response.text


def _time_passes(app) -> None:
    """Every waiting row falls due, as if its time had come."""
    with app.app_context():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .values(due_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def _outbox_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


class Mailbox:
    """What the worker delivers after each step, checked to be neutral."""

    def __init__(self, app, server, forbidden: list[str]):
        self.app, self.server, self.forbidden = app, server, forbidden

    def delivered(self) -> list[tuple[str, str]]:
        with self.app.app_context():
            deliver_due()
        mails = []
        for recipients, message in self.server.take():
            assert not message.is_multipart(), "a notification has no attachments"
            body = message.get_content()
            text = f"{message['Subject']}\n{body}"
            for word in self.forbidden:
                assert word not in text, f"a mail carries {word!r}"
            assert "http://duet.test" in body
            assert message["Message-ID"].endswith("@duet.test>")
            mails.append((recipients[0], message["Subject"]))
        return mails


def test_each_event_mails_the_partner_once_in_their_language(app, mail_server, person, caplog):
    caplog.set_level(logging.DEBUG)
    canary = f"canary-{uuid.uuid4().hex}"
    anna = person("Anna")
    _turn_everything_on(anna)
    code = anna.create_couple()
    bram = person("Bram")
    bram.post("/language", data={"locale": "nl", "next": "/"})
    _turn_everything_on(bram)
    box = Mailbox(app, mail_server, ["Anna", "Bram", "Example", canary, "anna", "bram"])
    with app.app_context():
        content = library()
    box.forbidden += [clause.title.en for clause in content.clauses]
    box.forbidden += [clause.title.nl for clause in content.clauses]
    anna_mail = [(anna.email, SUBJECTS["en"])]
    bram_mail = [(bram.email, SUBJECTS["nl"])]

    assert bram.join(code).status_code == 302
    assert box.delivered() == anna_mail  # joined

    # Everything private, by both: not one row.
    rows = _outbox_rows(app)
    do_everything_private((anna, bram), content, canary)
    assert _outbox_rows(app) == rows
    assert box.delivered() == []

    prompt = content.prompts[0]
    assert bram.post(f"/reflection/prompts/{prompt.id}/share").status_code == 302
    assert box.delivered() == anna_mail  # shared, with its canary words
    # Another answer shared the same day says nothing new.
    assert bram.post(f"/reflection/prompts/{content.prompts[1].id}/share").status_code == 302
    assert box.delivered() == []

    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    assert box.delivered() == bram_mail  # started
    for clause, version in versions(anna).items():
        anna.post(f"/agreement/clauses/{clause}/approve", data={"version": version})
    assert box.delivered() == bram_mail  # Anna agreed to everything and waits
    for clause, version in versions(bram).items():
        bram.post(f"/agreement/clauses/{clause}/approve", data={"version": version})
    assert box.delivered() == anna_mail  # Bram too: the agreement can be signed

    assert anna.post("/agreement/sign", data=sign_data()).status_code == 302
    assert box.delivered() == bram_mail  # signed: his signature is the last step
    done = bram.post("/agreement/sign", data=sign_data("Bram Example", signature=png_data_url()))
    assert done.status_code == 302
    assert box.delivered() == anna_mail  # final

    # The pause: Bram hears that Anna asked, needs more time and is back; Anna's own reminder
    # waits for the time she gave, and is taken back once she has moved on.
    assert anna.post("/pause", data={"minutes": "60", "note": f"Walk {canary}"}).status_code == 302
    assert box.delivered() == bram_mail  # asked
    with app.app_context():
        pause_id = db.session.scalar(select(Pause.id).order_by(Pause.id.desc()).limit(1))
    assert bram.post(f"/pause/{pause_id}/word", data={"message": "no-hurry"}).status_code == 302
    assert box.delivered() == []  # his word says nothing by mail, and her time is not up
    assert anna.post(f"/pause/{pause_id}/more", data={"step": "20-minutes"}).status_code == 302
    assert box.delivered() == bram_mail  # more time
    _time_passes(app)
    assert box.delivered() == anna_mail  # her time is up: one reminder, for the new time
    assert anna.post(f"/pause/{pause_id}/ready").status_code == 302
    assert box.delivered() == bram_mail  # back
    start = {"feel": "tired", "about": f"the {canary}", "need": "a walk together"}
    assert anna.post(f"/pause/{pause_id}/start", data=start).status_code == 302
    assert box.delivered() == []  # written, not shared: Bram hears nothing of it
    assert anna.post(f"/pause/{pause_id}/start/share").status_code == 302
    assert box.delivered() == bram_mail  # shared: he can read how she wants to start
    assert anna.post(f"/pause/{pause_id}/start/share").status_code == 302
    assert box.delivered() == []  # once
    assert anna.post("/pause", data={"minutes": "30"}).status_code == 302
    assert box.delivered() == bram_mail
    with app.app_context():
        pause_id = db.session.scalar(select(Pause.id).order_by(Pause.id.desc()).limit(1))
    assert anna.post(f"/pause/{pause_id}/ready").status_code == 302
    assert box.delivered() == bram_mail
    _time_passes(app)
    assert box.delivered() == []  # back before her time: no reminder

    review_on = utcnow().date() + timedelta(days=28)
    for day, kind in ((review_on - timedelta(days=7), "soon"), (review_on, "today")):
        with app.app_context():
            enqueue_review_reminders(day)
            enqueue_review_reminders(day)  # a second worker, or the next hour: nothing new
        assert sorted(box.delivered()) == sorted(anna_mail + bram_mail), kind
    with app.app_context():
        enqueue_review_reminders(review_on - timedelta(days=8))
    assert box.delivered() == []

    # The review: each hears once that the other answered, and nothing of the answers.
    with app.app_context():
        db.session.execute(update(FinalDocument).values(review_on=utcnow().date()))
        db.session.commit()
        agreement_id = db.session.scalar(select(FinalDocument.agreement_id))
    answers = {f"mark_{index}": "change" for index in range(1, 7)}
    mine = answers | {"helped": f"Walks {canary}", "hard": f"Evenings {canary}"}
    assert anna.post(f"/review/{agreement_id}", data=mine).status_code == 302
    assert box.delivered() == bram_mail  # Anna answered
    assert anna.post(f"/review/{agreement_id}", data=answers).status_code == 302
    assert box.delivered() == []  # she changed her answers: nothing new to say
    assert bram.post(f"/review/{agreement_id}", data=answers).status_code == 302
    assert box.delivered() == anna_mail  # Bram answered too

    anna.get("/exit")
    assert box.delivered() == []
    with app.app_context():
        assert set(db.session.scalars(select(OutboxMessage.status))) == {"sent"}
    for record in caplog.records:
        line = record.getMessage()
        assert canary not in line
        if record.name == "duet.outbox":
            assert "@" not in line


def _checked(person) -> set[str]:
    page = person.get("/settings").text
    return set(
        re.findall(r'<input checked id="mail-\d+" name="mail" type="checkbox" value="(\w+)"', page)
    )


def test_nothing_is_sent_until_a_person_turns_it_on(app, mail_server, partners):
    anna, bram = partners
    assert 'name="mail" type="checkbox" value="started"' in bram.get("/settings").text
    assert _checked(bram) == set()
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    assert _outbox_rows(app) == 0
    assert (
        bram.post("/settings/notifications", data={"mail": ["joined", "final"]}).status_code == 302
    )
    assert _checked(bram) == {"joined", "final"}
    assert bram.post("/settings/notifications", data={"mail": ["nonsense"]}).status_code == 400
    assert bram.post("/settings/notifications", data={}).status_code == 302
    assert _checked(bram) == set()
    with app.app_context():
        assert deliver_due() == 0
    assert mail_server.take() == []


def test_the_change_and_its_notification_commit_together(app, partners, monkeypatch):
    """The row is written in the change's transaction: if it cannot be, the change fails."""
    anna, bram = partners
    _turn_everything_on(bram)

    def broken(*_args):
        raise RuntimeError("the outbox cannot be written")

    monkeypatch.setattr(outbox, "notify", broken)
    with pytest.raises(RuntimeError):
        anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agreement)) == 0
    monkeypatch.undo()
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agreement)) == 1
    assert _outbox_rows(app) == 1
