"""Two partners on two phones, in two languages, through the real pages with CSRF on.

Every page a test opens goes through check(): a screenshot in tests/screenshots/ and axe,
which fails the test on any serious or critical accessibility violation.
"""

import pytest

from tests.browser.pages import (
    SUBMIT,
    expect,
    expect_error_beside,
    expect_language,
    expect_no_error,
    fill_registration,
    follow,
    open_page,
)

pytestmark = pytest.mark.browser

FOCUS_STATE = """() => {
    const element = document.activeElement;
    const style = getComputedStyle(element);
    const box = element.getBoundingClientRect();
    return {
        className: element.className,
        inMain: Boolean(element.closest("main")),
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth),
        left: box.left, right: box.right, top: box.top, bottom: box.bottom,
    };
}"""


def logged_out_tour(page, check, lang: str) -> str:
    """Welcome, login, forgot password and the register page, as someone new sees them.

    Returns the welcome page's heading, to compare the two languages.
    """
    open_page(page, "/")
    expect_language(page, lang)
    check(page, f"welcome-{lang}")
    heading = page.locator("h1").inner_text()
    follow(page, 'main a[href="/login"]')
    check(page, f"login-{lang}")
    follow(page, 'main a[href="/forgot-password"]')
    check(page, f"forgot-{lang}")
    follow(page, 'main a[href="/login"]')  # "Back to log in"
    follow(page, 'main a[href^="/register"]')
    expect_language(page, lang)
    check(page, f"register-{lang}")
    return heading


def keyboard_from_the_top(page, screenshot):
    """Tab first reaches quick exit, then the skip link, visibly; following it lands the
    next Tab in main."""
    page.keyboard.press("Tab")
    focus = page.evaluate(FOCUS_STATE)
    assert "quick-exit" in focus["className"], f"first Tab went to {focus}"
    assert focus["outlineStyle"] != "none" and focus["outlineWidth"] >= 2, focus
    page.keyboard.press("Tab")
    focus = page.evaluate(FOCUS_STATE)
    assert "skip-link" in focus["className"], f"second Tab went to {focus}"
    assert focus["outlineStyle"] != "none" and focus["outlineWidth"] >= 2, focus
    viewport = page.viewport_size
    assert focus["left"] >= 0 and focus["right"] <= viewport["width"], focus
    assert focus["top"] >= 0 and focus["bottom"] <= viewport["height"], focus
    screenshot(page, "keyboard-skip-link-en")

    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focus = page.evaluate(FOCUS_STATE)
    assert focus["inMain"], f"after the skip link, Tab went to {focus}"
    assert focus["outlineStyle"] != "none" and focus["outlineWidth"] >= 2, focus
    screenshot(page, "keyboard-after-skip-en")


def account_pages(page, check, lang: str, partner_name: str):
    """Settings with the device list, then the two confirmations that end things."""
    follow(page, 'header a[href="/settings"]')
    check(page, f"settings-{lang}")
    devices = page.locator(".devices li")
    expect(devices).to_have_count(1)
    expect(devices.first).to_contain_text("Android")
    expect(devices.first.locator(".tag")).to_be_visible()

    follow(page, 'main a[href="/settings/delete"]')
    check(page, f"delete-{lang}")
    expect(page.locator("#password")).to_be_visible()

    follow(page, 'main a[href="/settings"]')  # "Keep my account"
    follow(page, "header .brand")
    follow(page, 'main a[href="/couple/leave"]')
    check(page, f"leave-{lang}")
    expect(page.locator("main")).to_contain_text(partner_name)

    open_page(page, "/no-such-page", status=404)
    expect_language(page, lang)
    check(page, f"404-{lang}")


def test_two_partners_find_each_other(new_context, check, screenshot, live_server):
    anna_phone = new_context("en-GB")
    anna = anna_phone.new_page()
    bram = new_context("nl-NL").new_page()

    # Anna, in English, looks around, then registers after one empty try.
    english_welcome = logged_out_tour(anna, check, "en")
    open_page(anna, "/")
    keyboard_from_the_top(anna, screenshot)
    # The account form is on the welcome page itself; sent empty, it comes back on its own page.
    follow(anna, SUBMIT, status=400)
    for field_id in ("email", "display_name", "password"):
        expect_error_beside(anna, field_id)
    check(anna, "register-errors-en")
    fill_registration(anna, "anna@example.com", "Anna")
    expect(anna.locator("h1")).to_contain_text("Anna")
    check(anna, "dashboard-none-en")

    # She peeks at the join page and sends it empty, then goes back and invites Bram.
    follow(anna, 'main a[href="/couple/join"]')
    check(anna, "join-en")
    follow(anna, SUBMIT, status=400)
    expect_error_beside(anna, "code")
    check(anna, "join-errors-en")
    follow(anna, 'main a[href="/"]')
    follow(anna, 'main form[action="/couple/new"] button')
    check(anna, "invite-en")
    code = anna.locator(".invite-code").inner_text().strip()
    assert len(code.replace("-", "")) == 6, code
    assert anna.locator("#invite-link").input_value().startswith(f"{live_server}/join/")
    follow(anna, 'main a[href="/"]')
    expect(anna.locator('main a[href="/couple/invite"]')).to_be_visible()
    check(anna, "dashboard-waiting-en")

    # Bram, in Dutch, looks around, registers after a half-filled try, and types the code.
    dutch_welcome = logged_out_tour(bram, check, "nl")
    assert dutch_welcome != english_welcome, "the Dutch welcome page is not translated"
    bram.locator("#email").fill("bram@example.com")
    bram.locator("#password").fill("short")
    follow(bram, SUBMIT, status=400)
    expect(bram.locator("#email")).to_have_value("bram@example.com")
    expect(bram.locator("#password")).to_have_value("")  # a password is never sent back
    expect_no_error(bram, "email")
    expect_error_beside(bram, "display_name")
    expect_error_beside(bram, "password")
    check(bram, "register-errors-nl")
    fill_registration(bram, "bram@example.com", "Bram")
    expect_language(bram, "nl")
    check(bram, "dashboard-none-nl")

    follow(bram, 'main a[href="/couple/join"]')
    check(bram, "join-nl")
    bram.locator("#code").fill("ZZZ-ZZZ")
    follow(bram, SUBMIT, status=400)
    expect_error_beside(bram, "code")
    expect(bram.locator("#code")).to_have_value("ZZZ-ZZZ")
    check(bram, "join-wrong-code-nl")
    bram.locator("#code").fill(code.replace("-", "").lower())  # as read out over the phone
    follow(bram, SUBMIT)
    expect(bram.locator(".notice")).to_be_visible()
    expect(bram.locator("main .lead")).to_contain_text("Anna")
    check(bram, "dashboard-complete-nl")

    # Anna's home page now names Bram, by itself (live.js reloads it when he joins).
    expect(anna.locator("main .lead")).to_contain_text("Bram")
    check(anna, "dashboard-complete-en")

    account_pages(anna, check, "en", "Bram")
    account_pages(bram, check, "nl", "Anna")

    # The same dashboard on a laptop, signed in with the same session.
    laptop = new_context("en-GB", desktop=True, storage_state=anna_phone.storage_state()).new_page()
    open_page(laptop, "/")
    expect(laptop.locator("main .lead")).to_contain_text("Bram")
    check(laptop, "dashboard-desktop-en")


def test_invite_link_brings_a_new_partner_in(new_context, check, live_server):
    dirk = new_context("nl-NL").new_page()
    carla = new_context("en-GB").new_page()

    # Dirk, in Dutch, registers and makes an invite.
    open_page(dirk, "/register")
    check(dirk, "link-register-nl")
    fill_registration(dirk, "dirk@example.com", "Dirk")
    check(dirk, "link-dashboard-none-nl")
    follow(dirk, 'main form[action="/couple/new"] button')
    expect_language(dirk, "nl")
    check(dirk, "invite-nl")
    link = dirk.locator("#invite-link").input_value()
    assert link.startswith(f"{live_server}/join/"), link
    follow(dirk, 'main a[href="/"]')
    check(dirk, "dashboard-waiting-nl")
    follow(dirk, 'main a[href="/couple/leave"]')
    check(dirk, "leave-waiting-nl")

    # Carla, logged out, opens the link, makes an account from there and joins Dirk.
    open_page(carla, link)
    expect(carla.locator("h1")).to_contain_text("Dirk")
    check(carla, "invitation-en")
    # The account form is on the invitation; making the account joins Dirk in the same step.
    expect(carla.get_by_role("button", name="Create my account and join Dirk")).to_be_visible()
    fill_registration(carla, "carla@example.com", "Carla")
    assert carla.url.endswith("/"), carla.url
    expect(carla.locator("main .lead")).to_contain_text("Dirk")
    check(carla, "link-dashboard-complete-en")

    open_page(dirk, "/")
    expect(dirk.locator("main .lead")).to_contain_text("Carla")
    check(dirk, "link-dashboard-complete-nl")
