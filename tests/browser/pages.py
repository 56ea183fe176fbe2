"""What the browser tests share: moving between pages and reading forms the way a person does."""

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then skips, or fails under CI, and says why
    expect = None
    PlaywrightError = Exception


PASSWORD = "quiet evening walk"
SUBMIT = 'main form button[type="submit"]'


def fresh(page):
    """A new page in the same phone, the old one closed: it may reload by itself after the
    agreement was signed behind it through the services."""
    new = page.context.new_page()
    page.close()
    return new


def follow(page, selector: str, status: int = 200, timeout: float | None = None):
    """Click something that loads a new page; check the status the page finally came with.

    timeout (ms) overrides the context's default, for a page that waits on a PDF render.
    """
    with page.expect_navigation(timeout=timeout) as navigation:
        page.locator(selector).click()
    response = navigation.value
    assert response is not None and response.status == status, (selector, page.url)
    return response


def agree_to_everything(page):
    """Press every "I agree" on the agreement page, one at a time: each is agreed in place,
    the clause's button turning into "Withdraw my yes" without a page load."""
    buttons = page.locator('#clause-list form[action*="/approve"] button')
    for _ in range(20):
        left = buttons.count()
        if left == 0:
            return
        buttons.first.click()
        expect(buttons).to_have_count(left - 1)
    raise AssertionError("still clauses to agree to after 20 presses")


def open_page(page, path: str, status: int = 200):
    """Go to `path`. A live page may reload itself at the same moment (the partner moved
    what it follows), which aborts this navigation; then it is made again, once."""
    try:
        response = page.goto(path)
    except PlaywrightError as error:
        if "net::ERR_ABORTED" not in str(error):
            raise
        response = page.goto(path)
    assert response.status == status, (path, response.status)
    return response


def expect_language(page, lang: str):
    """The page is in `lang` ("en" or "nl"); its English is British English."""
    expect(page.locator("html")).to_have_attribute("lang", {"en": "en-GB"}.get(lang, lang))


def fill_registration(page, email: str, name: str):
    page.locator("#email").fill(email)
    page.locator("#display_name").fill(name)
    page.locator("#password").fill(PASSWORD)
    follow(page, SUBMIT)
    assert page.url.endswith("/") or "/join/" in page.url, page.url


def expect_error_beside(page, field_id: str):
    """The field is marked invalid, names its error, and the error sits right above it."""
    field = page.locator(f".field-error:has(#{field_id})")
    error = field.locator(f"#{field_id}-error")
    control = page.locator(f"#{field_id}")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(control).to_have_attribute("aria-invalid", "true")
    assert f"{field_id}-error" in control.get_attribute("aria-describedby").split()
    error_box, control_box = error.bounding_box(), control.bounding_box()
    gap = control_box["y"] - (error_box["y"] + error_box["height"])
    assert 0 <= gap < 48, f"the error for {field_id} is {gap}px away from its field"


def expect_no_error(page, field_id: str):
    expect(page.locator(f"#{field_id}-error")).to_have_count(0)
    expect(page.locator(f"#{field_id}")).not_to_have_attribute("aria-invalid", "true")
