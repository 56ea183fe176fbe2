"""Installable, dark and offline (issue 14, point 6; docs/safety.md, "What a phone keeps").

The manifest and its icons load; the service worker registers; the dark palette passes axe on
the pages a couple uses most, with quick exit still the brightest thing on them; without a
connection a page shows the offline page, and a signed agreement kept on purpose still opens,
while nothing private is in any cache; quick exit empties the caches and unregisters the
worker even where the browser ignores Clear-Site-Data.
"""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from app.accounts.models import User
from app.content import library
from app.couple import services as couples
from app.drafting import services as drafting
from app.extensions import db
from app.transaction import unit_of_work
from tests.browser.conftest import RENDER_TIMEOUT_MS
from tests.browser.couples import couple
from tests.browser.pages import expect, open_page
from tests.browser.test_quick_exit import live, neutral_site  # noqa: F401 (fixtures)
from tests.integration.signing_helpers import finalise_through_services

pytestmark = pytest.mark.browser

CANARY = "Canary: the words I wrote at the kitchen table."
OFFLINE_TEXT = {"en": "You are offline", "nl": "Je bent offline"}

# Every cached address in every cache of the page's origin, with the text of each answer
# that is not a PDF (to look for private words in it).
CACHED = """async () => {
  const found = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      const type = response.headers.get("Content-Type") || "";
      const text = type.startsWith("application/pdf") ? "" : await response.text();
      found.push({ cache: name, url: new URL(request.url).pathname, type, text });
    }
  }
  return found;
}"""
# A function, not an expression: Playwright polls an expression with eval(), which the
# page's Content-Security-Policy (no 'unsafe-eval') refuses whenever a second poll is needed.
WORKER_READY = "() => navigator.serviceWorker.controller !== null"
# Installing the worker caches the offline page and its files first: on a loaded machine
# that takes longer than the default five seconds.
WORKER_MS = 20_000


def controlled(page):
    """The page is controlled by the service worker (it claims pages once it is active)."""
    page.wait_for_function(WORKER_READY, timeout=WORKER_MS)


def agree_through_services(app, email: str) -> None:
    """Both partners agree to every clause of the basic agreement, as the pages would."""
    with app.test_request_context(method="POST"), unit_of_work():
        user = db.session.scalar(select(User).where(User.email == email))
        couple_ = couples.couple_of(user)
        content = library()
        draft = drafting.start_agreement(couple_, user, "en", "basic", content)
        for clause in drafting.active_clauses(draft):
            for person in couple_.partners:
                drafting.approve(draft, clause, person, clause.version, content)


def fresh_pages(*pages):
    """A new page in each phone, the old ones closed: their live pages may reload by
    themselves after a change made behind them through the services."""
    fresh = []
    for page in pages:
        context = page.context
        page.close()
        fresh.append(context.new_page())
    return fresh


def test_installable_and_dark(live, new_context, signed_in, check):  # noqa: F811
    app, base_url = live
    visitor = new_context("en-GB").new_page()
    manifest = visitor.request.get(f"{base_url}/manifest.webmanifest")
    assert manifest.ok
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert (body["name"], body["short_name"]) == ("Duet", "Duet")
    assert (body["start_url"], body["scope"], body["display"]) == ("/", "/", "standalone")
    assert body["theme_color"] == body["background_color"] == "#f6f4f0"
    sizes = {}
    for icon in body["icons"]:
        answer = visitor.request.get(f"{base_url}{icon['src']}")
        assert answer.ok and answer.headers["content-type"] == "image/png", icon
        width, height = Image.open(io.BytesIO(answer.body())).size
        assert f"{width}x{height}" == icon["sizes"], icon
        sizes.setdefault(icon["purpose"], set()).add(icon["sizes"])
    assert sizes == {"any": {"192x192", "512x512"}, "maskable": {"512x512"}}

    visitor.emulate_media(color_scheme="dark")
    for path, name in [("/login", "login"), ("/verify", "verify"), ("/offline", "offline")]:
        open_page(visitor, path)
        check(visitor, f"dark-{name}-en")
    touch_icon = visitor.locator('link[rel="apple-touch-icon"]').get_attribute("href")
    icon = visitor.request.get(f"{base_url}{touch_icon}")
    assert Image.open(io.BytesIO(icon.body())).size == (180, 180)
    controlled(visitor)

    anna, bram = couple(signed_in, check, prefix="dark")
    agree_through_services(app, "anna.dark@example.com")
    anna, bram = fresh_pages(anna, bram)
    for page in (anna, bram):
        page.emulate_media(color_scheme="dark")
    for page, path, name in [
        (anna, "/", "home-en"),
        (anna, "/agreement", "agreement-en"),
        (bram, "/agreement/sign", "sign-nl"),
    ]:
        open_page(page, path)
        check(page, f"dark-{name}")
    # The dark palette is the one in use, and quick exit stands out on it.
    colours = bram.evaluate("""() => {
      const colour = (el, property) => getComputedStyle(el)[property];
      const exit = document.querySelector("[data-quick-exit]");
      return { page: colour(document.documentElement, "backgroundColor"),
               text: colour(document.body, "color"),
               exit: colour(exit, "backgroundColor") };
    }""")
    assert colours == {
        "page": "rgb(22, 27, 30)",
        "text": "rgb(230, 235, 233)",
        "exit": "rgb(239, 157, 99)",
    }


def test_offline_shows_the_offline_page_and_keeps_only_what_was_chosen(
    live,  # noqa: F811
    signed_in,
    check,
):
    app, base_url = live
    anna, bram = couple(signed_in, check, prefix="offline")
    agreement_id = finalise_through_services(app, "anna.offline@example.com")
    (anna,) = fresh_pages(anna)
    bram.close()

    # Private words, written and shown again while online.
    open_page(anna, "/reflection/prompts/what-i-feel")
    anna.locator("#text").fill(CANARY)
    expect(anna.locator("#save-status")).to_have_attribute("data-state", "saved")
    open_page(anna, "/reflection/prompts/what-i-feel")
    check(anna, "offline-prompt-en")
    controlled(anna)
    for path in ("/reflection", "/help"):
        open_page(anna, path)
        check(anna, f"offline-online{path.replace('/', '-')}-en")

    # Off until chosen; choosing keeps the signed PDF.
    open_page(anna, "/agreements")
    check(anna, "offline-versions-en")
    keep = anna.get_by_label("Keep my signed agreements readable offline on this phone")
    expect(keep).not_to_be_checked()
    keep.check()
    expect(anna.locator("[data-keep-offline-status]")).to_have_text(
        "Your signed agreements open on this phone without a connection.",
        timeout=RENDER_TIMEOUT_MS,  # the first download makes the PDF
    )
    pdf = f"/agreements/{agreement_id}/pdf"

    anna.context.set_offline(True)
    try:
        for path in ("/reflection", "/help", "/", "/reflection/prompts/what-i-feel"):
            open_page(anna, path)
            expect(anna.locator("h1")).to_have_text(OFFLINE_TEXT["en"])
            expect(anna.locator("main")).to_contain_text("Je bent offline")
            expect(anna.locator("body")).not_to_contain_text(CANARY)
        check(anna, "offline-page-en")
        kept = anna.locator("[data-offline-kept] a")
        expect(kept).to_have_count(1)
        assert kept.get_attribute("href").endswith(pdf)
        answer = anna.evaluate(
            """async (url) => {
              const response = await fetch(url);
              const bytes = new Uint8Array(await response.arrayBuffer());
              return { status: response.status, type: response.headers.get("Content-Type"),
                       start: String.fromCharCode(...bytes.slice(0, 5)) };
            }""",
            pdf,
        )
        assert answer == {"status": 200, "type": "application/pdf", "start": "%PDF-"}

        cached = anna.evaluate(CACHED)
    finally:
        anna.context.set_offline(False)
    static = re.compile(r"^/static/[\w./-]+$")
    allowed = {"/offline", "/manifest.webmanifest", pdf}
    strays = [entry["url"] for entry in cached if not static.match(entry["url"])]
    assert set(strays) <= allowed, strays
    assert any(entry["url"] == pdf for entry in cached)
    for entry in cached:
        assert CANARY not in entry["text"], entry["url"]
        assert "<html" not in entry["text"] or entry["url"] == "/offline", entry["url"]

    # The choice is Anna's: someone else signed in on this phone has not made it (their page
    # carries another mark), and seeing their page neither keeps nor drops anything.
    open_page(anna, "/agreements")
    owner = anna.locator("[data-keep-offline]").get_attribute("data-owner")
    assert anna.evaluate("localStorage.getItem('duet-keep-signed')") == owner
    anna.reload()
    expect(keep).to_be_checked()  # Anna's own page, reloaded: still hers
    anna.evaluate("localStorage.setItem('duet-keep-signed', 'someone-else')")
    anna.reload()
    expect(keep).not_to_be_checked()
    assert any(entry["url"] == pdf for entry in anna.evaluate(CACHED))
    anna.evaluate("(mark) => localStorage.setItem('duet-keep-signed', mark)", owner)

    # Turning it off deletes them from this phone.
    open_page(anna, "/agreements")
    check(anna, "offline-versions-kept-en")
    expect(keep).to_be_checked()
    keep.uncheck()
    expect(anna.locator("[data-keep-offline-status]")).to_have_text(
        "Your signed agreements are no longer kept on this phone."
    )
    assert not [entry for entry in anna.evaluate(CACHED) if entry["url"] == pdf]
    assert "duet-signed" not in anna.evaluate("caches.keys()")


def test_quick_exit_forgets_the_worker_and_its_caches(
    live,  # noqa: F811
    neutral_site,  # noqa: F811
    signed_in,
    check,
):
    page = signed_in("nl-NL", "exit.offline@example.com", "Sam")
    check(page, "offline-exit-home-nl")
    controlled(page)
    assert page.evaluate("caches.keys()"), "nothing cached before the exit"

    # Over plain HTTP a browser may ignore Clear-Site-Data: the script alone must do it.
    def without_clear_site_data(route):
        response = route.fetch(max_redirects=0)
        headers = {k: v for k, v in response.headers.items() if k != "clear-site-data"}
        route.fulfill(response=response, headers=headers)

    page.context.route("**/exit", without_clear_site_data)
    with page.expect_navigation(url=neutral_site):
        page.locator("[data-quick-exit]").click()

    # A fresh page of the same phone, on Duet's sign-in page, without Duet's own script
    # registering the worker again.
    after = page.context.new_page()
    after.route("**/static/js/offline.js", lambda route: route.abort())
    open_page(after, "/login")
    check(after, "offline-exit-login-nl")
    for _ in range(50):  # unregistering may take a moment after the exit
        left = after.evaluate(
            """async () => ({ caches: await caches.keys(),
                 workers: (await navigator.serviceWorker.getRegistrations()).length })"""
        )
        if left == {"caches": [], "workers": 0}:
            break
        after.wait_for_timeout(100)
    assert left == {"caches": [], "workers": 0}
