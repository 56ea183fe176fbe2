"""The verify page in a browser: a file built to be expensive to check gets a calm answer,
in English and in Dutch, and the page stays accessible."""

import pytest

from tests import crafted_pdfs as crafted
from tests.browser.conftest import RENDER_TIMEOUT_MS
from tests.browser.pages import SUBMIT, expect, follow, open_page

pytestmark = pytest.mark.browser

# Far more form entries than a Duet agreement has: refused before any signature is parsed.
HOSTILE = {
    "name": "agreement.pdf",
    "mimeType": "application/pdf",
    "buffer": crafted.integer_fields(300 * 1024),
}


@pytest.mark.parametrize(
    ("locale", "heading"),
    [
        ("en-GB", "This file could not be checked"),
        ("nl-NL", "We konden dit bestand niet controleren"),
    ],
)
def test_a_hostile_file_gets_a_calm_answer(new_context, check, locale, heading):
    page = new_context(locale).new_page()
    open_page(page, "/verify")
    page.set_input_files("#document", HOSTILE)
    # The check runs in a process of its own (up to VERIFY_TIMEOUT_SECONDS): on a busy
    # machine that takes longer than the default wait for a page.
    follow(page, SUBMIT, status=422, timeout=RENDER_TIMEOUT_MS)
    result = page.locator(".verify-result")
    expect(result).to_have_class("card verify-result verify-uncheckable")
    expect(result.locator("h2")).to_contain_text(heading)
    check(page, f"verify-uncheckable-{locale[:2]}")
