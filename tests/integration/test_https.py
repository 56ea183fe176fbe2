"""Forms behind a TLS-terminating proxy: CSRF's strict Referer check and the Referrer-Policy.

Over HTTPS Flask-WTF refuses a POST without a same-origin Referer, so the pages must let the
browser send one to this site (and to no other). The browser test in tests/browser/test_https.py
drives Chromium through a real nginx; these tests pin the HTTP contract.
"""

import re
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# What nginx adds in front of the app: the scheme the visitor used and their address.
THROUGH_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


@pytest.fixture
def proxied_app(make_app):
    return make_app(TRUST_PROXY=1, WTF_CSRF_ENABLED=True)


def csrf_token(client, path: str) -> str:
    page = client.get(path, headers=THROUGH_PROXY).text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def post_as_browser(client, path: str, data: dict, referer: str | None):
    """A form POST over HTTPS, with the Referer Chromium sends (None: the policy hid it)."""
    headers = dict(THROUGH_PROXY)
    if referer is not None:
        headers["Referer"] = referer
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data}, headers=headers)


def test_register_and_log_in_over_https_behind_a_proxy(proxied_app):
    anna = {"email": "anna@example.com", "password": PASSWORD}
    response = post_as_browser(
        proxied_app.test_client(),
        "/register",
        {**anna, "display_name": "Anna"},
        referer="https://localhost/register",
    )
    assert response.status_code == 302, response.text
    assert "Secure" in response.headers["Set-Cookie"]

    # Without a Referer the same form is refused over HTTPS: the policy must not hide it.
    client = proxied_app.test_client()
    refused = post_as_browser(client, "/login", anna, referer=None)
    assert refused.status_code == 400
    assert "This form has expired" in refused.text

    # Same-origin policy: Chromium sends the page's origin and path to this site.
    response = post_as_browser(client, "/login", anna, referer="https://localhost/login")
    assert response.status_code == 302, response.text
    assert client.get("/settings", headers=THROUGH_PROXY).status_code == 200


def test_referrer_policy_sends_the_referer_only_to_this_site(client):
    # same-origin: forms get their Referer over HTTPS, while invite and reset links (tokens
    # in the path) never reach another site in one.
    for path in ("/login", "/join/not-a-token", "/reset-password/not-a-token"):
        assert client.get(path).headers["Referrer-Policy"] == "same-origin", path


def test_links_to_other_sites_send_no_referrer():
    """Every link out (quick exit, help lines) says so itself too, whatever the page's policy."""
    outside = re.compile(r'<a\b[^>]*href="(?:https?:|\{\{ ?config\.)[^>]*>')
    links = [
        (template.name, tag)
        for template in TEMPLATES.rglob("*.html")
        for tag in outside.findall(template.read_text())
    ]
    assert links, "no links out found: the pattern no longer matches the templates"
    for name, tag in links:
        assert 'rel="noreferrer"' in tag, (name, tag)
