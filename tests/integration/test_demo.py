"""`flask --app app demo`: Anna and Bram, paired, with the starter agreement started, and how
to sign in as each; never twice without --reset, and never where it may be production."""

import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.couple.models import Couple
from app.demo import EMAILS, address_is_local, database_is_local
from app.drafting.models import Agreement
from app.extensions import db

LOCAL = "http://127.0.0.1:5000"


@pytest.fixture
def app(make_app):
    """As on a computer of one's own (the tests' PUBLIC_URL names another machine)."""
    return make_app(PUBLIC_URL=LOCAL)


def demo(app, *args):
    return app.test_cli_runner().invoke(args=["demo", *args])


def password_in(output: str) -> str:
    return re.search(r"Password for both: (\S+)", output)[1]


def sign_in(app, email: str, password: str):
    return app.test_client().post("/login", data={"email": email, "password": password})


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_demo_makes_a_couple_with_the_starter_agreement_and_says_how_to_sign_in(app):
    result = demo(app)
    assert result.exit_code == 0, result.output
    output = result.output
    assert 'with "The basic no-ignoring agreement" started' in output
    assert f"Open {LOCAL}/login and sign in:" in output
    assert "  Anna: anna@demo.duet" in output
    assert "  Bram: bram@demo.duet" in output
    assert "private window or another" in output
    password = password_in(output)
    assert len(password) >= app.config["PASSWORD_MIN_LENGTH"]

    with app.app_context():
        anna, bram = (db.session.scalar(select(User).where(User.email == e)) for e in EMAILS)
        assert (anna.display_name, bram.display_name) == ("Anna", "Bram")
        couple = db.session.scalar(select(Couple))
        assert {partner.id for partner in couple.partners} == {anna.id, bram.id}
        agreement = db.session.scalar(select(Agreement))
        assert agreement.couple_id == couple.id and agreement.language == "en"
        assert len(agreement.clauses) > 0
        clauses = len(agreement.clauses)
    assert f"({clauses} clauses, none agreed yet)" in output

    # Both can sign in with the printed password, and see each other and the agreement.
    for email, partner in zip(EMAILS, ("Bram", "Anna"), strict=True):
        client = app.test_client()
        assert client.post("/login", data={"email": email, "password": password}).status_code == 302
        assert f"You and {partner} are a couple in Duet." in client.get("/").text
        assert client.get("/agreement").status_code == 200


def test_demo_refuses_a_second_run_and_leaves_the_first_alone(app):
    first = password_in(demo(app).output)
    again = demo(app)
    assert again.exit_code != 0
    assert "exist already" in again.output
    assert "flask --app app demo --reset" in again.output
    assert "Password" not in again.output
    assert count(app, User) == 2 and count(app, Couple) == 1
    assert sign_in(app, EMAILS[0], first).status_code == 302


def test_reset_replaces_the_demo_and_nothing_else(app, person):
    # Someone else's couple on the same database is no part of the demo.
    carla, dirk = person("Carla"), person("Dirk")
    dirk.join(carla.create_couple())
    first = password_in(demo(app).output)

    result = demo(app, "--reset")
    assert result.exit_code == 0, result.output
    assert "Deleted the old demo accounts" in result.output
    second = password_in(result.output)
    assert second != first
    assert count(app, User) == 4
    assert count(app, Couple) == 2
    assert count(app, Agreement) == 1
    assert sign_in(app, EMAILS[1], first).status_code == 400  # the old password is gone
    assert sign_in(app, EMAILS[1], second).status_code == 302
    assert "You and Dirk are a couple in Duet." in carla.get("/").text


def test_reset_without_a_demo_just_makes_one(app):
    result = demo(app, "--reset")
    assert result.exit_code == 0, result.output
    assert "Deleted" not in result.output
    assert count(app, User) == 2


def test_demo_refuses_where_it_may_be_production(app):
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://duet@db.internal/duet"
    result = demo(app)
    assert result.exit_code != 0
    assert result.output.strip() == (
        "Error: refusing: the database is on db.internal, not this computer, so this may be "
        "production (pass --yes-this-is-not-production if it is not)."
    )
    assert count(app, User) == 0


def test_demo_refuses_a_public_address_unless_told_it_is_not_production(make_app):
    app = make_app(PUBLIC_URL="https://duet.example.org")
    refused = demo(app)
    assert refused.exit_code != 0
    assert "refusing: PUBLIC_URL is https://duet.example.org" in refused.output
    assert count(app, User) == 0

    allowed = demo(app, "--yes-this-is-not-production")
    assert allowed.exit_code == 0, allowed.output
    assert "Open https://duet.example.org/login" in allowed.output


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///instance/duet.sqlite3",
        "sqlite://",
        "postgresql://duet@127.0.0.1/duet",
        "postgresql+psycopg://postgres@localhost:5432/test",
        "postgresql://duet@[::1]:5432/duet",
        "postgresql:///duet",
        "postgresql:///duet?host=/var/run/postgresql",
    ],
)
def test_local_databases(url):
    assert database_is_local(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://duet@db.internal/duet",
        "postgresql+psycopg://duet:secret@10.0.0.5:5432/duet",
        "postgresql://duet@127.0.0.2/duet",
        "postgresql:///duet?host=db.internal",
        "postgresql://duet@localhost/duet?host=localhost&host=db.internal",
    ],
)
def test_databases_on_another_machine(url):
    assert not database_is_local(url)


def test_local_addresses():
    assert address_is_local("http://127.0.0.1:5000")
    assert address_is_local("http://localhost:8000/")
    assert address_is_local("http://[::1]:5000")
    assert not address_is_local("https://duet.example.org")
    assert not address_is_local("http://192.168.1.20:5000")
