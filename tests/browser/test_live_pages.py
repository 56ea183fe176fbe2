"""Pages that move by themselves, on two phones: Anna in English, Bram in Dutch.

The invite page follows the partner home once they join; the start page follows the partner
into the agreement; the home page's "Where you both are" card shows what changed; the signing
page shows the partner's signature and then the final agreement; a page signed out elsewhere
shows the login page. What a person has typed or chosen is never lost or interrupted: a page
that would reload says so and waits instead.
"""

import re

import pytest

from tests.browser.couples import couple, person
from tests.browser.pages import PASSWORD, SUBMIT, agree_to_everything, expect, follow, open_page
from tests.browser.test_drafting import focused_id
from tests.browser.test_signing import draw_with_mouse, sign_here, start_and_agree

pytestmark = pytest.mark.browser

# The page polls every 2 s; under a loaded CI machine a page may take a few polls to move.
LIVE_MS = 10_000
MOVED_NL = "Er is iets veranderd op deze pagina. Laad de pagina opnieuw wanneer je zover bent."


def stay_put(page):
    """Mark the loaded document: the mark is gone after a reload."""
    page.evaluate("() => { window.__stayed = 1; }")


def expect_stayed(page):
    assert page.evaluate("() => window.__stayed") == 1, f"{page.url} was reloaded"


def together(page):
    return page.locator("#home-together")


def test_invite_page_follows_the_partner_home(signed_in, check):
    anna = person(signed_in, check, "en-GB", "anna.invite@example.com", "Anna", "live-invite")
    follow(anna, 'main form[action="/couple/new"] button')
    check(anna, "live-invite-en")
    code = anna.locator(".invite-code").inner_text()
    # Anna taps the link to copy it and leaves the focus there: a field that cannot be
    # typed in does not hold the page back.
    anna.locator("#invite-link").focus()

    bram = person(signed_in, check, "nl-NL", "bram.invite@example.com", "Bram", "live-invite")
    open_page(bram, "/couple/join")
    check(bram, "live-invite-join-nl")
    bram.locator("#code").fill(code)
    follow(bram, SUBMIT)

    # Anna's invite page moves on by itself: home, with the couple and where they stand.
    expect(anna).to_have_url(re.compile(r"/$"), timeout=LIVE_MS)
    expect(anna.locator("main")).to_contain_text("You and Bram are a couple in Duet.")
    expect(together(anna)).to_contain_text("Neither of you has started the agreement yet.")
    check(anna, "live-invite-joined-en")


def test_start_page_and_home_follow_the_partner(signed_in, check):
    anna, bram = couple(signed_in, check, "live-start")

    # Bram has three tabs open: home, the start page, and the start page with a choice made.
    home = bram
    open_page(home, "/")
    expect(together(home).locator("h2")).to_have_text("Waar jullie staan")
    expect(together(home)).to_contain_text("Jullie zijn nog niet aan de overeenkomst begonnen")
    check(home, "live-home-not-started-nl")
    stay_put(home)
    start = bram.context.new_page()
    open_page(start, "/agreement")
    check(start, "live-start-nl")
    choosing = bram.context.new_page()
    open_page(choosing, "/agreement")
    choosing.locator('input[name="language"][value="en"]').check()
    stay_put(choosing)

    # Anna starts the agreement.
    open_page(anna, "/agreement")
    anna.locator('input[name="language"][value="en"]').check()
    anna.locator('input[name="starter"][value="basic"]').check()
    follow(anna, SUBMIT)
    expect(anna.locator("#clause-list > li.clause")).to_have_count(6)
    check(anna, "live-start-agreement-en")

    # The untouched start page follows her into the agreement.
    expect(start.locator("#clause-list > li.clause")).to_have_count(6, timeout=LIVE_MS)
    check(start, "live-start-followed-nl")
    # The one with a choice made says what happened and keeps the choice.
    expect(choosing.locator("#live-moved p")).to_contain_text(MOVED_NL, timeout=LIVE_MS)
    expect(choosing.locator('input[name="language"][value="en"]')).to_be_checked()
    expect_stayed(choosing)
    check(choosing, "live-start-notice-nl")
    # Its button reloads the page when the person is ready: it is the agreement now.
    choosing.locator("#live-moved button").click()
    expect(choosing.locator("#clause-list > li.clause")).to_have_count(6, timeout=LIVE_MS)
    # The home card shows the agreement, in place.
    expect(together(home)).to_contain_text("Jij: 0 van de 6 goedgekeurd", timeout=LIVE_MS)
    expect(together(home)).to_contain_text("Anna: 0 van de 6 goedgekeurd")
    expect(together(home).get_by_role("link", name="Keur de 6 open afspraken goed")).to_be_visible()
    expect_stayed(home)
    check(home, "live-home-drafting-nl")

    # Anna agrees to everything and goes home; Bram agrees too, and both cards show it.
    agree_to_everything(anna)
    open_page(anna, "/")
    expect(together(anna)).to_contain_text("You: 6 of 6 agreed")
    expect(together(anna)).to_contain_text("You agree to every clause. Bram has 6 still open.")
    stay_put(anna)
    # Bram's drafting tab shows her five yeses before he adds his own.
    expect(start.locator("#clause-list .approvals li.yes")).to_have_count(6, timeout=LIVE_MS)
    # Bram looks at that tab (a tab in the background gets no animation frames, and clicks
    # there wait for the button to hold still).
    start.bring_to_front()
    agree_to_everything(start)
    expect(together(home)).to_contain_text(
        "Jullie zijn het over elke afspraak eens. Jullie kunnen nu ondertekenen.", timeout=LIVE_MS
    )
    expect_stayed(home)
    check(home, "live-home-agreed-nl")
    expect(together(anna)).to_contain_text(
        "You both agree to every clause. You can sign now.", timeout=LIVE_MS
    )
    expect(together(anna).get_by_role("link", name="Sign the agreement")).to_be_visible()
    expect_stayed(anna)
    check(anna, "live-home-agreed-en")


def test_signing_page_follows_the_partner(signed_in, check):
    anna, bram = couple(signed_in, check, "live-sign")
    start_and_agree(anna, bram)
    check(anna, "live-sign-agreement-en")
    check(bram, "live-sign-agreement-nl")
    open_page(anna, "/agreement/sign")
    check(anna, "live-sign-en")
    open_page(bram, "/agreement/sign")
    check(bram, "live-sign-nl")

    # Bram starts filling in his form and leaves it there, the caret in his name.
    draw_with_mouse(bram)
    bram.locator("#full_name").fill("Bram Jansen")
    assert focused_id(bram) == "full_name"
    stay_put(bram)

    # Anna signs: Bram's page shows it within seconds, and his form is as he left it.
    sign_here(anna, "Anna de Vries")
    expect(anna.locator("#signing-status")).to_contain_text("You have signed.")
    status = bram.locator("#signing-status")
    expect(status).to_contain_text(
        "Anna heeft ondertekend. Jouw handtekening is de laatste.", timeout=LIVE_MS
    )
    expect(status).to_contain_text("Anna koos")  # her review date, before Bram picks his
    expect(bram.locator("#full_name")).to_have_value("Bram Jansen")
    assert focused_id(bram) == "full_name", "the field Bram typed in lost its focus"
    expect(bram.locator("#signature")).to_have_value(re.compile("^data:image/png"))
    expect(bram.locator("#live-moved")).to_have_count(0)
    expect_stayed(bram)
    check(bram, "live-sign-partner-signed-nl")

    # Bram signs: Anna, who was waiting, sees the final agreement by herself.
    stay_put(anna)
    bram.locator("#agreed").check()
    bram.locator("#password").fill(PASSWORD)
    follow(bram, SUBMIT, timeout=60_000)  # the second signature seals the PDF
    assert bram.url.endswith("/agreements"), bram.url
    check(bram, "live-sign-final-nl")
    expect(anna).to_have_url(re.compile(r"/agreements$"), timeout=LIVE_MS)
    expect(anna.locator("ul.versions > li h2")).to_have_text("Version 1")
    check(anna, "live-sign-final-en")


def test_signed_out_page_shows_the_login_page(signed_in, check, new_context, visits):
    # Anna has made a couple and waits for Bram: her page polls on the fast path.
    anna = person(signed_in, check, "en-GB", "anna.out@example.com", "Anna", "live-out")
    follow(anna, 'main form[action="/couple/new"] button')
    check(anna, "live-out-invite-en")
    open_page(anna, "/agreement")
    check(anna, "live-out-waiting-en")

    # On her laptop she signs every other device out.
    laptop = new_context("en-GB", desktop=True).new_page()
    open_page(laptop, "/login")
    check(laptop, "live-out-laptop-login-en")
    laptop.locator("#email").fill("anna.out@example.com")
    laptop.locator("#password").fill(PASSWORD)
    follow(laptop, SUBMIT)
    check(laptop, "live-out-laptop-home-en")
    open_page(laptop, "/settings")
    follow(laptop, 'form[action="/settings/devices/sign-out-others"] button')
    expect(laptop.locator("main")).to_contain_text("Every other device is signed out.")

    # Her phone shows the login page by itself, not what it showed before.
    expect(anna).to_have_url(re.compile(r"/login"), timeout=LIVE_MS)
    expect(anna.locator("h1")).to_have_text("Log in")
    # The poll's 401 is how the phone learnt it; it is no failure of the page. (The phone
    # may poll before or after the laptop's page is checked: both are checked after it.)
    live_401 = [f for f in visits.failed_responses if re.fullmatch(r"401 \S+/live", f)]
    assert live_401 and live_401 == visits.failed_responses, visits.failed_responses
    visits.failed_responses.clear()
    check(laptop, "live-out-laptop-settings-en")
    check(anna, "live-out-phone-login-en")
