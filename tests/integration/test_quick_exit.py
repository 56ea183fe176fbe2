"""Quick exit as the server sees it: the session ends, the browser is told to drop what Duet
stored, and nothing on the way back names a private page (docs/safety.md)."""

import re

import pytest

from app.content import load_library
from tests.conftest import PASSWORD
from tests.unit.test_content import AGREEMENTS

LIBRARY = load_library(AGREEMENTS)
SENSITIVE = ["/reflection/pattern-check", "/reflection/pattern-check/result", "/help"]


def take_check(someone, answer: str = "often", note: str = "Only for me.") -> None:
    data = {"note": note}
    for statement in LIBRARY.pattern_check.statements:
        data[f"statement_{statement.id}"] = answer
    assert someone.post("/reflection/pattern-check", data=data).status_code == 302


def test_exit_ends_the_session_and_clears_the_site(person, app):
    anna = person("Anna")
    take_check(anna)
    response = anna.get("/exit")
    assert response.status_code == 303
    assert response.location == app.config["QUICK_EXIT_URL"]
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert response.headers["Cache-Control"] == "no-store"
    assert anna.client.get_cookie("session") is None
    result = anna.get("/reflection/pattern-check/result")
    assert result.status_code == 302
    assert result.location.startswith("/login")


def test_the_old_session_cookie_replayed_is_refused(person, app):
    anna = person("Anna")
    take_check(anna, note="A note nobody else reads.")
    old_cookie = anna.client.get_cookie("session").value
    assert anna.get("/exit").status_code == 303

    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    for path in ["/", "/reflection", "/reflection/pattern-check/result", "/settings"]:
        response = replay.get(path, follow_redirects=True)
        assert response.status_code == 200
        assert 'action="/logout"' not in response.text, f"{path} is still signed in"
        assert "A note nobody else reads." not in response.text
        assert "Silence used to pressure" not in response.text


def test_exit_signs_out_this_device_only(person, app):
    anna = person("Anna")
    laptop = app.test_client()
    signed_in = laptop.post("/login", data={"email": anna.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    assert anna.get("/exit").status_code == 303
    assert anna.get("/reflection").status_code == 302
    assert laptop.get("/reflection").status_code == 200


def test_exit_works_signed_out_and_without_a_session(client, app):
    response = client.get("/exit")
    assert response.status_code == 303
    assert response.location == app.config["QUICK_EXIT_URL"]
    assert "Clear-Site-Data" in response.headers


def test_exit_is_never_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
    client = app.test_client()
    assert [client.get("/exit").status_code for _ in range(5)] == [303] * 5


def test_login_address_never_names_the_private_page(person):
    anna = person("Anna")
    take_check(anna)
    anna.get("/exit")
    response = anna.get("/reflection/pattern-check/result")
    assert response.status_code == 302
    assert response.location == "/login"
    assert "pattern" not in response.location
    # The person herself, logging in again, still lands where she was.
    assert anna.login().location == "/reflection/pattern-check/result"


@pytest.mark.parametrize("path", SENSITIVE)
def test_sensitive_pages_have_a_neutral_title(person, path):
    anna = person("Anna")
    take_check(anna)
    page = anna.get(path).text
    assert re.search(r"<title>\s*Duet\s*</title>", page), path


def test_every_page_starts_with_the_quick_exit(person, client):
    anna = person("Anna")
    take_check(anna)
    pages = [anna.get(path) for path in ["/", "/reflection", "/settings", *SENSITIVE]]
    pages += [client.get(path) for path in ["/", "/login", "/register", "/help", "/verify"]]
    pages.append(client.get("/no-such-page"))
    for response in pages:
        body = response.text.split("<body", 1)[1]
        first_control = re.search(r"<(a|button|input|select|textarea)\b[^>]*>", body).group(0)
        assert "data-quick-exit" in first_control, response.request.path
        assert 'href="/exit"' in first_control


def test_every_page_is_kept_out_of_caches(person, client):
    anna = person("Anna")
    for response in [client.get("/help"), client.get("/"), anna.get("/reflection")]:
        assert response.headers["Cache-Control"] == "no-store", response.request.path


def test_the_help_page_says_what_quick_exit_cannot_do(client):
    page = client.get("/help").text
    assert "Shift key three times" in page
    assert "does not remove Duet from your browser" in page and "history list" in page
    assert "History" in page
    assert "told only that your link in Duet has ended" in page
    assert "couples therapist can help" not in page


def test_the_delete_page_says_the_partner_is_not_told_why(person):
    page = person("Anna").get("/settings/delete").text
    assert "told only that your link in Duet has ended, not why" in page
