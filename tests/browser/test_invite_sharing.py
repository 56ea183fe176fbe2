"""Passing the invite on from a phone: Copy puts the link on the clipboard and says so,
Share opens the phone's share sheet with the link and the code (and is there only where the
browser has one), and a QR code of the link is there to scan in the same room. Without
JavaScript the read-only field stays and neither button shows."""

import pytest

from tests.browser.couples import person
from tests.browser.pages import expect, follow, open_page

pytestmark = pytest.mark.browser

# A stand-in for the phone's share sheet, which headless Chromium does not have: it keeps
# what the page asked to share.
FAKE_SHARE_SHEET = """
navigator.share = async (data) => { window.__shared = data; };
"""


def invite(signed_in, check, locale: str, email: str, name: str, share_sheet: bool = False):
    """A phone signed in as a new person (home checked as `invite-share-home-<name>-<language>`),
    on the invite page of a new couple."""
    page = person(signed_in, check, locale, email, name, "invite-share")
    if share_sheet:
        page.context.add_init_script(FAKE_SHARE_SHEET)
    follow(page, 'main form[action="/couple/new"] button')
    return page


def expect_tall_enough(page, selector: str):
    controls = page.locator(selector)
    assert controls.count() > 0, selector
    for index in range(controls.count()):
        control = controls.nth(index)
        if control.is_visible():
            box = control.bounding_box()
            assert box["height"] >= 44, f"{selector} #{index} is {box['height']} px high"


def expect_qr_code_in_view(page):
    qr = page.locator("#invite-qr")
    expect(qr).to_be_visible()
    # Drawn, not a broken image, and big enough to scan from across a table.
    assert qr.evaluate("(image) => image.complete && image.naturalWidth > 0")
    box = qr.bounding_box()
    assert box["width"] >= 200 and box["width"] == box["height"], box
    viewport = page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box


def test_copy_puts_the_link_on_the_clipboard(signed_in, check, live_server):
    anna = invite(signed_in, check, "en-GB", "anna.share@example.com", "Anna")
    anna.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    link = anna.locator("#invite-link").input_value()

    copy = anna.locator("#invite-copy")
    expect(copy).to_be_visible()
    expect(copy).to_have_text("Copy link")
    # Share only where the browser has a share sheet; headless Chromium on Linux has none.
    has_share_sheet = anna.evaluate("typeof navigator.share === 'function'")
    share = anna.locator("#invite-share-button")
    expect(share).to_be_visible() if has_share_sheet else expect(share).to_be_hidden()
    expect_qr_code_in_view(anna)
    expect_tall_enough(anna, "#invite-share button, #invite-share input, main form button")

    copy.click()
    expect(anna.locator("#invite-status")).to_have_text(
        "Copied. Paste it in a message to your partner."
    )
    assert anna.evaluate("navigator.clipboard.readText()") == link
    check(anna, "invite-share-en")


def test_share_hands_the_link_and_the_code_to_the_share_sheet(signed_in, check):
    bram = invite(signed_in, check, "nl-NL", "bram.share@example.com", "Bram", share_sheet=True)
    link = bram.locator("#invite-link").input_value()
    code = bram.locator(".invite-code").inner_text()

    share = bram.locator("#invite-share-button")
    expect(share).to_be_visible()
    expect(share).to_have_text("Delen")
    expect(bram.locator("#invite-copy")).to_have_text("Link kopiëren")
    expect_qr_code_in_view(bram)
    expect_tall_enough(bram, "#invite-share button, #invite-share input, main form button")

    share.click()
    shared = bram.evaluate("window.__shared")
    assert (
        shared["text"] == f"Doe met mij mee in Duet. De code is {code}, of open deze link: {link}"
    )
    expect(bram.locator("#invite-status")).to_be_empty()
    check(bram, "invite-share-nl")


def test_without_javascript_the_field_stays_and_the_buttons_do_not_show(
    signed_in, new_context, check
):
    carla = invite(signed_in, check, "en-GB", "carla.share@example.com", "Carla")
    link = carla.locator("#invite-link").input_value()
    check(carla, "invite-share-carla-en")
    state = carla.context.storage_state()
    plain = new_context("en-GB", storage_state=state, javascript=False).new_page()
    open_page(plain, "/couple/invite")
    expect(plain.locator("#invite-link")).to_be_visible()
    expect(plain.locator("#invite-link")).to_have_value(link)
    for button in ("#invite-copy", "#invite-share-button", "#invite-status"):
        expect(plain.locator(button)).to_be_hidden()
    expect_qr_code_in_view(plain)
    check(plain, "invite-share-nojs-en")
