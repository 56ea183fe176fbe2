"""Reflection on two phones: private answers, sharing one, autosave through a dropped
connection, the pattern check and the help page (quick exit: test_quick_exit.py)."""

import re

import pytest

from tests.browser.couples import couple, person
from tests.browser.pages import SUBMIT, expect, follow, open_page

pytestmark = pytest.mark.browser


def test_private_answers_one_shared_and_unshared(signed_in, check):
    anna, bram = couple(signed_in, check, "reflect")
    follow(anna, "header .brand")
    follow(anna, '#home-steps a[href="/reflection"]')
    check(anna, "reflection-en")
    expect(anna.locator("main")).to_contain_text("0 of 4 answered")

    follow(anna, "main .themes .button >> nth=0")
    check(anna, "prompt-en")
    answer = anna.locator("#text")
    answer.fill("It started when I kept talking while Bram had gone quiet.")
    expect(anna.locator("#save-status")).to_have_text("Saved")
    anna.reload()
    expect(answer).to_have_value(re.compile("kept talking"))

    follow(anna, 'main button[name="save_next"]')
    check(anna, "prompt-second-en")
    second = anna.url
    anna.locator("#text").fill("I want to say when I need a pause. This one is for Bram.")
    follow(anna, 'main button[name="save"]')
    # Sharing first shows what Bram will read, and asks once.
    follow(anna, 'main a[href$="/share"]')
    check(anna, "share-preview-en")
    expect(anna.locator("h1")).to_have_text("Share this answer with Bram?")
    expect(anna.locator(".shared-answer")).to_contain_text("This one is for Bram")
    follow(anna, 'main form[action$="/share"] button')
    check(anna, "prompt-shared-en")
    expect(anna.locator(".sharing")).to_contain_text("Bram can read this answer")

    open_page(bram, "/reflection")
    check(bram, "reflection-shared-nl")
    shared = bram.locator(".shared-answer")
    expect(shared).to_have_count(1)
    expect(shared).to_contain_text("This one is for Bram")
    expect(shared).to_contain_text("Gedeeld door Anna")
    expect(bram.locator("main")).not_to_contain_text("kept talking")

    anna.goto(second)
    follow(anna, 'main form[action$="/unshare"] button')
    expect(anna.locator("main")).to_contain_text("Your partner may already have read it.")
    bram.reload()
    expect(bram.locator(".shared-answer")).to_have_count(0)
    expect(bram.locator("main")).not_to_contain_text("This one is for Bram")


def test_a_dropped_connection_loses_nothing(signed_in, check):
    page = person(signed_in, check, "en-GB", "offline@example.com", "Olly", "reflect")
    open_page(page, "/reflection/prompts/what-i-feel")
    check(page, "prompt-offline-start-en")
    page.context.set_offline(True)
    page.locator("#text").fill("Words typed on a train through a tunnel.")
    status = page.locator("#save-status")
    expect(status).to_contain_text("the connection dropped")
    expect(page.locator("#text")).to_have_value("Words typed on a train through a tunnel.")
    page.context.set_offline(False)
    expect(status).to_have_text("Saved", timeout=8000)
    page.reload()
    expect(page.locator("#text")).to_have_value("Words typed on a train through a tunnel.")


def test_pattern_check_and_help_page(signed_in, check):
    control = {"en": "Silence used to pressure or control", "nl": "Stilte als drukmiddel"}
    for locale, lang in (("en-GB", "en"), ("nl-NL", "nl")):
        page = person(signed_in, check, locale, f"check-{lang}@example.com", "Sam", "reflect")
        open_page(page, "/reflection/pattern-check")
        check(page, f"pattern-check-{lang}")
        for group in page.locator("main fieldset").all():
            group.locator('input[value="often"]').check()
        page.locator("#note").fill("Just for me.")
        follow(page, SUBMIT)
        check(page, f"pattern-result-{lang}")
        # "Often" everywhere, also on going quiet oneself: control weighs first.
        expect(page.locator("h1")).to_have_text(control[lang])
        expect(page.locator("main")).to_contain_text("0800-2000")
        follow(page, 'main a[href="/help"]')
        check(page, f"help-{lang}")
