"""Quick exit on a phone, as the person who is afraid would use it and as the partner who
picks up the phone afterwards would try to undo it (docs/safety.md).

Each way out (the button, Shift three times, the plain link without JavaScript) leaves for
the neutral page; afterwards Back, Back again and the home page show a signed-out page with
nothing of the check, its result or the note, and the old session cookie is refused.
"""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser.conftest import PHONE, live_app, serving
from tests.browser.pages import SUBMIT, expect, follow, open_page

pytestmark = pytest.mark.browser

NOTE = "I keep a bag packed at my sister's."
TEXTS = {
    "en": {"result": "Silence used to pressure or control", "login": "Log in"},
    "nl": {"result": "Stilte als drukmiddel", "login": "Inloggen"},
}


class NeutralPage(BaseHTTPRequestHandler):
    """Stands in for the neutral site quick exit leads to (a news or weather page)."""

    def do_GET(self):
        body = b"<!doctype html><title>Weather</title><p>Sunny spells.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def neutral_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), NeutralPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def live(request, tmp_path_factory, database_url_factory, neutral_site):
    """Duet with quick exit leading to the stand-in neutral site (another origin)."""
    app = live_app(request, tmp_path_factory, database_url_factory, QUICK_EXIT_URL=neutral_site)
    with serving(app) as base_url:
        app.config["PUBLIC_URL"] = base_url
        yield app, base_url


def take_the_check(signed_in, check, lang: str, name: str, javascript: bool = True):
    """Someone signed in takes the pattern check with a private note, and sees the result."""
    locale = "nl-NL" if lang == "nl" else "en-GB"
    page = signed_in(locale, f"{name}-{lang}@example.com", name.title(), javascript=javascript)
    check(page, f"exit-{name}-home-{lang}")
    open_page(page, "/reflection/pattern-check")
    for group in page.locator("main fieldset").all():
        group.locator('input[value="often"]').check()
    page.locator("#note").fill(NOTE)
    check(page, f"exit-{name}-check-{lang}")
    follow(page, SUBMIT)
    check(page, f"exit-{name}-result-{lang}")
    expect(page.locator("main")).to_contain_text(TEXTS[lang]["result"])
    return page


def expect_signed_out(page, check, name: str, lang: str):
    body = page.locator("body")
    expect(body).not_to_contain_text(NOTE)
    expect(body).not_to_contain_text(TEXTS[lang]["result"])
    expect(page.locator('form[action="/logout"]')).to_have_count(0)
    assert "pattern" not in page.url, f"the address still names the check: {page.url}"
    check(page, name)


def expect_nothing_comes_back(page, check, name: str, lang: str, cookies, base_url: str):
    expect(page).to_have_title("Weather")
    page.go_back()
    expect_signed_out(page, check, f"exit-{name}-back-{lang}", lang)
    expect(page.locator("main")).to_contain_text(TEXTS[lang]["login"])
    page.go_back()
    expect_signed_out(page, check, f"exit-{name}-back-twice-{lang}", lang)
    open_page(page, "/")
    expect_signed_out(page, check, f"exit-{name}-home-after-{lang}", lang)

    # The cookies the phone held before the exit, replayed in a browser of their own.
    replay = page.context.browser.new_context(**PHONE)
    try:
        replay.add_cookies(cookies)
        stolen = replay.new_page()
        response = stolen.goto(f"{base_url}/reflection/pattern-check/result")
        assert response.status == 200
        assert stolen.url == f"{base_url}/login", stolen.url
        expect(stolen.locator("body")).not_to_contain_text(NOTE)
        expect(stolen.locator("body")).not_to_contain_text(TEXTS["en"]["result"])
    finally:
        replay.close()


def session_cookies(page):
    cookies = page.context.cookies()
    assert any(cookie["name"] == "session" for cookie in cookies)
    return cookies


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_quick_exit_by_the_button(signed_in, check, live_server, neutral_site, lang):
    page = take_the_check(signed_in, check, lang, "button")
    cookies = session_cookies(page)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    with page.expect_navigation(url=neutral_site):
        page.locator("[data-quick-exit]").click()
    expect_nothing_comes_back(page, check, "button", lang, cookies, live_server)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_quick_exit_by_shift_three_times(signed_in, check, live_server, neutral_site, lang):
    page = take_the_check(signed_in, check, lang, "shift")
    cookies = session_cookies(page)
    status = page.locator("[data-quick-exit-status]")

    # Typing capitals in the note uses Shift with other keys: that never counts.
    open_page(page, "/reflection/prompts/what-i-feel")
    check(page, f"exit-shift-prompt-{lang}")
    page.locator("#text").type("ABC DEF")
    page.keyboard.press("Shift")
    expect(status).to_have_text(re.compile("2"))
    page.keyboard.press("Shift")
    expect(status).to_have_text(re.compile("1"))
    with page.expect_navigation(url=neutral_site):
        page.keyboard.press("Shift")
    expect_nothing_comes_back(page, check, "shift", lang, cookies, live_server)


def test_shift_with_other_keys_or_too_slowly_does_not_leave(signed_in, check):
    page = take_the_check(signed_in, check, "en", "typing")
    open_page(page, "/reflection/prompts/what-i-feel")
    check(page, "exit-typing-prompt-en")
    page.locator("#text").type("I FEEL TIRED AND I WANT TO TALK.")
    expect(page.locator("[data-quick-exit-status]")).to_have_text("")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    page.wait_for_timeout(5_300)  # longer than the 5 s between presses
    page.keyboard.press("Shift")
    expect(page.locator("[data-quick-exit-status]")).to_have_text(re.compile("2"))
    assert page.url.endswith("/reflection/prompts/what-i-feel")
    expect(page.locator("#text")).to_have_value("I FEEL TIRED AND I WANT TO TALK.")


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_quick_exit_without_javascript(signed_in, check, live_server, neutral_site, lang):
    page = take_the_check(signed_in, check, lang, "nojs", javascript=False)
    cookies = session_cookies(page)
    with page.expect_navigation(url=neutral_site):
        page.locator("[data-quick-exit]").click()
    expect_nothing_comes_back(page, check, "nojs", lang, cookies, live_server)


def test_quick_exit_is_the_first_tab_stop(new_context, check):
    page = new_context("en-GB").new_page()
    open_page(page, "/help")
    check(page, "exit-help-signed-out-en")
    page.keyboard.press("Tab")
    expect(page.locator("[data-quick-exit]")).to_be_focused()
    assert page.title() == "Duet"
