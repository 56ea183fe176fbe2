"""Double submits and both partners at once: every race ends in the state both wanted,
with a normal answer and never a 500 (on PostgreSQL one of them meets a unique constraint;
the transaction boundary runs it once more, and it then sees the winner's state)."""

import re

import pytest
from sqlalchemy import func, select, update

from app.accounts import services as accounts
from app.accounts.models import User
from app.content import library
from app.couple import services as couples
from app.couple.models import Couple, Membership
from app.db import utcnow
from app.drafting import services as drafting
from app.drafting.models import Agreement
from app.extensions import db
from app.pause import services as pauses
from app.pause.models import Pause, SoftStart
from app.reflection import services as reflections
from app.reflection.models import Answer, PatternCheck
from app.review import services as reviews
from app.review.models import ReviewAnswer
from app.signing.models import FinalDocument, KeptCopy
from tests.concurrency import rendezvous, simultaneously
from tests.conftest import PASSWORD
from tests.integration.signing_helpers import finalise_through_services

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyhanko.*")


def cookie(person) -> str:
    return person.client.get_cookie("session").value


def count(app, column, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(column)).where(*where))


def test_creating_the_couple_twice_at_once(app, person, monkeypatch):
    anna = person("Anna")
    rendezvous(monkeypatch, couples, "couple_of", 2)
    answers = simultaneously(app, [(cookie(anna), "/couple/new", {})] * 2)
    assert [answer.location for answer in answers] == ["/couple/invite"] * 2
    assert count(app, Couple.id) == 1
    assert count(app, Membership.user_id) == 1
    assert anna.get("/couple/invite").status_code == 200


def test_both_partners_press_start_at_once(app, partners, monkeypatch):
    rendezvous(monkeypatch, drafting, "current_draft", 2)
    start = {"language": "en", "starter": "basic"}
    answers = simultaneously(
        app, [(cookie(person), "/agreement/start", start) for person in partners]
    )
    assert [answer.location for answer in answers] == ["/agreement"] * 2
    assert count(app, Agreement.id) == 1
    assert all(person.get("/agreement").status_code == 200 for person in partners)


def test_revising_twice_at_once(app, partners, monkeypatch):
    anna, bram = partners
    agreement_id = finalise_through_services(app, anna.email)
    rendezvous(monkeypatch, drafting, "current_draft", 2)
    path = f"/agreements/{agreement_id}/revise"
    answers = simultaneously(app, [(cookie(anna), path, {}), (cookie(bram), path, {})])
    assert [answer.location for answer in answers] == ["/agreement"] * 2
    assert count(app, Agreement.id, Agreement.drafting_couple_id.is_not(None)) == 1
    assert count(app, Agreement.id) == 2


def test_the_pattern_check_sent_twice_at_once(app, person, monkeypatch):
    anna = person("Anna")
    data = {"note": "Sent twice"}
    with app.app_context():
        statements = library().pattern_check.statements
    for statement in statements:
        data[f"statement_{statement.id}"] = "sometimes"
    rendezvous(monkeypatch, reflections, "latest_pattern_check", 2)
    answers = simultaneously(app, [(cookie(anna), "/reflection/pattern-check", data)] * 2)
    assert [answer.location for answer in answers] == ["/reflection/pattern-check/result"] * 2
    assert count(app, PatternCheck.id) == 1


def test_the_first_answer_autosaved_twice_at_once(app, person, monkeypatch):
    anna = person("Anna")
    with app.app_context():
        prompt = library().prompts[0]
    rendezvous(monkeypatch, reflections, "answer_to", 2)
    path = f"/reflection/prompts/{prompt.id}/autosave"
    answers = simultaneously(
        app,
        [
            (cookie(anna), path, {"text": "First words"}),
            (cookie(anna), path, {"text": "First words!"}),
        ],
    )
    assert [answer.status for answer in answers] == [200, 200]
    assert count(app, Answer.id) == 1


def test_the_same_email_registered_twice_at_once(app, monkeypatch):
    rendezvous(monkeypatch, accounts, "user_by_email", 2)
    forms = [
        {"email": "same@example.com", "display_name": name, "password": PASSWORD}
        for name in ("Anna", "Annie")
    ]
    answers = simultaneously(app, [(None, "/register", form) for form in forms])
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [302, 400]
    refused = next(answer for answer in answers if answer.status == 400)
    assert "already has an account" in refused.text
    assert 'value="same@example.com"' in refused.text  # what was typed stays
    assert count(app, User.id) == 1


def test_both_partners_leave_at_once_and_each_keeps_one_copy(app, partners, monkeypatch):
    anna, bram = partners
    agreement_id = finalise_through_services(app, anna.email)
    with app.app_context():
        original = db.session.get(FinalDocument, agreement_id).pdf
    rendezvous(monkeypatch, couples, "couple_of", 2)
    leave = {"password": PASSWORD}
    answers = simultaneously(app, [(cookie(person), "/couple/leave", leave) for person in partners])
    assert [answer.status for answer in answers] == [302, 302], [a.text for a in answers]
    assert count(app, Couple.id) == 0
    # One kept copy each, never two: the second to leave found the couple already gone.
    assert count(app, KeptCopy.id) == 2
    for person in partners:
        (link,) = re.findall(r'href="(/agreements/kept/\d+/pdf)"', person.get("/agreements").text)
        assert person.get(link).data == original


def test_the_same_gentle_start_sent_twice_at_once(app, partners, monkeypatch):
    anna, _bram = partners
    finalise_through_services(app, anna.email)
    anna.post("/pause", data={"minutes": "30"})
    with app.app_context():
        pause_id = db.session.scalar(select(Pause.id))
    anna.post(f"/pause/{pause_id}/ready")
    rendezvous(monkeypatch, pauses, "locked", 2)
    path = f"/pause/{pause_id}/start"
    start = {"feel": "tired", "about": "last night", "need": "a quiet evening"}
    answers = simultaneously(app, [(cookie(anna), path, start)] * 2)
    assert [answer.location for answer in answers] == ["/pause/talk#your-start"] * 2
    assert count(app, SoftStart.id) == 1


def test_both_partners_answer_the_review_at_once(app, partners, monkeypatch):
    anna, bram = partners
    agreement_id = finalise_through_services(app, anna.email)
    with app.app_context():
        db.session.execute(update(FinalDocument).values(review_on=utcnow().date()))
        db.session.commit()
    rendezvous(monkeypatch, reviews, "locked", 2)
    path = f"/review/{agreement_id}"
    marks = {f"mark_{index}": "kept" for index in range(1, 7)}
    answers = simultaneously(app, [(cookie(anna), path, marks), (cookie(bram), path, marks)])
    assert [answer.location for answer in answers] == ["/review"] * 2
    assert count(app, ReviewAnswer.id) == 2
    # Both answered: each now sees the other's answers, side by side.
    assert "You have both answered" in anna.get("/review").text
