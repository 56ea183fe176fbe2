"""Drafting the agreement together, live, on two phones: Anna in English, Bram in Dutch.

Anna starts from the basic starter; Bram's open page picks up her new clause without a
reload; a clause Anna is typing in survives Bram's change to another clause, which takes
Anna's yes away live; two edits of one clause end in a 409 that keeps Anna's words; and in
the end both agree to every clause.
"""

import re

import pytest

from tests.browser.couples import couple
from tests.browser.pages import SUBMIT, agree_to_everything, expect, follow, open_page

pytestmark = pytest.mark.browser

# The page polls every 2 s; under a loaded CI machine a page may take a few polls to move.
LIVE_MS = 10_000
TYPED = "my typed words"


def clause(page, title: str):
    """The clause card with this title (the agreement is in English for both of them)."""
    return page.locator("#clause-list > li.clause").filter(
        has=page.locator("h3", has_text=re.compile(f"^{re.escape(title)}$"))
    )


def clause_id(page, title: str) -> str:
    card = clause(page, title)
    expect(card).to_have_count(1)
    return card.get_attribute("id").removeprefix("clause-")


def chip(page, title: str, name: str):
    """The approval chip of one partner on one clause."""
    return clause(page, title).locator(".approvals li", has_text=name)


def approve(page, title: str):
    """Agree to one clause, in place: its button turns into "Withdraw my yes"."""
    card = page.locator(f"#clause-{clause_id(page, title)}")
    card.locator('form[action*="/approve"] button').click()
    expect(card.locator('form[action*="/withdraw"] button')).to_be_visible()


def open_edit(page, title: str):
    card = clause(page, title)
    card.locator("details.clause-edit > summary").click()
    expect(card.locator("details.clause-edit")).to_have_attribute("open", "")
    return card


def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


def test_drafting_together_live(signed_in, check):
    anna, bram = couple(signed_in, check, "draft", tag="drafts")

    # --- 1. Both see the start page; Anna starts from the basic starter in English.
    open_page(anna, "/agreement")
    check(anna, "draft-start-en")
    expect(anna.locator('input[name="language"][value="en"]')).to_be_checked()
    expect(anna.locator('input[name="starter"][value="basic"]')).to_be_checked()
    open_page(bram, "/agreement")
    check(bram, "draft-start-nl")
    expect(bram.locator('input[name="language"][value="nl"]')).to_be_checked()
    # Bram chooses an empty agreement: a page with a choice made waits for him rather than
    # reloading when Anna starts.
    bram.locator('input[name="starter"][value=""]').check()

    anna.locator('input[name="language"][value="en"]').check()
    anna.locator('input[name="starter"][value="basic"]').check()
    follow(anna, SUBMIT)
    assert anna.url.endswith("/agreement"), anna.url
    expect(anna.locator("#clause-list > li.clause")).to_have_count(6)
    expect(anna.locator("#summary")).to_contain_text("0 of 6 clauses agreed by both of you.")

    # Bram, still on the start page, presses start too: he joins Anna's agreement rather
    # than starting a second one, and it stays in the language and clauses Anna chose.
    follow(bram, SUBMIT)
    assert bram.url.endswith("/agreement"), bram.url
    expect(bram.locator("#clause-list > li.clause")).to_have_count(6)
    expect(bram.locator("#agreement-language")).to_have_value("en")
    expect(clause(bram, "A pause has an end")).to_be_visible()
    bram.evaluate("() => { window.__noReload = 1; }")

    # --- 2. Anna adds "No blaming" from the library; Bram's page shows it without a reload.
    group = anna.locator("#library details.template-group").filter(
        has=anna.locator('input[name="template"][value="no-blaming"]')
    )
    group.locator("summary").click()
    follow(anna, '#library form:has(input[name="template"][value="no-blaming"]) button')
    expect(clause(anna, "No blaming")).to_be_visible()
    expect(clause(bram, "No blaming")).to_be_visible(timeout=LIVE_MS)
    expect(bram.locator("#summary")).to_contain_text(re.compile(r"\b0 van de 7\b"))
    expect(
        bram.locator('#library form:has(input[name="template"][value="no-blaming"])')
    ).to_have_count(0)
    assert bram.evaluate("() => window.__noReload") == 1, "Bram's page was reloaded"

    # --- 4 (first half). Anna agrees to "A pause has an end"; Bram agrees to it and more.
    approve(anna, "A pause has an end")
    expect(chip(anna, "A pause has an end", "Anna")).to_have_class("yes")
    expect(chip(bram, "A pause has an end", "Anna")).to_have_class("yes", timeout=LIVE_MS)
    assert bram.evaluate("() => window.__noReload") == 1, "Bram's page was reloaded"
    approve(bram, "A pause has an end")
    approve(bram, "No blaming")
    expect(chip(bram, "A pause has an end", "Bram")).to_have_class("yes")
    expect(chip(bram, "A pause has an end", "Anna")).to_have_class("yes")
    expect(bram.locator("#summary")).to_contain_text(re.compile(r"\b1 van de 7\b"))
    check(bram, "draft-agreement-some-approvals-nl")
    expect(chip(anna, "No blaming", "Bram")).to_have_class("yes", timeout=LIVE_MS)
    expect(anna.locator("#summary")).to_contain_text("1 of 7 clauses agreed by both of you.")
    check(anna, "draft-agreement-some-approvals-en")

    # --- 3. Anna types in "Tell me you need space" without saving ...
    space = clause_id(anna, "Tell me you need space")
    pause = clause_id(anna, "A pause has an end")
    open_edit(anna, "Tell me you need space")
    signal = anna.locator(f"#c{space}-signal")
    signal.fill(TYPED)
    assert focused_id(anna) == f"c{space}-signal"

    # ... while Bram sets the pause to 45 minutes and saves.
    open_edit(bram, "A pause has an end")
    bram.locator(f"#c{pause}-minutes").fill("45")
    check(bram, "draft-edit-open-nl")
    follow(bram, f'#clause-{pause} form[action*="/params"] button[type="submit"]')
    expect(clause(bram, "A pause has an end").locator(".clause-text")).to_contain_text("45")
    expect(chip(bram, "A pause has an end", "Bram")).to_have_class("not-yet")

    # Anna's page shows the new value within 3 s; her own words and her caret are untouched.
    pause_text = clause(anna, "A pause has an end").locator(".clause-text")
    expect(pause_text).to_contain_text("at most 45 minutes", timeout=LIVE_MS)
    # --- 4 (second half). A changed clause is a new clause: Anna's yes is gone, live.
    expect(chip(anna, "A pause has an end", "Anna")).to_have_class("not-yet")
    expect(chip(anna, "A pause has an end", "Bram")).to_have_class("not-yet")
    expect(clause(anna, "A pause has an end").locator('form[action*="/approve"]')).to_have_count(1)
    expect(anna.locator("#summary")).to_contain_text("0 of 7 clauses agreed by both of you.")
    expect(signal).to_have_value(TYPED)
    assert focused_id(anna) == f"c{space}-signal", "the field Anna typed in lost its focus"
    expect(clause(anna, "Tell me you need space").locator(".live-note")).to_have_count(0)
    # Her kept form still works: saving it changes the clause for both.
    follow(anna, f'#clause-{space} form[action*="/params"] button[type="submit"]')
    expect(clause(anna, "Tell me you need space").locator(".clause-text")).to_contain_text(TYPED)
    expect(clause(bram, "Tell me you need space").locator(".clause-text")).to_contain_text(
        TYPED, timeout=LIVE_MS
    )

    # --- 6. A 409: both edit "We talk about what happened" from the same version.
    talk = clause_id(anna, "We talk about what happened")
    open_edit(anna, "We talk about what happened")
    open_edit(bram, "We talk about what happened")
    anna.locator(f"#c{talk}-hours").fill("12")
    bram.locator(f"#c{talk}-hours").fill("6")
    follow(bram, f'#clause-{talk} form[action*="/params"] button[type="submit"]')
    # Anna's page sees Bram's change but keeps her unsaved form, with a note.
    talk_card = clause(anna, "We talk about what happened")
    expect(talk_card.locator(".live-note")).to_contain_text(
        "Bram changed this clause while you were typing", timeout=LIVE_MS
    )
    expect(anna.locator(f"#c{talk}-hours")).to_have_value("12")
    follow(anna, f'#clause-{talk} form[action*="/params"] button[type="submit"]', status=409)
    check(anna, "draft-conflict-en")
    talk_card = clause(anna, "We talk about what happened")
    expect(talk_card.locator(".conflict")).to_contain_text(
        "Bram changed this clause while you were editing."
    )
    expect(talk_card.locator(".clause-text")).to_contain_text("within 6 hours")
    expect(talk_card.locator("details.clause-edit")).to_have_attribute("open", "")
    expect(anna.locator(f"#c{talk}-hours")).to_have_value("12")
    # Saving again now uses Anna's value.
    follow(anna, f'#clause-{talk} form[action*="/params"] button[type="submit"]')
    expect(clause(anna, "We talk about what happened").locator(".clause-text")).to_contain_text(
        "within 12 hours"
    )

    # --- 5. Both agree to every clause; Anna's open page sees the end without a reload.
    agree_to_everything(anna)
    anna.evaluate("() => { window.__noReload = 1; }")
    bram.reload()  # so every "I agree" carries the version Anna's last save made
    agree_to_everything(bram)
    expect(bram.locator("#summary")).to_contain_text(
        "Jullie gaan allebei akkoord met elke afspraak."
    )
    expect(bram.locator("#clause-list .approvals li.not-yet")).to_have_count(0)
    check(bram, "draft-agreed-nl")
    expect(anna.locator("#summary")).to_contain_text(
        "You both agree to every clause.", timeout=LIVE_MS
    )
    expect(anna.locator("#clause-list .approvals li.not-yet")).to_have_count(0)
    assert anna.evaluate("() => window.__noReload") == 1, "Anna's page was reloaded"
    check(anna, "draft-agreed-en")
