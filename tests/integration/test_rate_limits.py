"""Rate limits that hold behind a proxy, across addresses, across workers.

Per address (the proxy's last hop, an IPv6 /64), per account (the email typed, the person
signed in), site-wide for failed join codes, and in Redis across app instances.
"""

import json
import logging
import subprocess
import sys
import types
import uuid
from pathlib import Path

import click
import pytest
import redis

from app import config as settings
from tests.conftest import PASSWORD, Person

CALM = "Let's take a breath"
ROOT = Path(__file__).resolve().parents[2]


def statuses(client, path: str, data: dict, addresses, **options) -> list[int]:
    """One POST from each address, as the app sees it (REMOTE_ADDR)."""
    return [
        client.post(path, data=data, environ_base={"REMOTE_ADDR": address}, **options).status_code
        for address in addresses
    ]


def wrong_login(number: int) -> dict:
    return {"email": f"someone{number}@example.com", "password": "not the password"}


# --- (a) Only the hops the operator's proxies add are trusted ---------------------------------


def test_trust_proxy_counts_the_proxies(tmp_path, monkeypatch):
    for value, hops in (("1", 1), ("true", 1), ("on", 1), ("2", 2), ("0", 0), ("off", 0)):
        monkeypatch.setenv("TRUST_PROXY", value)
        assert settings.from_environment(tmp_path)["TRUST_PROXY"] == hops, value
    monkeypatch.delenv("TRUST_PROXY")
    assert settings.from_environment(tmp_path)["TRUST_PROXY"] == 0
    monkeypatch.setenv("TRUST_PROXY", "nginx")
    with pytest.raises(SystemExit, match="TRUST_PROXY"):
        settings.from_environment(tmp_path)


def test_a_forwarded_for_chain_cannot_escape_the_limit_behind_one_proxy(make_app):
    app = make_app(RATELIMIT_ENABLED=True, TRUST_PROXY=1, RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()
    # The visitor makes up the first value; nginx appends the address it saw.
    answers = [
        client.post(
            "/login",
            data=wrong_login(n),
            headers={"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.7"},
        ).status_code
        for n in range(4)
    ]
    assert answers == [400, 400, 400, 429]
    other = client.post("/login", data=wrong_login(9), headers={"X-Forwarded-For": "203.0.113.8"})
    assert other.status_code == 400, "someone else behind the same proxy is not limited"


def test_behind_two_proxies_the_visitor_is_the_second_hop(make_app):
    app = make_app(RATELIMIT_ENABLED=True, TRUST_PROXY=2, RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()

    def login(n: int, chain: str) -> int:
        return client.post(
            "/login", data=wrong_login(n), headers={"X-Forwarded-For": chain}
        ).status_code

    # made up by the visitor, seen by the CDN, seen by nginx (the CDN's address)
    answers = [login(n, f"198.51.100.{n}, 203.0.113.7, 192.0.2.1") for n in range(4)]
    assert answers == [400, 400, 400, 429]
    assert login(9, "203.0.113.8, 192.0.2.1") == 400, "another visitor through the same CDN"


def test_one_ipv6_network_counts_as_one_visitor(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
    client = app.test_client()
    same_network = [f"2001:db8:1:2::{n:x}" for n in range(1, 5)]
    assert statuses(client, "/login", wrong_login(1), same_network) == [400, 400, 400, 429]
    assert statuses(client, "/login", wrong_login(2), ["2001:db8:1:3::1"]) == [400]


# --- (b) Per account, whichever address the tries come from ------------------------------------


@pytest.fixture
def limited_app(make_app):
    """Limits on; per-address limits loose, so only the per-account ones can bite."""
    return make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_REGISTER="100 per minute",
        RATELIMIT_LOGIN="100 per minute",
        RATELIMIT_RESET="100 per minute",
        RATELIMIT_JOIN="100 per minute",
        RATELIMIT_SIGN="100 per minute",
        RATELIMIT_LOGIN_ACCOUNT="3 per minute",
        RATELIMIT_RESET_ACCOUNT="2 per minute",
        RATELIMIT_PASSWORD_CHECKS="3 per minute",
        RATELIMIT_JOIN_FAILURES="3 per hour",
    )


def addresses(count: int) -> list[str]:
    return [f"198.51.100.{n}" for n in range(1, count + 1)]


def test_login_limit_per_account_holds_across_addresses(limited_app):
    anna = Person(limited_app, "anna@example.com", "Anna").register()
    client = limited_app.test_client()
    # Typed with other capitals and spaces: the same account, so the same count.
    wrong = {"email": " Anna@Example.COM ", "password": "not the password"}
    assert statuses(client, "/login", wrong, addresses(3)) == [400, 400, 400]
    refused = client.post(
        "/login",
        data={"email": anna.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.99"},
    )
    assert refused.status_code == 429
    assert CALM in refused.text
    other = {"email": "bram@example.com", "password": "not the password"}
    assert statuses(client, "/login", other, addresses(1)) == [400], "other accounts are not"


def test_password_checks_share_one_limit_per_person(limited_app):
    anna = Person(limited_app, "anna@example.com", "Anna").register()
    bram = Person(limited_app, "bram@example.com", "Bram").register()
    assert bram.join(anna.create_couple()).status_code == 302
    wrong = "not my password at all"
    tries = [
        ("/settings/password", {"current_password": wrong, "new_password": "a new long password"}),
        ("/settings/delete", {"password": wrong}),
        ("/couple/leave", {"password": wrong}),
        ("/agreement/sign", {"full_name": "Anna", "password": wrong}),
    ]
    answers = [
        anna.post(path, data=data, environ_base={"REMOTE_ADDR": address}).status_code
        for (path, data), address in zip(tries, addresses(4), strict=True)
    ]
    assert answers[:3] == [400, 400, 400]
    assert answers[3] == 429
    assert CALM in anna.post("/couple/leave", data={"password": PASSWORD}).text
    assert bram.post("/couple/leave", data={"password": wrong}).status_code == 400


def test_reset_mail_is_limited_per_email(limited_app):
    Person(limited_app, "anna@example.com", "Anna").register()
    client = limited_app.test_client()
    answers = statuses(client, "/forgot-password", {"email": "anna@example.com"}, addresses(3))
    assert answers == [200, 200, 429]
    unknown = statuses(client, "/forgot-password", {"email": "nobody@example.com"}, addresses(3))
    assert unknown == [200, 200, 429], "the same answers, so the limit tells nobody who exists"


# --- (d) Join codes: failed guesses are capped for the whole site -----------------------------


def test_failed_join_codes_are_capped_site_wide(limited_app):
    anna = Person(limited_app, "anna@example.com", "Anna").register()
    code = anna.create_couple()
    guessers = [Person(limited_app, f"guess{n}@example.com", "Guess").register() for n in range(4)]
    address = iter(addresses(10))

    def guess(person, typed: str) -> int:
        person.client.environ_base["REMOTE_ADDR"] = next(address)
        return person.join(typed).status_code

    assert [guess(person, "AAA-AAA") for person in guessers[:2]] == [400, 400]
    bram = Person(limited_app, "bram@example.com", "Bram").register()
    assert guess(bram, code) == 302, "a code that works does not count"
    assert guess(guessers[2], "AAA-AAA") == 400
    refused = guessers[3].client.post(
        "/couple/join", data={"code": "AAA-AAA"}, environ_base={"REMOTE_ADDR": next(address)}
    )
    assert refused.status_code == 429
    assert CALM in refused.text

    # An invite link still works while codes are refused.
    carla = Person(limited_app, "carla@example.com", "Carla").register()
    carla.create_couple()
    link = carla.invite_link()
    assert guessers[3].post(link.removeprefix("http://duet.test")).status_code == 302


# --- (c) and across workers: memory counts per process, Redis for all --------------------------


@pytest.fixture
def gunicorn(monkeypatch):
    """Pretend gunicorn runs this process: set(argv, env) gives its command line."""
    monkeypatch.setitem(sys.modules, "gunicorn", types.ModuleType("gunicorn"))
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)

    def run(argv: list[str], **environment):
        monkeypatch.setattr(sys, "argv", ["gunicorn", *argv, "app:create_app()"])
        for name, value in environment.items():
            monkeypatch.setenv(name, value)

    return run


def warnings_at_start(make_app, caplog, **config) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        make_app(**{"TESTING": False, "RATELIMIT_ENABLED": True, **config})
    return [record.getMessage() for record in caplog.records if "RATELIMIT" in record.getMessage()]


def test_memory_limits_warn_when_several_workers_run(make_app, caplog, gunicorn):
    gunicorn(["--workers", "4", "--bind", "127.0.0.1:8000"])
    (warning,) = warnings_at_start(make_app, caplog, RATELIMIT_STORAGE_URI="memory://")
    assert "4 workers" in warning and "redis://" in warning
    gunicorn(["-w3"])
    assert "3 workers" in warnings_at_start(make_app, caplog)[0]
    gunicorn([], WEB_CONCURRENCY="2")
    assert "2 workers" in warnings_at_start(make_app, caplog)[0]
    gunicorn(["-w", "1"])
    assert warnings_at_start(make_app, caplog) == [], "one worker counts exactly"
    gunicorn(["-w", "4"])
    assert warnings_at_start(make_app, caplog, RATELIMIT_STORAGE_URI="redis://x:6379") == []


def test_memory_limits_warn_outside_tests_and_the_command_line(make_app, caplog, monkeypatch):
    monkeypatch.delitem(sys.modules, "gunicorn", raising=False)
    (warning,) = warnings_at_start(make_app, caplog)
    assert "per process" in warning
    assert warnings_at_start(make_app, caplog, TESTING=True) == []
    with click.Context(click.Command("upgrade")):  # flask db upgrade, flask run: one process
        assert warnings_at_start(make_app, caplog) == []


# One gunicorn worker: its own process and its own app, making wrong logins from one address.
WORKER = """
import json, sys
from pathlib import Path
from app import create_app
from app.extensions import db
from tests.conftest import test_settings
folder, storage, prefix, tries = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
app = create_app(test_settings(
    folder, f"sqlite:///{folder / 'duet.sqlite3'}", RATELIMIT_ENABLED=True,
    RATELIMIT_STORAGE_URI=storage, RATELIMIT_KEY_PREFIX=prefix, RATELIMIT_LOGIN="3 per minute",
))
with app.app_context():
    db.create_all()
client = app.test_client()
wrong = {"email": "anna@example.com", "password": "not the password"}
print(json.dumps([client.post("/login", data=wrong).status_code for _ in range(tries)]))
"""


def worker(tmp_path, name: str, storage: str, prefix: str) -> list[int]:
    folder = tmp_path / name
    folder.mkdir()
    answer = subprocess.run(
        [sys.executable, "-c", WORKER, str(folder), storage, prefix, "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("storage", "second_worker"),
    [("memory://", [400, 400]), ("redis://127.0.0.1:6379", [400, 429])],
)
def test_limits_hold_across_worker_processes_only_with_redis(tmp_path, storage, second_worker):
    if storage.startswith("redis://"):
        try:
            redis.Redis(host="127.0.0.1", port=6379).ping()
        except redis.ConnectionError:
            pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = f"duet-test-{uuid.uuid4().hex}"
    assert worker(tmp_path, "first", storage, prefix) == [400, 400]
    # memory:// lets each process count its own 3 a minute; Redis counts 3 for both.
    assert worker(tmp_path, "second", storage, prefix) == second_worker
    if storage.startswith("redis://"):
        server = redis.Redis(host="127.0.0.1", port=6379)
        keys = server.keys(f"*{prefix}*")
        assert keys and not any(b"@" in key for key in keys), "counted in Redis, no email in a key"
        server.delete(*keys)
