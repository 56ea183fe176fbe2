"""A trusted time, end to end: with SEAL_TIMESTAMP_URL the second signature gives a B-T
PDF, asked for outside any lock; a service that fails still gives a sealed agreement; the
verify page says in plain words which time the file carries, in English and Dutch."""

import io
import logging
import re

import pytest
from sqlalchemy import create_engine, select, text

from app.extensions import db
from app.signing import pdf, services
from app.signing.models import FinalDocument
from tests.integration.test_signing import sign_data
from tests.tsa import TestAuthority

CONFIRMED = "time confirmed by an independent time-stamping service (PAdES B-T)"
CLOCK_ONLY = "clock only"  # after "this server's", escaped however Jinja likes
NOT_TRUSTED = "from a time-stamping service this Duet is not set up to trust"


@pytest.fixture(scope="module")
def authority():
    with TestAuthority() as tsa:
        yield tsa


@pytest.fixture
def trust_file(tmp_path, authority):
    path = tmp_path / "tsa-roots.pem"
    path.write_bytes(authority.root_pem)
    return path


@pytest.fixture
def app(make_app, authority, trust_file):
    authority.mode = "ok"
    return make_app(
        SEAL_TIMESTAMP_URL=authority.url,
        SEAL_TIMESTAMP_TIMEOUT=1,
        SEAL_TIMESTAMP_TRUST=str(trust_file),
    )


def _final_pdf(app, agreed) -> bytes:
    anna, bram = agreed
    assert anna.post("/agreement/sign", data=sign_data()).status_code == 302
    assert bram.post("/agreement/sign", data=sign_data("Bram Example")).status_code == 302
    with app.app_context():
        document = db.session.scalar(select(FinalDocument))
        assert document.pdf is not None
        return document.pdf


def _verify(client, data: bytes, language: str = "en"):
    return client.post(
        "/verify",
        data={"document": (io.BytesIO(data), "agreement.pdf")},
        headers={"Accept-Language": language},
    )


def _writable(app) -> bool:
    """Whether another connection can write the agreement row right now, without waiting."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    sqlite = url.startswith("sqlite")
    engine = create_engine(url, connect_args={"timeout": 0.2} if sqlite else {})
    try:
        with engine.begin() as connection:
            if not sqlite:
                connection.execute(text("SET LOCAL lock_timeout = '200ms'"))
            connection.execute(text("UPDATE agreements SET revision = revision"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def test_the_final_pdf_is_b_t_and_the_page_says_the_time_was_confirmed(
    app, agreed, authority, client
):
    asked = authority.requests
    data = _final_pdf(app, agreed)
    assert authority.requests - asked == 2
    with app.app_context():
        result = pdf.verify_pdf(data, services.sealer(), timestamp_trust=services.timestamp_trust())
    assert result.status == "genuine" and result.level == "B-T" and result.timestamp_trusted
    page = _verify(client, data)
    assert page.status_code == 200
    assert "Genuine and unaltered" in page.text
    assert CONFIRMED in page.text
    assert CLOCK_ONLY not in page.text
    dutch = _verify(client, data, "nl")
    assert "Echt, en niets aan veranderd" in dutch.text
    assert "een onafhankelijke tijdstempeldienst bevestigt die tijd (PAdES B-T)" in dutch.text


def test_the_time_stamping_service_is_asked_outside_any_lock(app, agreed, authority):
    seen = []
    authority.on_request = lambda: seen.append(_writable(app))
    try:
        _final_pdf(app, agreed)
    finally:
        authority.on_request = None
    assert seen == [True, True]


def test_a_service_that_is_down_still_gives_a_sealed_agreement_that_says_so(
    app, agreed, client, caplog
):
    with TestAuthority() as gone:
        url = gone.url
    app.config["SEAL_TIMESTAMP_URL"] = url
    with caplog.at_level(logging.WARNING, logger="duet.pdf"):
        data = _final_pdf(app, agreed)
    assert f"Sealed without a trusted time (PAdES B-B): the time-stamping service {url}" in (
        caplog.text
    )
    page = _verify(client, data)
    assert "Genuine and unaltered" in page.text
    assert CLOCK_ONLY in page.text and "(PAdES B-B)" in page.text
    assert CONFIRMED not in page.text
    dutch = _verify(client, data, "nl").text
    assert "die tijd komt alleen van de klok van deze website (PAdES B-B)" in dutch


def test_a_time_from_a_service_that_is_not_trusted_is_not_called_confirmed(app, agreed, make_app):
    data = _final_pdf(app, agreed)
    # The same instance folder and seal, without SEAL_TIMESTAMP_TRUST.
    untrusting = make_app(SEAL_TIMESTAMP_URL=app.config["SEAL_TIMESTAMP_URL"])
    page = _verify(untrusting.test_client(), data)
    assert "Genuine and unaltered" in page.text
    assert NOT_TRUSTED in page.text and CLOCK_ONLY in page.text
    assert CONFIRMED not in page.text
    # The token's date and time to the second, with the zone (+0100 or CET).
    assert re.search(r"carries a time stamp \([^()]*\d{4}, \d\d:\d\d:\d\d [\w+]+\)", page.text)


def test_an_unreadable_trust_file_is_logged_and_trusts_nothing(make_app, tmp_path, caplog):
    missing = tmp_path / "no-such-roots.pem"
    with caplog.at_level(logging.ERROR, logger="duet.seal"):
        app = make_app(SEAL_TIMESTAMP_TRUST=str(missing))
    assert f"SEAL_TIMESTAMP_TRUST: cannot read certificates from {missing}" in caplog.text
    with app.app_context():
        assert services.timestamp_trust() == ()
