"""Browser fixtures: a live Duet server, Debian's Chromium through Playwright, and an axe check.

The browser tests skip when Chromium or Playwright is missing, with a hint how to get them;
with CI set they fail instead, so CI can never go green without them.
"""

import fcntl
import logging
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests.browser.pages import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    # A date field as a phone in the page's language shows it (29/12/2026 in en-GB, 29-12-2026
    # in Dutch), rather than in the en-US of the machine running the tests.
    "--enable-blink-features=LangAttributeAwareFormControlUI",
]
PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "user_agent": PHONE_USER_AGENT,
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
AXE_REPORT = SCREENSHOTS / "axe-findings.txt"
TOUCH_REPORT = SCREENSHOTS / "touch-targets.txt"  # how many targets each checked page had
BLOCKING_IMPACTS = {"serious", "critical"}
TIMEOUT_MS = 5_000
# Waits that include rendering and sealing a PDF: seconds on a busy machine.
RENDER_TIMEOUT_MS = 60_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def _unavailable(reason: str):
    message = (
        f"browser tests need Debian's Chromium and Playwright: {reason}. "
        "Enable them with `apt-get install -y chromium` and `pip install -e '.[test]'`."
    )
    if _in_ci():
        pytest.fail(f"CI is set, so browser tests may not be skipped: {message}", pytrace=False)
    pytest.skip(message)


def _shared_conftest(config):
    """tests/conftest.py as pytest loaded it, so its helpers are reused rather than copied."""
    path = Path(__file__).resolve().parent.parent / "conftest.py"
    for plugin in config.pluginmanager.get_plugins():
        source = getattr(plugin, "__file__", None)
        if source and Path(source).resolve() == path:
            return plugin
    raise RuntimeError(f"{path} is not loaded as a conftest")


# --- The live server -------------------------------------------------------------------------


def live_app(request, tmp_path_factory, database_url_factory, **overrides):
    """An app for a live server: CSRF on, limits off, an empty database of its own."""
    shared = _shared_conftest(request.config)
    settings = shared.test_settings(
        tmp_path_factory.mktemp("live"),
        database_url_factory(),
        RATELIMIT_ENABLED=False,
        WTF_CSRF_ENABLED=True,
        **overrides,
    )
    app = create_app(settings)
    shared._clean(app)  # the schema, and on PostgreSQL empty tables
    return app


def _read_whole(app):
    """Each answer read whole and closed at once. Werkzeug's development server skips closing
    an answer when the browser has already gone (a quick exit, a service worker's fetch
    cut short): the static file it was sending stays open until the garbage collector
    finds it, and pytest reports that in whichever test runs then."""

    def wsgi(environ, start_response):
        answer = app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            if hasattr(answer, "close"):
                answer.close()

    return wsgi


@contextmanager
def serving(app):
    """Serve the app over real HTTP on a free port, in a thread; yields the base URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, _read_whole(app), threaded=True)
    # Join the request threads on close, so none still holds a database connection when
    # the engine is disposed (it would be dropped unclosed).
    server.daemon_threads = False
    server.block_on_close = True
    thread = threading.Thread(target=server.serve_forever, name="duet-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def live(request, tmp_path_factory, database_url_factory):
    """Duet served over real HTTP on a free port, CSRF on: (the app, its base URL)."""
    app = live_app(request, tmp_path_factory, database_url_factory)
    with serving(app) as base_url:
        # Links in invites are built from PUBLIC_URL; point it at this server.
        app.config["PUBLIC_URL"] = base_url
        yield app, base_url


@pytest.fixture(scope="module")
def live_server(live):
    """The base URL of the live server."""
    return live[1]


@pytest.fixture
def signed_in(live, new_context):
    """signed_in(locale, email, name[, javascript]): a page in a new phone context, signed in
    as a person registered through the app's own test client (the registration pages
    themselves are driven by hand in test_partners.py), on the home page."""
    app, base_url = live

    def make(locale: str, email: str, name: str, javascript: bool = True):
        client = app.test_client()
        # As the phone would send them: the session's identifier is made from both.
        # The language comes from Accept-Language, as the phone's locale sends it.
        environ = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": PHONE_USER_AGENT,
            "HTTP_ACCEPT_LANGUAGE": locale,
        }
        form = client.get("/register", environ_base=environ).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token, "no CSRF token on the registration page"
        response = client.post(
            "/register",
            data={
                "csrf_token": token[1],
                "email": email,
                "display_name": name,
                "password": PASSWORD,
            },
            environ_base=environ,
        )
        assert response.status_code == 302, response.text
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        state = {
            "cookies": [
                {
                    "name": cookie.key,
                    "value": cookie.value,
                    "domain": urlsplit(base_url).hostname,
                    "path": "/",
                    "expires": -1,
                    "httpOnly": True,
                    "secure": False,
                    "sameSite": "Lax",
                }
            ],
            "origins": [],
        }
        page = new_context(locale, storage_state=state, javascript=javascript).new_page()
        page.goto("/")
        return page

    return make


# --- The browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module; Playwright's event loop ends with it, so the tests
    after the browser tests run without a loop in the main thread."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        _unavailable(f"Playwright cannot be imported ({error})")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Visits:
    """What each context's pages loaded, so a test cannot visit a page without checking it."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.loaded: set[str] = set()  # "<context label> <path>"
        self.checked: set[str] = set()
        self.failed_responses: list[str] = []
        self.console_errors: list[str] = []
        self.third_party: list[str] = []

    def is_outside(self, url: str) -> bool:
        return not url.startswith(f"{self.base_url}/")

    def refuse(self, route) -> None:
        """Duet makes no third-party requests: no CDN, no fonts, no analytics."""
        self.third_party.append(route.request.url)
        route.abort()

    def path(self, url: str) -> str | None:
        return None if self.is_outside(url) else urlsplit(url).path

    def watch(self, page, label: str) -> None:
        def navigated(frame):
            if frame == page.main_frame and (path := self.path(frame.url)):
                self.loaded.add(f"{label} {path}")

        def responded(response):
            # A page may answer 400 or 404 on purpose; its stylesheet or script may not.
            document = response.request.resource_type == "document"
            if response.status >= 500 or (response.status >= 400 and not document):
                self.failed_responses.append(f"{response.status} {response.url}")

        def logged(message):
            # Those failed responses are caught above, with their URL.
            if message.type == "error" and "Failed to load resource" not in message.text:
                self.console_errors.append(f"{label} {page.url}: {message.text}")

        page.on("framenavigated", navigated)
        page.on("response", responded)
        page.on("console", logged)
        page.on("pageerror", lambda error: self.console_errors.append(f"{label}: {error}"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.duet_call_failed = report.failed
    return report


@pytest.fixture
def visits(request, live_server):
    record = Visits(live_server)
    yield record
    if getattr(request.node, "duet_call_failed", False):
        return  # the failure itself says what went wrong; unchecked pages would be noise
    unchecked = sorted(key for key in record.loaded if key not in record.checked)
    assert not unchecked, f"pages visited without check(page, name): {unchecked}"


@pytest.fixture
def new_context(browser, live_server, visits):
    """A factory for fresh browser contexts, each a separate person's phone (or desktop).

    new_context("nl-NL") gives a Dutch phone: Accept-Language follows the locale.
    """
    contexts = []

    def make(locale: str = "en-GB", *, desktop: bool = False, storage_state=None, javascript=True):
        label = f"{locale}{'-desktop' if desktop else ''}#{len(contexts) + 1}"
        context = browser.new_context(
            base_url=live_server,
            locale=locale,
            storage_state=storage_state,
            java_script_enabled=javascript,
            **(DESKTOP if desktop else PHONE),
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        context.route(visits.is_outside, visits.refuse)
        context.on("page", lambda page: visits.watch(page, label))
        context.duet_label = label
        context.duet_javascript = javascript
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


# --- The check every visited page gets ----------------------------------------------------------


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory, worker_id) -> Path:
    """A folder the whole run shares: each xdist worker's base temporary folder sits in it."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def axe_report(run_folder):
    """The findings file, emptied once per run by whichever xdist worker comes first (under a
    lock, so no worker's findings are wiped by another's start)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (run_folder / "axe-report.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        emptied = run_folder / "axe-report-emptied"
        if not emptied.exists():
            AXE_REPORT.write_text("")
            TOUCH_REPORT.write_text("")
            emptied.touch()
    return AXE_REPORT


@pytest.fixture(scope="module")
def axe(browser, axe_report):
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError as error:
        _unavailable(f"axe-playwright-python cannot be imported ({error})")
    return Axe()


def _describe(violations) -> str:
    lines = []
    for violation in violations:
        targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"])
        lines.append(f"  {violation['id']} ({violation['impact']}): {targets}")
        lines.append(f"    {violation['help']} <{violation['helpUrl']}>")
    return "\n".join(lines)


class ScreenshotNames:
    """Names used so far in this run, so no screenshot silently replaces another.

    A name is claimed by creating a file of that name in a folder the whole run shares, so
    two xdist workers cannot both take it either.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(exist_ok=True)

    def claim(self, name: str) -> None:
        try:
            (self.folder / name).touch(exist_ok=False)
        except FileExistsError:
            pytest.fail(f"two screenshots named {name!r}", pytrace=False)


@pytest.fixture(scope="session")
def screenshot_names(run_folder):
    return ScreenshotNames(run_folder / "screenshot-names")


@pytest.fixture
def check(axe, visits, screenshot_names):
    """check(page, name): a full-page screenshot to tests/screenshots/<name>.png, then axe.

    Fails on any serious or critical violation, naming the rules and the elements; every
    finding, whatever its impact, is also appended to tests/screenshots/axe-findings.txt.
    """

    def run(page, name: str):
        screenshot_names.claim(name)
        page.wait_for_load_state("load")
        assert not visits.failed_responses, f"failed responses: {visits.failed_responses}"
        assert not visits.console_errors, f"browser console errors: {visits.console_errors}"
        assert not visits.third_party, f"third-party requests: {visits.third_party}"

        # One image pixel per CSS pixel: as legible as the phone's two, and a quarter of the
        # pixels to encode at each of the suite's 300-odd checks, twice per CI run.
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True, scale="css")
        # axe runs as a script: with scripts off it would wait for ever. The same pages are
        # checked by axe wherever the tests visit them with scripts on.
        violations = axe.run(page).response["violations"] if page.context.duet_javascript else []
        if violations:
            with AXE_REPORT.open("a") as report:
                report.write(f"{name} ({page.url}):\n{_describe(violations)}\n")
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        if blocking:
            pytest.fail(
                f"axe found serious or critical problems on {name} ({page.url}):\n"
                + _describe(blocking),
                pytrace=False,
            )

        expect_quick_exit_in_reach(page)
        with TOUCH_REPORT.open("a") as report:
            report.write(f"{name}: {expect_touch_targets(page)}\n")

        label = page.context.duet_label
        if path := visits.path(page.url):
            visits.checked.add(f"{label} {path}")

    return run


# The first thing a keyboard reaches, in document order.
_FIRST_TAB_STOP = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]')]
  .find((el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length > 0)
  ?.matches('[data-quick-exit]')"""


def expect_quick_exit_in_reach(page):
    """Quick exit is the first tab stop and stays in view after scrolling to the very end."""
    assert page.evaluate(_FIRST_TAB_STOP), f"quick exit is not the first tab stop on {page.url}"
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    box = page.locator("[data-quick-exit]").bounding_box()
    viewport = page.viewport_size
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (
        f"quick exit is out of view after scrolling on {page.url}"
    )
    assert box["width"] >= 44 and box["height"] >= 44, "quick exit is too small to tap"
    page.evaluate("window.scrollTo(0, 0)")


# Every control and stand-alone link, and how high it is. A radio button or checkbox counts as
# its label, the row that takes the tap. Links inside running text are left out, as WCAG 2.5.8
# allows (a link is stand-alone when it is all the text of its parent, or in a nav or header).
# The skip link is measured where it waits off screen: focus changes only where it is.
_TOUCH_TARGETS = """(minimum) => {
  const text = (el) => el.textContent.replace(/\\s+/g, " ").trim();
  const shown = (el) => el.getClientRects().length > 0 && !el.closest(".visually-hidden")
    && getComputedStyle(el).visibility !== "hidden";
  const standAlone = (a) => a.closest("nav, header") !== null
    || (a.parentElement !== null && text(a.parentElement) === text(a));
  const name = (el) => {
    const tag = el.tagName.toLowerCase();
    const kind = el.type && tag === "input" ? `[type=${el.type}]` : "";
    const classes = [...el.classList].map((c) => `.${c}`).join("");
    return `<${tag}${kind}${classes}> "${(text(el) || el.value || el.name || "").slice(0, 40)}"`;
  };
  const targets = [...document.querySelectorAll(
    "button, input:not([type=hidden]), select, textarea, summary, a[href]")]
    .filter((el) => el.tagName !== "A" || standAlone(el));
  const small = [];
  let measured = 0;
  for (const el of targets) {
    if (!shown(el)) continue;
    const row = ["radio", "checkbox"].includes(el.type) ? el.labels[0] : el;
    if (!row) {
      small.push(`${name(el)}: no label to tap`);
      continue;
    }
    const height = row.getBoundingClientRect().height;
    measured += 1;
    if (height < minimum) small.push(`${name(el)}: ${height.toFixed(1)} px`);
  }
  return { measured, small };
}"""
MINIMUM_TARGET_PX = 44


def expect_touch_targets(page):
    """Every visible control and stand-alone link is at least 44 px high (WCAG 2.5.8 asks 24;
    44 is what a thumb needs on a phone)."""
    found = page.evaluate(_TOUCH_TARGETS, MINIMUM_TARGET_PX)
    assert not found["small"], (
        f"under {MINIMUM_TARGET_PX} px high to tap on {page.url}:\n  " + "\n  ".join(found["small"])
    )
    return found["measured"]


@pytest.fixture
def screenshot(axe, screenshot_names):
    """screenshot(page, name): the viewport only, for a moment on a page already checked."""

    def take(page, name: str):
        screenshot_names.claim(name)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", scale="css")

    return take
