"""Duet on several servers: two gunicorn servers over one PostgreSQL and one Redis, as
docs/deploying.md sets them up behind nginx, each with two workers and an instance folder of
its own, sharing only their settings: one SECRET_KEY, one database, one Redis (the live
channel and the rate limits), one seal identity (a PKCS#12 file).

Each browser below names the server of each request, as the proxy may send any request to
either. A session made on one server is valid on the other; failed logins count once for
both; both seal with one identity; a change made through one server is seen by the next poll
on the other, so a page polling every 2 s sees it within 2 s; a device signed out through one
server is refused on its next poll to the other.

Runs on PostgreSQL only (TEST_DATABASE_URL) and with Redis on 127.0.0.1:6379 (database 9);
with CI set, a missing Redis or gunicorn fails the test instead of skipping it.
"""

import html
import itertools
import json
import os
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from limits import parse_many

from app import create_app, live
from app.config import DEFAULTS
from app.extensions import db
from app.signing.pdf import _self_signed
from tests.conftest import PASSWORD, POSTGRES_URL, _clean, test_settings
from tests.servers import GUNICORN, Browser, Gunicorn

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="several servers share one PostgreSQL: set TEST_DATABASE_URL"
)

REDIS_URL = "redis://127.0.0.1:6379/9"
SEAL_PASSPHRASE = "seal passphrase for the test"
# Visitors' addresses as the proxy passes them on (TRUST_PROXY=1): one per browser, so the
# per-address limits of one test never count another test's requests.
ADDRESSES = (f"198.51.100.{n}" for n in itertools.count(1))


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def _unavailable(message: str):
    if _in_ci():
        pytest.fail(f"CI is set, so this test may not be skipped: {message}", pytrace=False)
    pytest.skip(message)


def _empty_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.ConnectionError:
        _unavailable("several servers share one Redis: start it on 127.0.0.1:6379")
    finally:
        client.close()


def _seal_bundle(folder) -> tuple[str, bytes]:
    """A PKCS#12 file with a new key and its certificate; returns its path and the DER."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _self_signed(key)
    bundle = folder / "seal.p12"
    bundle.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"duet",
            key,
            certificate,
            None,
            serialization.BestAvailableEncryption(SEAL_PASSPHRASE.encode()),
        )
    )
    return str(bundle), certificate.public_bytes(serialization.Encoding.DER)


def _empty_schema(folder, database_url: str, bundle: str) -> None:
    """The tables, empty: the app never makes them itself (`flask db upgrade` does)."""
    seal = {"SEAL_PKCS12_PATH": bundle, "SEAL_PKCS12_PASSPHRASE": SEAL_PASSPHRASE}
    app = create_app(test_settings(folder / "schema", database_url, **seal))
    _clean(app)
    with app.app_context():
        db.engine.dispose()


@dataclass
class Servers:
    a: Gunicorn
    b: Gunicorn
    certificate: bytes  # the seal's, DER


@pytest.fixture(scope="module")
def servers(tmp_path_factory, database_url_factory):
    """Servers A and B, two sync workers each, started once for the module."""
    if not GUNICORN.exists():
        _unavailable(f"no gunicorn at {GUNICORN}: `pip install -e '.[test]'`")
    _empty_redis()
    folder = tmp_path_factory.mktemp("servers")
    bundle, certificate = _seal_bundle(folder)
    _empty_schema(folder, database_url_factory(), bundle)
    inherited = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    shared = {
        **inherited,
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": POSTGRES_URL,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "SEAL_PKCS12_PATH": bundle,
        "SEAL_PKCS12_PASSPHRASE": SEAL_PASSPHRASE,
        "TRUST_PROXY": "1",
        "PUBLIC_URL": "http://duet.test",
    }
    started = []
    try:
        for name in ("a", "b"):
            instance = {"DUET_INSTANCE_PATH": str(folder / f"instance-{name}")}
            started.append(Gunicorn(name, {**shared, **instance}, folder))
        for server in started:
            server.wait()
        yield Servers(*started, certificate=certificate)
    finally:
        for server in started:
            server.stop()
        redis.Redis.from_url(REDIS_URL).flushdb()


# --- People ----------------------------------------------------------------------------------


def browser() -> Browser:
    return Browser(next(ADDRESSES))


def register(someone: Browser, server: Gunicorn, name: str) -> str:
    """Register `name` through `server`; returns the email."""
    email = f"{name.split()[0].lower()}.{uuid.uuid4().hex[:8]}@example.com"
    answer = someone.post(
        server, "/register", {"email": email, "display_name": name, "password": PASSWORD}
    )
    assert answer.status == 302, answer.text
    return email


def couple(servers: Servers) -> tuple[Browser, Browser]:
    """Anna registers and invites through A; Bram registers and joins through B."""
    anna, bram = browser(), browser()
    anna.email = register(anna, servers.a, "Anna")
    assert anna.post(servers.a, "/couple/new", {}).status == 302
    invite = anna.get(servers.a, "/couple/invite").text
    code = re.search(r'class="invite-code"[^>]*>([^<]+)<', invite).group(1)
    bram.email = register(bram, servers.b, "Bram")
    assert bram.post(servers.b, "/couple/join", {"code": code}).status == 302
    return anna, bram


class Poller:
    """What live.js does on a page: sends the last ETag and token, keeps the next ones."""

    def __init__(self, someone: Browser, page: str):
        self.someone = someone
        state = re.search(r'<div hidden id="live-state"[^>]*>', page).group(0)
        etag = re.search(r'data-etag="([^"]*)"', state).group(1)
        self.etag = f'"{etag}"'
        parts = re.search(r"data-parts='([^']*)'", state).group(1)
        self.parts = json.loads(html.unescape(parts))
        self.token = None

    def poll(self, server: Gunicorn):
        headers = {"If-None-Match": self.etag}
        if self.token:
            headers[live.TOKEN_HEADER] = self.token
        answer = self.someone.get(server, live.PATH, headers=headers)
        self.token = answer.headers.get(live.TOKEN_HEADER) or self.token
        if answer.status == 200:
            self.etag = answer.headers["ETag"]
            self.parts = json.loads(answer.body)["parts"]
        return answer


def clause_versions(someone: Browser, server: Gunicorn) -> dict[int, int]:
    page = someone.get(server, "/agreement/live").text
    return {int(i): int(v) for i, v in re.findall(r'id="clause-(\d+)" data-version="(\d+)"', page)}


# --- What several servers share --------------------------------------------------------------


def test_a_session_made_on_one_server_is_valid_on_the_other(servers):
    anna = browser()
    register(anna, servers.a, "Anna Lou")
    settings = anna.get(servers.b, "/settings")
    assert settings.status == 200
    assert 'value="Anna Lou"' in settings.text
    # A form served by A is accepted by B: its CSRF token is signed with the same key.
    assert anna.post(servers.b, "/couple/new", {}, token_from=servers.a).status == 302
    assert 'class="invite-code"' in anna.get(servers.a, "/couple/invite").text


def test_failed_logins_for_one_account_count_once_for_every_server(servers):
    allowed = min(limit.amount for limit in parse_many(DEFAULTS["RATELIMIT_LOGIN_ACCOUNT"]))
    email = register(browser(), servers.a, "Carla")
    wrong = {"email": email, "password": "not the password at all"}
    # From a new address each time, so only the account's own count can stop them.
    turns = itertools.islice(itertools.cycle((servers.a, servers.b)), allowed)
    answers = [browser().post(server, "/login", wrong) for server in turns]
    assert [answer.status for answer in answers] == [400] * allowed
    for server in (servers.a, servers.b):
        assert browser().post(server, "/login", wrong).status == 429
    right = {"email": email, "password": PASSWORD}
    assert browser().post(servers.b, "/login", right).status == 429


def test_every_server_seals_with_one_identity(servers):
    visitor = browser()
    on_a, on_b = (visitor.get(s, "/verify/seal-certificate.pem") for s in (servers.a, servers.b))
    assert on_a.status == on_b.status == 200
    assert on_a.body == on_b.body
    for server in (servers.a, servers.b):
        assert visitor.get(server, "/verify/seal-certificate.cer").body == servers.certificate

    # An agreement signed through both servers, sealed through A, is genuine on B.
    anna, bram = couple(servers)
    start = {"language": "en", "starter": "basic"}
    assert anna.post(servers.a, "/agreement/start", start).status == 302
    for someone, server in ((anna, servers.a), (bram, servers.b)):
        for clause, version in clause_versions(someone, server).items():
            approve = f"/agreement/clauses/{clause}/approve"
            assert someone.post(server, approve, {"version": version}).status == 302
    for someone, server, name in ((anna, servers.a, "Anna Example"), (bram, servers.b, "Bram")):
        sign = {
            "full_name": name,
            "typed": "y",
            "agreed": "y",
            "review_on": (date.today() + timedelta(days=28)).isoformat(),
            "password": PASSWORD,
        }
        answer = someone.post(server, "/agreement/sign", sign)
        assert answer.status == 302, answer.text
    listing = anna.get(servers.a, "/agreements").text
    link = re.search(r'href="(/agreements/\d+/pdf)"', listing).group(1)
    sealed = anna.get(servers.a, link)
    assert sealed.status == 200 and sealed.body.startswith(b"%PDF")
    assert bram.get(servers.b, link).body == sealed.body
    verdict = visitor.upload(servers.b, "/verify", "document", "agreement.pdf", sealed.body)
    assert verdict.status == 200
    assert "Genuine and unaltered" in verdict.text


# --- The live channel across servers ---------------------------------------------------------


def test_a_change_through_one_server_reaches_the_next_poll_on_the_other(servers):
    anna, bram = couple(servers)
    start = {"language": "en", "starter": "basic"}
    assert anna.post(servers.a, "/agreement/start", start).status == 302
    page = bram.get(servers.a, "/agreement")
    assert page.status == 200
    poller = Poller(bram, page.text)

    # The full path on A answers the first poll and hands out a token...
    first = poller.poll(servers.a)
    assert first.status == 304 and first.headers.get(live.TOKEN_HEADER)
    # ...which B's fast path takes: 304 without Flask, which would send a new token.
    for _ in range(3):
        answer = poller.poll(servers.b)
        assert answer.status == 304
        assert live.TOKEN_HEADER not in answer.headers
        time.sleep(0.2)

    before = poller.parts["agreement"]
    added = anna.post(servers.a, "/agreement/clauses", {"template": "no-blaming"})
    assert added.status == 302
    seen = poller.poll(servers.b)
    assert seen.status == 200
    assert poller.parts["agreement"] > before
    assert seen.headers.get(live.TOKEN_HEADER)
    # Up to date again: B's fast path answers with the ETag it just gave.
    assert poller.poll(servers.b).status == 304


def test_a_device_signed_out_through_one_server_is_refused_on_the_other_at_once(servers):
    _anna, phone = couple(servers)
    laptop = browser()
    signed_in = laptop.post(servers.a, "/login", {"email": phone.email, "password": PASSWORD})
    assert signed_in.status == 302
    poller = Poller(phone, phone.get(servers.b, "/").text)
    assert poller.poll(servers.b).status == 304
    fast = poller.poll(servers.b)
    assert fast.status == 304 and live.TOKEN_HEADER not in fast.headers

    assert laptop.post(servers.a, "/settings/devices/sign-out-others", {}).status == 302
    refused = poller.poll(servers.b)
    assert refused.status == 401
    assert json.loads(refused.body) == {"signed_in": False}
    assert phone.get(servers.b, "/settings").status == 302
    assert laptop.get(servers.b, "/settings").status == 200
