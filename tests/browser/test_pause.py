"""The pause on two phones: Anna (English) asks for one from her home page; Bram's open home
(Dutch) shows it with the return time without reloading; he sends one word; Anna needs more
time, then is ready, and Bram's pause page follows each step by itself."""

import time

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.couples import couple
from tests.browser.pages import expect, follow, fresh, open_page
from tests.integration.signing_helpers import finalise_through_services

pytestmark = pytest.mark.browser

LIVE_MS = 10_000


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

    # The way back: both open it; Anna writes a gentle start, reads it, and shares it.
    follow(bram, "main a.button[href='/pause/talk']")
    expect(bram.locator("h1")).to_have_text("Terug in gesprek")
    check(bram, "pause-talk-nl")
    open_page(anna, "/")  # her home offers the way back too
    expect(anna.locator("#home-pause")).to_contain_text("Prepare a gentle start")
    check(anna, "pause-home-back-en")
    follow(anna, "#home-pause a[href='/pause/talk']")
    expect(anna.locator("h1")).to_have_text("Back into the talk")
    expect(anna.locator("main")).to_contain_text("Talk by tomorrow at")
    check(anna, "pause-talk-en")
    anna.get_by_label("I feel …").fill("lonely")
    anna.get_by_label("about …").fill("the evening we did not speak")
    anna.get_by_label("and I need …").fill("a hug before we talk")
    follow(anna, "form[action$='/start'] button")
    sentence = "I feel lonely about the evening we did not speak and I need a hug before we talk."
    expect(anna.locator("blockquote")).to_have_text(sentence)
    check(anna, "pause-talk-read-en")
    expect(bram.locator("main")).not_to_contain_text("the evening we did not speak")
    follow(anna, "form[action$='/start/share'] button")
    expect(anna.locator("main")).to_contain_text("You shared:")

    # Bram's open page shows it by itself, and he says who starts; Anna's page follows.
    expect(bram.locator("main")).to_contain_text(sentence, timeout=LIVE_MS)
    follow(bram, "form[action$='/starter']:has(input[value='partner']) button")
    expect(bram.locator("main")).to_contain_text("Anna begint. Jij luistert eerst.")
    check(bram, "pause-talk-shared-nl")
    expect(anna.locator("main")).to_contain_text("You start. Bram listens first.", timeout=LIVE_MS)
    check(anna, "pause-talk-starter-en")
