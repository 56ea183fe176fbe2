"""One round of errors, and signing without JavaScript, on phones.

Anna (English) and Bram (Dutch) each send the signing form empty, once: every problem shows
beside its field and in the error summary at the top, which has the focus; a link in the
summary moves the focus to its field with the field's label in view, below the quick-exit bar.
The pattern check and the registration page get the same summary. Then Anna signs on a phone
without JavaScript: no dead pad or Erase button, "type instead" is ticked, and typing works.
"""

import re

import pytest

from tests.browser.couples import couple
from tests.browser.pages import PASSWORD, SUBMIT, expect, follow, open_page
from tests.browser.test_signing import couple_agreeing, start_and_agree

pytestmark = pytest.mark.browser

SUMMARY = "[data-error-summary]"
SIGN_FIELDS = ["full_name", "typed", "agreed", "password"]


def summary_targets(page) -> list[str]:
    hrefs = page.locator(f"{SUMMARY} a").evaluate_all("(links) => links.map((a) => a.hash)")
    return [href.removeprefix("#") for href in hrefs]


def expect_in_view_below_the_bar(page, selector: str):
    """The element is on screen and not under the sticky quick-exit bar."""
    bar = page.locator(".quick-exit-bar").bounding_box()
    box = page.locator(selector).bounding_box()
    assert box is not None and box["y"] >= bar["y"] + bar["height"] - 1, (selector, box, bar)
    assert box["y"] + box["height"] <= page.viewport_size["height"], (selector, box)


def send_the_empty_sign_form(page, language: str):
    open_page(page, "/agreement/sign")
    follow(page, SUBMIT, status=400)
    summary = page.locator(SUMMARY)
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert summary_targets(page) == SIGN_FIELDS
    expect(summary.locator("a")).to_have_count(4)
    for field in ("full_name", "signature", "agreed", "password"):
        expect(page.locator(f"#{field}-error")).to_be_visible()
        expect(page.locator(f"#{field}-error")).not_to_be_empty()
    # The summary says the same as each field.
    for index, field in enumerate(("full_name", "signature", "agreed", "password")):
        expect(summary.locator("a").nth(index)).to_have_text(
            page.locator(f"#{field}-error").inner_text()
        )
    assert page.title().startswith("Error:" if language == "en" else "Fout:"), page.title()
    # The pad is shown (sign.js runs), and a fresh form started on drawing, not typing.
    expect(page.locator("canvas[data-signature-pad]")).to_be_visible()
    expect(page.locator("#typed")).not_to_be_checked()
    page.evaluate("window.scrollTo(0, 0)")


def test_one_round_of_errors_on_the_sign_form(signed_in, check, new_context):
    anna, bram = couple_agreeing(signed_in, check, prefix="errors")

    send_the_empty_sign_form(anna, "en")
    expect(anna.locator(SUMMARY + " h2")).to_have_text("There is a problem")
    check(anna, "errors-sign-en")

    # A link moves the focus to its field, the label in view below the quick-exit bar.
    anna.locator(SUMMARY).scroll_into_view_if_needed()
    anna.locator(f'{SUMMARY} a[href="#password"]').click()
    expect(anna.locator("#password")).to_be_focused()
    expect_in_view_below_the_bar(anna, 'label[for="password"]')
    anna.evaluate("window.scrollTo(0, 0)")
    anna.locator(f'{SUMMARY} a[href="#typed"]').click()
    expect(anna.locator("#typed")).to_be_focused()
    expect_in_view_below_the_bar(anna, "#signature-label")
    expect_in_view_below_the_bar(anna, "canvas[data-signature-pad]")

    send_the_empty_sign_form(bram, "nl")
    expect(bram.locator(SUMMARY + " h2")).to_have_text("Er is een probleem")
    check(bram, "errors-sign-nl")
    bram.evaluate("window.scrollTo(0, 0)")
    bram.locator(f'{SUMMARY} a[href="#full_name"]').click()
    expect(bram.locator("#full_name")).to_be_focused()
    expect_in_view_below_the_bar(bram, 'label[for="full_name"]')

    # The pattern check: each line of the summary names its statement.
    open_page(anna, "/reflection/pattern-check")
    check(anna, "errors-pattern-check-before-en")
    follow(anna, SUBMIT, status=400)
    expect(anna.locator(SUMMARY)).to_be_focused()
    links = anna.locator(f"{SUMMARY} a")
    expect(links).to_have_count(anna.locator("fieldset.field-error").count())
    expect(links.first.locator(".error-summary-question")).not_to_be_empty()
    check(anna, "errors-pattern-check-en")
    anna.evaluate("window.scrollTo(0, 0)")
    links.last.click()
    target = summary_targets(anna)[-1]
    expect(anna.locator(f"#{target}")).to_be_focused()
    legend = anna.locator(f"fieldset:has(#{target}) legend")
    expect(legend).to_be_in_viewport()

    # Registration, on a phone that is not signed in.
    visitor = new_context("nl-NL").new_page()
    open_page(visitor, "/register")
    check(visitor, "errors-register-before-nl")
    follow(visitor, SUBMIT, status=400)
    expect(visitor.locator(SUMMARY)).to_be_focused()
    assert summary_targets(visitor) == ["email", "display_name", "password"]
    check(visitor, "errors-register-nl")


def test_signing_without_javascript_is_typing(signed_in, check, new_context):
    anna, bram = couple(signed_in, check, "nojs")
    start_and_agree(anna, bram)
    check(anna, "nojs-agreed-en")
    check(bram, "nojs-agreed-nl")
    # Anna's phone again, now with JavaScript switched off: the same session.
    phone = new_context("en-GB", storage_state=anna.context.storage_state(), javascript=False)
    page = phone.new_page()
    open_page(page, "/agreement/sign")
    expect(page.locator("canvas[data-signature-pad]")).to_be_hidden()
    expect(page.locator("[data-erase]")).to_be_hidden()
    expect(page.locator("#typed")).to_be_checked()
    expect(page.locator(".signature-field")).to_contain_text("your typed name is your signature")
    check(page, "sign-nojs-en")

    page.locator("#full_name").fill("Anna Maria de Vries")
    page.locator("#agreed").check()
    page.locator("#password").fill(PASSWORD)
    follow(page, SUBMIT)
    assert re.search(r"/agreement/sign$", page.url), page.url
    expect(page.locator("main")).to_contain_text("You have signed.")
    expect(page.locator(".signature-status li")).to_have_count(1)
