"""The live channel (app/live.py): one couple revision, moved by what the partner should see
and by nothing private; one endpoint; a fast path pinned to the full path's answers.

Every identity case runs twice, once with the couple's revision read from the database and
once from Redis (REDIS_URL), and each request is answered twice: through the app as it runs
(fast path in front) and by Flask alone. Both must give the same status, ETag and headers;
the fast path must answer itself only when the page is up to date and its token good.
"""

import contextlib
import os

import pytest
from flask import request_started
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, text

from app import live
from app.couple.models import Couple
from app.extensions import db
from tests.conftest import PASSWORD, POSTGRES_URL, Person
from tests.integration.test_reflection import LIBRARY

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
# One Redis database per test worker (1-8), emptied before each test that uses it.
REDIS_URL = f"redis://127.0.0.1:6379/{1 + int(WORKER.removeprefix('gw') or 0) % 8}"
COMPARED = ("ETag", "Cache-Control", "X-Content-Type-Options", "Referrer-Policy")


def _redis_or_skip() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("needs Redis on 127.0.0.1:6379")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(params=["database", "redis"])
def store(request):
    return _redis_or_skip() if request.param == "redis" else None


@pytest.fixture
def live_app(make_app, store):
    return make_app(REDIS_URL=store) if store else make_app()


@pytest.fixture
def someone(live_app):
    """someone("Carl") registers Carl in the app under test and returns his client."""
    return lambda name: Person(live_app, f"{name.lower()}@example.com", name).register()


@pytest.fixture
def couple(someone):
    anna, bram = someone("Anna"), someone("Bram")
    assert bram.join(anna.create_couple()).status_code == 302
    return anna, bram


class Poller:
    """A live page's script: keeps the ETag and token of the last answer."""

    def __init__(self, person):
        self.person = person
        self.etag = None
        self.token = None

    def headers(self) -> dict:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.token:
            headers[live.TOKEN_HEADER] = self.token
        return headers

    def poll(self, headers: dict | None = None):
        response = self.person.get(live.PATH, headers=headers or self.headers())
        self.token = response.headers.get(live.TOKEN_HEADER, self.token)
        self.etag = response.headers.get("ETag", self.etag)
        return response


@contextlib.contextmanager
def flask_answers(app):
    """Records whether Flask handled the request (the fast path never reaches it)."""
    seen = []

    def started(sender, **extra):
        seen.append(True)

    request_started.connect(started, app)
    try:
        yield seen
    finally:
        request_started.disconnect(started, app)


@contextlib.contextmanager
def without_fast_path(app):
    fast = app.wsgi_app
    assert isinstance(fast, live.FastPath)
    app.wsgi_app = fast.wsgi_app
    try:
        yield
    finally:
        app.wsgi_app = fast


def both_paths(app, person, headers: dict):
    """The answer through the app as deployed, whether Flask saw it, and Flask's own answer."""
    with flask_answers(app) as seen:
        fast = person.get(live.PATH, headers=headers)
    with without_fast_path(app):
        full = person.get(live.PATH, headers=headers)
    assert fast.status_code == full.status_code
    for name in COMPARED:
        assert fast.headers.get(name) == full.headers.get(name), name
    if full.status_code == 200:
        assert fast.get_json() == full.get_json()
    return fast, bool(seen)


def ready(app, person) -> Poller:
    """A page that has polled once: it holds a token and the current ETag."""
    poller = Poller(person)
    first = poller.poll()
    assert first.status_code == 200
    assert poller.token and poller.etag
    return poller


# --- the endpoint --------------------------------------------------------------------------


def test_a_signed_out_poll_gets_401_and_nothing_else(live_app):
    response = live_app.test_client().get(live.PATH)
    assert response.status_code == 401
    assert response.get_json() == {"signed_in": False}
    assert live.TOKEN_HEADER not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_the_first_poll_says_each_part_and_hands_out_a_token(couple, live_app):
    anna, _bram = couple
    response = Poller(anna).poll()
    body = response.get_json()
    with live_app.app_context():
        row = db.session.scalar(select(Couple))
        assert body == {
            "couple": row.id,
            "revision": row.revision,
            "parts": {part: getattr(row, f"{part}_revision") for part in live.PARTS},
        }
        assert response.headers["ETag"] == f'"{row.id}-{row.revision}"'
    assert response.headers[live.TOKEN_HEADER]
    assert "Set-Cookie" not in response.headers  # the poll never renews the session


def test_a_person_without_a_couple_polls_the_full_path(someone, live_app):
    alone = someone("Carl")
    poller = Poller(alone)
    assert poller.poll().get_json() == {"couple": None, "revision": 0, "parts": {}}
    with flask_answers(live_app) as seen:
        assert poller.poll().status_code == 304
    assert seen  # no couple, no revision to compare: Flask answers


# --- what moves the revision, and what does not --------------------------------------------


def _parts(person) -> dict:
    return Poller(person).poll().get_json()["parts"]


def test_joining_moves_the_partner_part(someone):
    anna, bram = someone("Anna"), someone("Bram")
    code = anna.create_couple()
    before = _parts(anna)
    bram.join(code)
    after = _parts(anna)
    assert after["partner"] > before["partner"]
    assert {p: after[p] for p in ("agreement", "signing", "reflection")} == {
        p: before[p] for p in ("agreement", "signing", "reflection")
    }


def test_drafting_moves_the_agreement_part_once_per_change(couple):
    anna, bram = couple
    before = Poller(bram).poll().get_json()
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    started = Poller(bram).poll().get_json()
    # A part holds the couple's revision at which it last moved.
    assert started["revision"] == before["revision"] + 1
    assert started["parts"]["agreement"] == started["revision"]
    anna.post("/agreement/clauses", data={"template": "no-blaming"})
    added = Poller(bram).poll().get_json()
    assert added["revision"] == started["revision"] + 1
    assert added["parts"]["agreement"] == added["revision"]
    assert added["parts"]["signing"] == before["parts"]["signing"]


def test_a_rename_moves_the_partner_part(couple):
    anna, bram = couple
    before = _parts(bram)
    anna.post("/settings/profile", data={"display_name": "Anneke", "locale": "en"})
    assert _parts(bram)["partner"] > before["partner"]


def test_private_reflection_moves_nothing_and_sharing_moves_reflection(couple, live_app):
    anna, bram = couple
    prompt = LIBRARY.prompts[0].id
    before = Poller(bram).poll().get_json()
    url = f"/reflection/prompts/{prompt}"
    assert anna.post(url, data={"text": "I go quiet when I feel blamed."}).status_code == 302
    assert anna.post(f"{url}/autosave", data={"text": "I go quiet."}).status_code == 200
    check = {f"statement_{item.id}": "often" for item in LIBRARY.pattern_check.statements}
    assert anna.post("/reflection/pattern-check", data=check).status_code == 302
    assert anna.get("/help").status_code == 200
    assert Poller(bram).poll().get_json() == before  # nothing private moves anything
    assert anna.post(f"{url}/share").status_code == 302
    shared = Poller(bram).poll().get_json()
    assert shared["parts"]["reflection"] > before["parts"]["reflection"]
    assert shared["parts"]["agreement"] == before["parts"]["agreement"]


def test_a_failed_change_moves_nothing(couple):
    anna, bram = couple
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    before = _parts(bram)
    assert anna.post("/agreement/clauses", data={"template": "made-up"}).status_code == 400
    assert _parts(bram) == before


# --- the fast path gives the full path's answers, for every identity case ------------------


def test_an_up_to_date_page_is_answered_by_the_fast_path(couple, live_app):
    anna, _bram = couple
    poller = ready(live_app, anna)
    answer, flask_saw = both_paths(live_app, anna, poller.headers())
    assert answer.status_code == 304
    assert not flask_saw
    assert answer.headers["ETag"] == poller.etag


def test_a_change_goes_to_the_full_path_with_what_moved(couple, live_app):
    anna, bram = couple
    poller = ready(live_app, bram)
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    answer, flask_saw = both_paths(live_app, bram, poller.headers())
    assert answer.status_code == 200 and flask_saw
    assert answer.headers["ETag"] != poller.etag


def test_signing_out_this_device_stops_the_poll_at_once(couple, live_app):
    anna, _bram = couple
    poller = ready(live_app, anna)
    anna.post("/logout")
    answer, flask_saw = both_paths(live_app, anna, poller.headers())
    assert answer.status_code == 401 and flask_saw


def test_a_page_open_on_a_device_signed_out_elsewhere_stops_at_once(couple, live_app):
    anna, _bram = couple
    poller = ready(live_app, anna)
    laptop = type(anna)(live_app, anna.email, "Anna")
    laptop.login()
    assert laptop.post("/settings/devices/sign-out-others").status_code == 302
    answer, flask_saw = both_paths(live_app, anna, poller.headers())
    assert answer.status_code == 401 and flask_saw


def test_a_password_change_elsewhere_stops_the_poll_at_once(couple, live_app):
    anna, _bram = couple
    poller = ready(live_app, anna)
    laptop = type(anna)(live_app, anna.email, "Anna")
    laptop.login()
    changed = laptop.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": "another calm evening"},
    )
    assert changed.status_code == 302
    answer, flask_saw = both_paths(live_app, anna, poller.headers())
    assert answer.status_code == 401 and flask_saw


def test_a_deleted_account_stops_the_poll_and_the_partner_learns_the_couple_ended(couple, live_app):
    anna, bram = couple
    annas, brams = ready(live_app, anna), ready(live_app, bram)
    laptop = type(anna)(live_app, anna.email, "Anna")
    laptop.login()
    assert laptop.post("/settings/delete", data={"password": PASSWORD}).status_code == 302
    answer, flask_saw = both_paths(live_app, anna, annas.headers())
    assert answer.status_code == 401 and flask_saw
    answer, flask_saw = both_paths(live_app, bram, brams.headers())
    assert answer.status_code == 200 and flask_saw
    assert answer.get_json() == {"couple": None, "revision": 0, "parts": {}}


def test_leaving_the_couple_reaches_both_pages(couple, live_app):
    anna, bram = couple
    annas, brams = ready(live_app, anna), ready(live_app, bram)
    assert bram.post("/couple/leave", data={"password": PASSWORD}).status_code == 302
    for person, poller in ((anna, annas), (bram, brams)):
        answer, flask_saw = both_paths(live_app, person, poller.headers())
        assert answer.status_code == 200 and flask_saw
        assert answer.get_json()["couple"] is None


def test_an_old_token_goes_to_the_full_path_which_renews_it(couple, live_app, monkeypatch):
    anna, _bram = couple
    poller = ready(live_app, anna)
    monkeypatch.setattr(live, "TOKEN_MAX_AGE", -1)
    answer, flask_saw = both_paths(live_app, anna, poller.headers())
    assert answer.status_code == 304 and flask_saw
    monkeypatch.undo()
    renewed = answer.headers[live.TOKEN_HEADER]
    answer, flask_saw = both_paths(live_app, anna, {**poller.headers(), live.TOKEN_HEADER: renewed})
    assert answer.status_code == 304 and not flask_saw


def test_a_forged_token_goes_to_the_full_path(couple, live_app):
    anna, _bram = couple
    poller = ready(live_app, anna)
    payload = URLSafeTimedSerializer(live_app.secret_key, salt=live.TOKEN_SALT).loads(poller.token)
    forged = URLSafeTimedSerializer("not the key", salt=live.TOKEN_SALT).dumps(payload)
    headers = {**poller.headers(), live.TOKEN_HEADER: forged}
    answer, flask_saw = both_paths(live_app, anna, headers)
    assert answer.status_code == 304 and flask_saw


def test_another_couples_revision_is_never_answered(couple, live_app, someone):
    anna, _bram = couple
    carl, dina = someone("Carl"), someone("Dina")
    dina.join(carl.create_couple())
    annas, carls = ready(live_app, anna), ready(live_app, carl)
    # Anna's page asking with Carl's couple's ETag, and Carl's token with Anna's ETag.
    for headers in (
        {**annas.headers(), "If-None-Match": carls.etag},
        {**annas.headers(), live.TOKEN_HEADER: carls.token},
    ):
        answer, flask_saw = both_paths(live_app, anna, headers)
        assert flask_saw
        if answer.status_code == 200:
            assert answer.get_json()["couple"] == Poller(anna).poll().get_json()["couple"]
        else:
            assert answer.headers["ETag"] == annas.etag


def test_without_a_token_or_etag_flask_answers(couple, live_app):
    anna, _bram = couple
    poller = ready(live_app, anna)
    for headers in ({"If-None-Match": poller.etag}, {live.TOKEN_HEADER: poller.token}):
        _answer, flask_saw = both_paths(live_app, anna, headers)
        assert flask_saw


@pytest.mark.parametrize("store", ["redis"], indirect=True)
def test_redis_that_lost_its_keys_sends_polls_to_the_full_path_once(couple, live_app, store):
    import redis

    anna, _bram = couple
    poller = ready(live_app, anna)
    redis.Redis.from_url(store).flushdb()
    answer, flask_saw = both_paths(live_app, anna, poller.headers())
    assert answer.status_code == 304 and flask_saw
    poller.poll()  # the renewed token
    answer, flask_saw = both_paths(live_app, anna, poller.headers())
    assert answer.status_code == 304 and not flask_saw


@pytest.mark.parametrize("store", ["redis"], indirect=True)
def test_redis_is_never_behind_the_database(couple, live_app, store):
    import redis

    anna, bram = couple
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    with live_app.app_context():
        row = db.session.scalar(select(Couple))
        stored = redis.Redis.from_url(store).get(live.RedisStore.revision_key(row.id))
        assert int(stored) == row.revision


@pytest.mark.skipif(not POSTGRES_URL, reason="needs a database server to end the connection")
@pytest.mark.parametrize("store", ["database"], indirect=True)
def test_a_connection_the_server_ended_fails_one_poll_over_and_is_replaced(couple, live_app):
    anna, _bram = couple
    poller = ready(live_app, anna)
    assert both_paths(live_app, anna, poller.headers())[0].status_code == 304
    # The fast path's pooled connection, ended by the server (as a restart does).
    pooled = live_app.wsgi_app.engine.raw_connection()
    backend = pooled.driver_connection.info.backend_pid
    pooled.close()
    with live_app.app_context():
        db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        db.session.commit()
    answer, flask_saw = both_paths(live_app, anna, poller.headers())
    assert answer.status_code == 304 and flask_saw
    answer, flask_saw = both_paths(live_app, anna, poller.headers())
    assert answer.status_code == 304 and not flask_saw


def test_with_redis_down_changes_still_happen_and_polls_go_to_the_full_path(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    anna = Person(app, "anna@example.com", "Anna").register()
    bram = Person(app, "bram@example.com", "Bram").register()
    assert bram.join(anna.create_couple()).status_code == 302
    poller = ready(app, bram)
    answer, flask_saw = both_paths(app, bram, poller.headers())
    assert answer.status_code == 304 and flask_saw
    started = anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    assert started.status_code == 302  # the change does not fail for Redis
    answer, flask_saw = both_paths(app, bram, poller.headers())
    assert answer.status_code == 200 and flask_saw
