"""GET /healthz: for a load balancer or a monitor, 200 while the database answers, else 503."""

import shutil

import pytest

from app import create_app
from tests.conftest import test_settings


def test_healthz_answers_ok_while_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok\n"
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_healthz_needs_no_login_and_leaves_a_session_alone(person):
    anna = person("Anna")
    response = anna.get("/healthz")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert anna.get("/settings").status_code == 200


def test_healthz_is_the_same_in_every_language(client):
    response = client.get("/healthz", headers={"Accept-Language": "nl"})
    assert response.text == "ok\n"


def test_healthz_is_never_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
    client = app.test_client()
    assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5
    # The control: the same limit does apply to an ordinary page.
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_healthz_answers_503_while_the_database_is_down(tmp_path, database):
    folder = tmp_path / "database"
    folder.mkdir()
    urls = {
        "sqlite": f"sqlite:///{folder / 'duet.sqlite3'}",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:9/duet",  # the discard port
    }
    app = create_app(test_settings(tmp_path, urls[database]))
    shutil.rmtree(folder)  # as if its disk went away after Duet started
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.text == "database unavailable\n"
    assert response.headers["Cache-Control"] == "no-store"
