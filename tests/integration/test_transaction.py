"""The one transaction boundary: every writing view commits once through it, nothing slow
runs inside a transaction, and the final PDF follows the commit of the final state."""

import re
import sqlite3
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import abort, redirect
from sqlalchemy import func, select

from app.accounts.models import User
from app.couple.models import Couple
from app.extensions import db
from app.signing import pdf
from app.signing.models import FinalDocument
from app.transaction import NoWriteHere, transaction, unit_of_work, unlocked
from tests.conftest import PASSWORD
from tests.integration.test_signing import sign_data

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyhanko.*")

APP = Path(__file__).resolve().parents[2] / "app"
# POST endpoints that only read: the verify page judges an upload and stores nothing.
READ_ONLY_POSTS = {"signing.verify"}


def test_every_writing_route_goes_through_the_boundary(app):
    unwrapped = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods
        and rule.endpoint not in READ_ONLY_POSTS
        and not getattr(app.view_functions[rule.endpoint], "writes", False)
    ]
    assert not unwrapped, f"POST views without @transaction: {unwrapped}"


def test_no_view_commits_itself():
    offenders = [
        str(path.relative_to(APP))
        for path in APP.rglob("views.py")
        if re.search(r"\.commit\(", path.read_text())
    ]
    assert not offenders


def _user(email="someone@example.com") -> User:
    return User(email=email, display_name="Someone", password_hash="x")


def test_a_request_cannot_write_outside_the_boundary(app):
    with app.test_request_context(method="POST"):
        db.session.add(_user())
        with pytest.raises(NoWriteHere):
            db.session.flush()
        db.session.rollback()


def test_slow_work_after_a_write_is_refused(app):
    with (
        app.test_request_context(),
        pytest.raises(RuntimeError, match="Slow work"),
        unit_of_work(),
    ):
        db.session.add(_user())
        db.session.flush()
        with unlocked():
            pass
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_a_savepoint_does_not_hide_what_was_written_before_it(app):
    with (
        app.test_request_context(),
        pytest.raises(RuntimeError, match="Slow work"),
        unit_of_work(),
    ):
        db.session.add(_user())
        db.session.flush()
        with db.session.begin_nested():
            db.session.add(_user("second@example.com"))
        with unlocked():
            pass


@pytest.fixture
def boundary_app(app):
    """Three views behind the boundary: one succeeds, one answers 400, one raises."""
    calls = []

    def adding(email, outcome):
        def view():
            calls.append(email)
            db.session.add(_user(email))
            db.session.flush()
            if outcome == "error":
                return "refused", 400
            if outcome == "raise":
                abort(409)
            return redirect("/")

        view.__name__ = f"view_{outcome}"
        return transaction(view)

    for outcome in ("ok", "error", "raise"):
        app.add_url_rule(
            f"/test/{outcome}",
            view_func=adding(f"{outcome}@example.com", outcome),
            methods=["POST"],
        )
    app.boundary_calls = calls
    return app


def test_the_boundary_commits_a_success_only(boundary_app):
    client = boundary_app.test_client()
    assert client.post("/test/ok").status_code == 302
    assert client.post("/test/error").status_code == 400
    assert client.post("/test/raise").status_code == 409
    with boundary_app.app_context():
        stored = set(db.session.scalars(select(User.email)))
    assert stored == {"ok@example.com"}


def test_a_unique_conflict_runs_the_view_once_more(app):
    """What a simultaneous request that won looks like: the insert fails at commit, and the
    view runs again, now seeing the winner's row, and answers as it would after it."""
    with app.app_context(), unit_of_work():
        db.session.add(_user("taken@example.com"))
    attempts = []

    @transaction
    def register_once():
        attempts.append(1)
        exists = db.session.scalar(select(User).where(User.email == "taken@example.com"))
        if len(attempts) == 1 or exists is None:
            db.session.add(_user("taken@example.com"))  # the check "saw" no account
            return redirect("/welcome")
        return "This email already has an account.", 400

    app.add_url_rule("/test/register", view_func=register_once, methods=["POST"])
    response = app.test_client().post("/test/register")
    assert len(attempts) == 2
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def _no_transaction_during(monkeypatch, owner, name, seen: list):
    """Wrap owner.name so each call records whether a transaction was open around it."""
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        seen.append(db.session().in_transaction())
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapped)


def test_passwords_are_hashed_and_checked_outside_a_transaction(person, monkeypatch):
    seen = []
    _no_transaction_during(monkeypatch, PasswordHasher, "hash", seen)
    _no_transaction_during(monkeypatch, PasswordHasher, "verify", seen)
    anna = person("Anna")  # registers: hashes
    anna.client.post("/logout")
    assert anna.login("not the password").status_code == 400  # verifies
    assert anna.login().status_code == 302  # verifies
    response = anna.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": PASSWORD + " by the sea"},
    )
    assert response.status_code == 302  # verifies, then hashes
    assert len(seen) == 5
    assert not any(seen), seen


def test_login_leaves_the_sqlite_write_lock_free_while_hashing(person, monkeypatch, app):
    """Another connection can take SQLite's write lock at once while a login hashes."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock")
    path = url.removeprefix("sqlite:///")
    anna = person("Anna")
    anna.client.post("/logout")
    taken = []
    original = PasswordHasher.verify

    def verify(self, hashed, password):
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            taken.append(True)
        except sqlite3.OperationalError:
            taken.append(False)
        finally:
            other.close()
        return original(self, hashed, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    assert anna.login().status_code == 302
    assert taken == [True]


def test_the_final_state_is_committed_before_the_pdf_is_rendered(agreed, app, monkeypatch):
    anna, bram = agreed
    assert anna.post("/agreement/sign", data=sign_data()).status_code == 302
    during_render = []
    original = pdf.sealed_pdf

    def render(content, sealer, timestamp=None):
        during_render.append(db.session().in_transaction())
        with app.app_context():
            engine_view = db.engine.connect()
            stored = engine_view.scalar(select(func.count()).select_from(FinalDocument))
            engine_view.close()
        during_render.append(stored)
        return original(content, sealer, timestamp)

    monkeypatch.setattr(pdf, "sealed_pdf", render)
    done = bram.post("/agreement/sign", data=sign_data("Bram Example"))
    assert done.status_code == 302
    assert during_render == [False, 1]
    with app.app_context():
        document = db.session.scalar(select(FinalDocument))
        assert document.pdf.startswith(b"%PDF")


def _fail_once(monkeypatch):
    original = pdf.sealed_pdf
    failures = []

    def seal(content, sealer, timestamp=None):
        if not failures:
            failures.append(True)
            raise RuntimeError("the process stopped while sealing")
        return original(content, sealer, timestamp)

    monkeypatch.setattr(pdf, "sealed_pdf", seal)


def test_a_pdf_that_failed_after_the_commit_is_made_by_the_next_download(
    agreed, app, monkeypatch, caplog
):
    anna, bram = agreed
    _fail_once(monkeypatch)
    assert anna.post("/agreement/sign", data=sign_data()).status_code == 302
    assert bram.post("/agreement/sign", data=sign_data("Bram Example")).status_code == 302
    assert "will be completed later" in caplog.text
    with app.app_context():
        document = db.session.scalar(select(FinalDocument))
        assert document.pdf is None
        link = f"/agreements/{document.agreement_id}/pdf"
    listing = bram.get("/agreements")
    assert listing.status_code == 200 and "Version 1" in listing.text
    first, second = anna.get(link), bram.get(link)
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    assert first.data == second.data


def test_flask_signing_finish_completes_missing_pdfs(agreed, app, monkeypatch):
    anna, bram = agreed
    _fail_once(monkeypatch)
    anna.post("/agreement/sign", data=sign_data())
    bram.post("/agreement/sign", data=sign_data("Bram Example"))
    result = app.test_cli_runner().invoke(args=["signing", "finish"])
    assert result.exit_code == 0, result.output
    assert "PDF sealed" in result.output and "1 agreement(s)" in result.output
    with app.app_context():
        assert db.session.scalar(select(FinalDocument)).pdf.startswith(b"%PDF")
    again = app.test_cli_runner().invoke(args=["signing", "finish"])
    assert "0 agreement(s)" in again.output


def test_two_completions_at_once_store_one_pdf(agreed, app, monkeypatch):
    """A second worker finishing the same agreement while the first renders: the first
    stored PDF is kept and both hand out its bytes."""
    from app.content import library
    from app.signing import services

    anna, bram = agreed
    _fail_once(monkeypatch)
    anna.post("/agreement/sign", data=sign_data())
    bram.post("/agreement/sign", data=sign_data("Bram Example"))
    original = pdf.sealed_pdf
    inner = []

    def seal(content, sealer, timestamp=None):
        if not inner:
            inner.append(None)
            inner[0] = services.complete_document(agreement_id, library()).pdf
            return original(content, sealer, timestamp) + b"\n% a second, different rendering\n"
        return original(content, sealer, timestamp)

    with app.test_request_context():
        agreement_id = db.session.scalar(select(FinalDocument.agreement_id))
        monkeypatch.setattr(pdf, "sealed_pdf", seal)
        outer = services.complete_document(agreement_id, library()).pdf
    assert inner and outer == inner[0]
    with app.app_context():
        assert db.session.scalar(select(FinalDocument)).pdf == outer
        assert db.session.scalar(select(func.count(Couple.id))) == 1


def test_a_failed_transaction_still_gets_our_error_page(app):
    """The 500 page rolls back first: rendering it (which loads the person) never meets
    a session left failed by the error, so our page, headers and language go out."""
    with app.app_context(), unit_of_work():
        db.session.add(_user("taken@example.com"))

    @transaction
    def always_conflicting():
        db.session.add(_user("taken@example.com"))
        db.session.flush()
        return redirect("/")

    app.add_url_rule("/test/conflict", view_func=always_conflicting, methods=["POST"])
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as in production, not re-raise
    response = app.test_client().post("/test/conflict", headers={"Accept-Language": "nl"})
    assert response.status_code == 500
    assert "Er ging bij ons iets mis" in response.text
    assert "Content-Security-Policy" in response.headers
