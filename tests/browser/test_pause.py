"""The pause on two phones: Anna (English) asks for one from her home page; Bram's open home
(Dutch) shows it with the return time without reloading; he sends one word; Anna needs more
time, then is ready, and Bram's pause page follows each step by itself."""

import time

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.couples import couple
from tests.browser.pages import expect, follow, open_page
from tests.integration.signing_helpers import finalise_through_services

pytestmark = pytest.mark.browser

LIVE_MS = 10_000


def fresh(page):
    """A new page in the same phone, the old one closed: it may reload by itself after the
    agreement was signed behind it through the services."""
    new = page.context.new_page()
    page.close()
    return new


def test_a_pause_on_both_phones(live, signed_in, check):
    app, _ = live
    anna, bram = couple(signed_in, check, "pause", tag="pauses")
    finalise_through_services(app, "anna.pauses@example.com")
    anna, bram = fresh(anna), fresh(bram)

    open_page(bram, "/")
    card = bram.locator("#home-pause")
    expect(card).to_contain_text("Even pauze nodig?")
    check(bram, "pause-home-nl")
    bram.evaluate("() => { window.__stayed = 1; }")

    open_page(anna, "/")
    expect(anna.locator("#home-pause")).to_contain_text("Your signal: “I need a pause”.")
    check(anna, "pause-home-en")
    asked = time.monotonic()
    follow(anna, "#home-pause form[action='/pause'] button")
    expect(anna.locator("h1")).to_have_text("You are taking a pause")
    expect(anna.locator("main")).to_contain_text("I need more time: 20 minutes more")
    check(anna, "pause-mine-en")

    # Bram's open home shows it, with the return time, without a reload.
    expect(card).to_contain_text("Anna vroeg om een pauze", timeout=LIVE_MS)
    seen = time.monotonic() - asked
    expect(card).to_contain_text("Terug om")
    assert bram.evaluate("() => window.__stayed") == 1, "Bram's home was reloaded"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "pause-latency.txt").write_text(
        f"From Anna's tap to Bram's screen (loopback, 2 s polls): {seen:.2f} s\n"
    )
    check(bram, "pause-home-asked-nl")

    # He opens it: what helps while waiting, and one word to send.
    follow(bram, "#home-pause a.button")
    expect(bram.locator("h1")).to_have_text("Anna vroeg om een pauze")
    expect(bram.locator("main")).to_contain_text("Ga er niet achteraan")
    expect(bram.get_by_role("button", name="Ik ben klaar om te praten")).to_have_count(0)
    check(bram, "pause-partner-nl")
    bram.get_by_label("Neem je tijd. Ik ben er.").check()
    follow(bram, "form[action$='/word'] button[type=submit]")
    expect(bram.locator("main")).to_contain_text("Je stuurde")

    # Anna's pause page shows his word by itself; she needs more time.
    expect(anna.locator("main")).to_contain_text("Bram sent you", timeout=LIVE_MS)
    follow(anna, "form[action$='/more'] button")
    expect(anna.locator("main")).to_contain_text("I need more time: An hour more")
    check(anna, "pause-more-en")

    # Ready: Bram's pause page follows by itself.
    follow(anna, "form[action$='/ready'] button")
    expect(anna.locator("h1")).to_have_text("You are back")
    check(anna, "pause-back-en")
    expect(bram.locator("h1")).to_have_text("Anna is klaar om te praten", timeout=LIVE_MS)
    check(bram, "pause-ready-nl")
