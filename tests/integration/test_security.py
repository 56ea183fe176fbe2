import re
import uuid

import pytest
import redis

from tests.conftest import PASSWORD


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "http" not in policy
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script_or_style(partners):
    anna, _bram = partners
    for path in ("/", "/settings", "/couple/leave", "/login"):
        page = anna.get(path).text
        assert "<script>" not in page and "<style" not in page and " style=" not in page
        assert not re.search(r"\son[a-z]+=", page), path


def test_session_cookie_is_httponly_and_samesite_lax(client):
    client.post(
        "/register",
        data={"email": "anna@example.com", "display_name": "Anna", "password": PASSWORD},
    )
    cookie = client.get_cookie("session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert not cookie.secure


def test_session_cookie_is_secure_behind_https(app):
    client = app.test_client()
    response = client.post(
        "/register",
        data={"email": "anna@example.com", "display_name": "Anna", "password": PASSWORD},
        base_url="https://duet.test",
    )
    assert "Secure" in response.headers["Set-Cookie"]
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_https_is_recognised_behind_a_trusted_proxy(make_app):
    client = make_app(TRUST_PROXY=True).test_client()
    response = client.post(
        "/register",
        data={"email": "anna@example.com", "display_name": "Anna", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_post_without_csrf_token_is_refused(make_app):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post(
        "/register",
        data={"email": "anna@example.com", "display_name": "Anna", "password": PASSWORD},
    )
    assert response.status_code == 400
    assert "This form has expired" in response.text


def test_post_with_csrf_token_is_accepted(make_app):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    page = client.get("/register").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/register",
        data={
            "csrf_token": token,
            "email": "anna@example.com",
            "display_name": "Anna",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302


LIMITED = [
    ("/login", {"email": "anna@example.com", "password": "not the password"}),
    ("/register", {"email": "x@example.com", "display_name": "X", "password": "short"}),
    ("/forgot-password", {"email": "nobody@example.com"}),
]


@pytest.mark.parametrize(("path", "data"), LIMITED)
def test_rate_limits_in_memory(make_app, path, data):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    statuses = [client.post(path, data=data).status_code for _ in range(12)]
    assert statuses[0] in (200, 400)
    assert statuses[-1] == 429
    assert client.get(path).status_code == 200, "reading the page is never limited"


def test_joining_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_JOIN="3 per minute")
    client = app.test_client()
    client.post(
        "/register",
        data={"email": "bram@example.com", "display_name": "Bram", "password": PASSWORD},
    )
    statuses = [client.post("/couple/join", data={"code": "AAA-AAA"}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "too many tries" in client.post("/couple/join", data={"code": "A"}).text


def test_rate_limits_in_redis(make_app):
    try:
        redis.Redis(host="127.0.0.1", port=6379).ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = f"duet-test-{uuid.uuid4().hex}"
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
        RATELIMIT_KEY_PREFIX=prefix,
        RATELIMIT_LOGIN="3 per minute",
    )
    client = app.test_client()
    data = {"email": "anna@example.com", "password": "not the password"}
    statuses = [client.post("/login", data=data).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    server = redis.Redis(host="127.0.0.1", port=6379)
    keys = server.keys(f"*{prefix}*")
    assert keys, "the counters live in Redis"
    server.delete(*keys)


def test_language_follows_the_browser_then_the_visitor_choice(client):
    assert '<html lang="nl">' in client.get("/", headers={"Accept-Language": "nl-NL,nl"}).text
    assert '<html lang="en-GB">' in client.get("/", headers={"Accept-Language": "en-GB"}).text
    response = client.post("/language", data={"locale": "nl", "next": "/login"})
    assert response.location == "/login"
    page = client.get("/login", headers={"Accept-Language": "en-GB"}).text
    assert '<html lang="nl">' in page
    assert "Inloggen" in page


def test_language_switch_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post("/language", data={"locale": "nl", "next": target})
        assert response.location == "/"


def test_a_logged_in_persons_setting_beats_the_browser(person):
    anna = person("Anna")
    anna.post("/settings/profile", data={"display_name": "Anna", "locale": "nl"})
    page = anna.get("/", headers={"Accept-Language": "en-GB"}).text
    assert '<html lang="nl">' in page
    assert "Hoi Anna" in page


def test_pages_behind_login_are_not_cached(person):
    anna = person("Anna")
    assert anna.get("/settings").headers["Cache-Control"] == "no-store"
