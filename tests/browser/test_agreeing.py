"""Agreeing without page loads, on two phones: Anna in English with JavaScript, Bram in Dutch
without it.

Anna's "I agree" and "Withdraw my yes" change the clause in place: no page load, the clause
stays where it was on her screen, focus moves to its new button and a status line says what
happened. "Agree to the remaining N" opens the list to confirm under the summary and agrees
to exactly those. Bram, without JavaScript, does the same through the confirmation page.
"""

import re

import pytest

from tests.browser.couples import couple
from tests.browser.pages import SUBMIT, expect, follow, open_page

pytestmark = pytest.mark.browser

LIVE_MS = 10_000


def no_reload_mark(page):
    page.evaluate("() => { window.__stayed = 1; }")


def expect_stayed(page):
    assert page.evaluate("() => window.__stayed") == 1, "the page was loaded again"


def screen_top(page, selector: str) -> float:
    return page.locator(selector).evaluate("(e) => e.getBoundingClientRect().top")


def test_agreeing_in_place_and_to_the_rest(signed_in, check, new_context):
    anna, bram = couple(signed_in, check, "agreeing", tag="agrees")
    open_page(anna, "/agreement")
    anna.locator('input[name="language"][value="en"]').check()
    anna.locator('input[name="starter"][value="basic"]').check()
    follow(anna, SUBMIT)
    clauses = anna.locator("#clause-list > li.clause")
    expect(clauses).to_have_count(6)
    no_reload_mark(anna)

    # --- "I agree" on the third clause, scrolled to the middle of the screen.
    third = clauses.nth(2)
    card = f"#{third.get_attribute('id')}"
    title = third.locator("h3").inner_text()
    anna.locator(card).evaluate("(e) => e.scrollIntoView({block: 'center'})")
    before = screen_top(anna, card)
    anna.locator(f'{card} form[action*="/approve"] button').click()
    expect(anna.locator(f'{card} form[action*="/withdraw"] button')).to_be_visible()
    expect(anna.locator("#drafting-status")).to_have_text(f"You agreed to “{title}”.")
    expect(anna.locator(f"{card} .approvals li.yes")).to_have_text("Anna agrees")
    expect(anna.locator("#summary")).to_contain_text("You: 1 of 6 agreed")
    expect(anna.locator("#summary")).to_contain_text("Bram: 0 of 6 agreed")
    assert abs(screen_top(anna, card) - before) < 2, "the clause moved on the screen"
    expect(anna.locator(f'{card} form[action*="/withdraw"] button')).to_be_focused()
    expect_stayed(anna)
    # Bram's open page hears it through the live channel.
    open_page(bram, "/agreement")
    expect(bram.locator("#summary")).to_contain_text("Anna: 1 van de 6 goedgekeurd")
    check(bram, "agreeing-partner-nl")

    # --- Withdrawing, in place too.
    anna.locator(f'{card} form[action*="/withdraw"] button').click()
    expect(anna.locator(f'{card} form[action*="/approve"] button')).to_be_focused()
    expect(anna.locator("#drafting-status")).to_have_text(f"You withdrew your yes to “{title}”.")
    expect(anna.locator("#summary")).to_contain_text("You: 0 of 6 agreed")
    expect(bram.locator("#summary")).to_contain_text(
        "Anna: 0 van de 6 goedgekeurd", timeout=LIVE_MS
    )
    expect_stayed(anna)

    # --- "Agree to the remaining 6": the list opens under the summary; "Not yet" closes it.
    anna.get_by_role("link", name="Agree to the remaining 6 clauses").click()
    confirm = anna.locator("#agree-rest")
    expect(confirm.get_by_role("heading", name="Agree to the rest")).to_be_focused()
    expect(confirm.locator(".agree-rest-list > li")).to_have_count(6)
    expect(confirm).to_contain_text("You say yes to these 6 clauses, exactly as written here:")
    check(anna, "agreeing-rest-open-en")
    confirm.get_by_role("link", name="Not yet").click()
    expect(confirm).to_have_count(0)
    expect(anna.get_by_role("link", name="Agree to the remaining 6 clauses")).to_be_focused()
    anna.get_by_role("link", name="Agree to the remaining 6 clauses").click()
    confirm.get_by_role("button", name="I agree to these 6 clauses").click()
    expect(anna.locator("#drafting-status")).to_have_text("You agreed to 6 more clauses.")
    expect(confirm).to_have_count(0)
    expect(anna.locator("#summary")).to_contain_text("You: 6 of 6 agreed")
    expect(anna.locator("#summary")).to_contain_text(
        re.compile(r"You agree to every clause\. Now Bram reads them too:")
    )
    expect(anna.locator("#summary")).to_be_focused()
    expect(anna.locator("#clause-list form[action*='/approve']")).to_have_count(0)
    expect_stayed(anna)
    check(anna, "agreeing-mine-done-en")

    # --- Bram, without JavaScript: the same through the confirmation page.
    state = bram.context.storage_state()
    plain = new_context("nl-NL", storage_state=state, javascript=False).new_page()
    open_page(plain, "/agreement")
    expect(plain.locator("#summary")).to_contain_text("Anna: 6 van de 6 goedgekeurd")
    follow(plain, "#agree-rest-link")
    assert plain.url.endswith("/agreement/agree-to-the-rest"), plain.url
    expect(plain.locator("h1")).to_have_text("De rest goedkeuren")
    expect(plain.locator(".agree-rest-list > li")).to_have_count(6)
    check(plain, "agreeing-rest-page-nl")
    follow(plain, "#agree-rest button[type=submit]")
    assert plain.url.endswith("/agreement#summary"), plain.url
    expect(plain.locator("#summary")).to_contain_text(
        "Jullie gaan allebei akkoord met elke afspraak."
    )
    check(plain, "agreeing-both-nl")
    # Anna's page hears that they are done, and leads to signing.
    expect(anna.locator("#summary")).to_contain_text(
        "You both agree to every clause.", timeout=LIVE_MS
    )
    expect_stayed(anna)
