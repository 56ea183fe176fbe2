"""Downloading a stored final PDF through the fast path in front of Flask (app/live.py): the
same bytes and headers as the Flask view, for the two partners only; every other case is the
Flask view's own answer."""

import pytest
from sqlalchemy import select, update

from app import live
from app.accounts.models import Device
from app.drafting.models import Agreement
from app.extensions import db
from app.signing.models import FinalDocument
from tests.conftest import PASSWORD, Person
from tests.integration.test_live import flask_answers, without_fast_path
from tests.integration.test_signing import sign_data

COMPARED = (
    "Content-Type",
    "Content-Length",
    "Content-Disposition",
    "Cache-Control",
    "Content-Security-Policy",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Permissions-Policy",
    "Strict-Transport-Security",
)


@pytest.fixture
def signed(agreed, app):
    """Anna and Bram, both signed: the final version and its stored PDF."""
    anna, bram = agreed
    assert anna.post("/agreement/sign", data=sign_data("Anna Example")).status_code == 302
    assert bram.post("/agreement/sign", data=sign_data("Bram Example")).status_code == 302
    with app.app_context():
        agreement_id = db.session.scalar(select(Agreement.id))
        assert db.session.get(FinalDocument, agreement_id).pdf is not None
    return anna, bram, f"/agreements/{agreement_id}/pdf"


def both_paths(app, person, url: str, **kwargs):
    with flask_answers(app) as seen:
        fast = person.get(url, **kwargs)
    with without_fast_path(app):
        full = person.get(url, **kwargs)
    assert fast.status_code == full.status_code
    if full.status_code == 200:
        assert fast.data == full.data
    for name in COMPARED:
        if name == "Content-Length" and full.status_code != 200:
            continue  # a page with a form carries a CSRF token of its own each time
        assert fast.headers.get(name) == full.headers.get(name), name
    return fast, bool(seen)


def test_each_partner_downloads_through_the_fast_path(signed, app):
    anna, bram, url = signed
    for person in (anna, bram):
        answer, flask_saw = both_paths(app, person, url)
        assert answer.status_code == 200 and not flask_saw
        assert answer.data.startswith(b"%PDF-")
        assert answer.headers["Content-Disposition"].startswith('attachment; filename="duet-')


def test_over_https_the_answers_match_too(signed):
    anna, _bram, url = signed
    app = anna.app
    answer, flask_saw = both_paths(app, anna, url, base_url="https://localhost")
    assert answer.status_code == 200 and not flask_saw
    assert answer.headers["Strict-Transport-Security"]


def test_another_couple_gets_404_from_flask(signed, app):
    _anna, _bram, url = signed
    carl = Person(app, "carl@example.com", "Carl").register()
    dina = Person(app, "dina@example.com", "Dina").register()
    dina.join(carl.create_couple())
    answer, flask_saw = both_paths(app, carl, url)
    assert answer.status_code == 404 and flask_saw


def test_a_signed_out_device_goes_to_flask(signed, app):
    anna, _bram, url = signed
    laptop = Person(app, anna.email, "Anna")
    laptop.login()
    assert laptop.post("/settings/devices/sign-out-others").status_code == 302
    answer, flask_saw = both_paths(app, anna, url)
    assert answer.status_code == 302 and flask_saw
    assert answer.location.startswith("/login")


def test_no_session_goes_to_flask(signed, app):
    _anna, _bram, url = signed
    answer, flask_saw = both_paths(app, app.test_client(), url)
    assert answer.status_code == 302 and flask_saw


def test_a_forged_session_goes_to_flask(signed, app):
    anna, _bram, url = signed
    with app.app_context():
        device = db.session.scalar(select(Device.token_hash))
    forged = app.test_client()
    from itsdangerous import URLSafeTimedSerializer

    cookie = URLSafeTimedSerializer("not the key", salt="cookie-session").dumps(
        {live.DEVICE: device}
    )
    forged.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    answer, flask_saw = both_paths(app, forged, url)
    assert answer.status_code == 302 and flask_saw


def test_a_session_from_before_the_fast_path_goes_to_flask(signed, app):
    anna, _bram, url = signed
    with anna.client.session_transaction() as session:
        session.pop(live.DEVICE)
    answer, flask_saw = both_paths(app, anna, url)
    assert answer.status_code == 200 and flask_saw


def test_a_pdf_not_made_yet_goes_to_flask(signed, app, monkeypatch):
    anna, _bram, url = signed
    with app.app_context():
        db.session.execute(update(FinalDocument).values(pdf=None))
        db.session.commit()
    with flask_answers(app) as seen:
        answer = anna.get(url)
    assert seen and answer.status_code == 200  # Flask makes it now, as before


def test_an_unknown_version_is_404_from_flask(signed, app):
    anna, _bram, _url = signed
    answer, flask_saw = both_paths(app, anna, "/agreements/999999/pdf")
    assert answer.status_code == 404 and flask_saw


def test_signing_in_names_the_device_in_the_session(person, app):
    anna = person("Anna")
    with anna.client.session_transaction() as session:
        device = session[live.DEVICE]
    with app.app_context():
        assert db.session.scalar(select(Device).where(Device.token_hash == device)) is not None
    anna.post("/logout")
    anna.post("/login", data={"email": anna.email, "password": PASSWORD})
    with anna.client.session_transaction() as session:
        assert session[live.DEVICE] != device
