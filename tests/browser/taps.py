"""Counting what a person does on their phone: taps, and the pages that load.

A test drives each partner through a `Person`, which does what the person does and writes it
down, instead of calling Playwright on the page directly. What counts (docs/ux.md):

- a tap: every click or tap on a button, link, checkbox or radio; tapping into a text field
  before typing (the typing itself is free); choosing from a list; drawing a signature (one
  gesture, however many strokes); a download (the tap on its link).
- a page load: every new document in the person's page (the final page of a redirect, an
  error page sent back, a reload), split into the loads the person caused (those during one
  of their actions, opening an address included) and the loads the page made by itself (the
  live channel moving it on while the person waits). A download is not a page load, nor is
  a change made in place by JavaScript.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.browser.pages import expect

# The kinds of step that cost the person a tap.
TAPS = {"tap", "field", "choose", "draw", "download"}

# The visible name of what is tapped: a field's label, a button's or link's text.
_NAME = """(element) => {
  const label = element.labels && element.labels.length ? element.labels[0].innerText : "";
  const text = label || element.innerText || element.value || element.getAttribute("aria-label")
    || element.id || element.tagName.toLowerCase();
  return text.replace(/\\s+/g, " ").replace(/ : /g, ": ").trim().slice(0, 60);
}"""


@dataclass
class Step:
    kind: str  # a kind in TAPS, "open", "load", "self-load" or "wait"
    what: str
    url: str

    @property
    def path(self) -> str:
        return short(self.url)


def short(url: str) -> str:
    """The path and query of a URL, a long token in it cut to its start (invite links)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return re.sub(r"([A-Za-z0-9_-]{6})[A-Za-z0-9_-]{14,}", r"\1…", path)


class Person:
    """One partner on their phone: what they do to `page`, and the log of it."""

    def __init__(self, name: str, page, base_url: str):
        self.name = name
        self.page = page
        self.base_url = base_url
        self.log: list[Step] = []
        self._acting = False
        page.on("domcontentloaded", self._loaded)

    # --- What the person does -----------------------------------------------------------------

    def open(self, url: str):
        """Open an address: typed, or a link tapped in a message (outside Duet: no tap)."""
        with self._action("open", url):
            response = self.page.goto(url)
        assert response is not None and response.ok, (url, response and response.status)

    def tap(self, target, *, navigates: bool = False, until=None, timeout: float | None = None):
        """Tap a button, link, checkbox or radio. `navigates`: wait for the page it loads;
        `until`: a callable that waits until the tap has done its work (in place or not)."""
        self._do("tap", target, lambda: target.click(), navigates, until, timeout)

    def check(self, target):
        """Tick a checkbox or choose a radio button: one tap."""
        self._do("tap", target, lambda: target.check(), False, None, None)

    def fill(self, target, text: str):
        """Tap into a text field and type: one tap, the typing free."""

        def tap_and_type():
            target.click()
            target.fill(text)

        self._do("field", target, tap_and_type, False, None, None)

    def choose(self, target, value: str):
        """Choose from a drop-down list: one tap."""
        self._do("choose", target, lambda: target.select_option(value), False, None, None)

    def draw(self, what: str, drawing):
        """Draw with a finger or the mouse, `drawing(page)`: one gesture, one tap."""
        with self._action("draw", what):
            drawing(self.page)

    def download(self, target, timeout: float | None = None):
        """Tap a download link: one tap, no page load. Returns Playwright's Download."""
        name = target.evaluate(_NAME)
        with self._action("download", name), self.page.expect_download(timeout=timeout) as got:
            target.click()
        return got.value

    def wait(self, why: str, until):
        """Wait for the partner, doing nothing: `until()` returns when the page shows it.
        Whatever loads meanwhile, the page loaded by itself."""
        self.log.append(Step("wait", why, self.page.url))
        until()
        self._settle()

    # --- What it cost ------------------------------------------------------------------------

    @property
    def taps(self) -> int:
        return sum(1 for step in self.log if step.kind in TAPS)

    @property
    def loads(self) -> int:
        """The page loads the person caused."""
        return sum(1 for step in self.log if step.kind == "load")

    @property
    def self_loads(self) -> int:
        """The page loads the page made by itself (the live channel)."""
        return sum(1 for step in self.log if step.kind == "self-load")

    def summary(self, role: str) -> str:
        return (
            f"{self.name} ({role}): {self.taps} taps, {self.loads} page loads by "
            f"{self.name}, {self.self_loads} by the page itself"
        )

    def steps(self) -> list[str]:
        """The log as lines: each tap numbered, each load under what caused it."""
        lines, taps = [], 0
        for step in self.log:
            if step.kind in TAPS:
                taps += 1
                lines.append(f"  {taps:>2}. {step.kind:<8} {step.what}   [on {step.path}]")
            elif step.kind == "load":
                lines.append(f"          -> load {step.path}")
            elif step.kind == "self-load":
                lines.append(f"          -> load {step.path} (by itself)")
            elif step.kind == "open":
                lines.append(f"      open {short(step.what)}")
            else:
                lines.append(f"      {step.kind}: {step.what}   [on {step.path}]")
        return lines

    # --- Keeping the log -----------------------------------------------------------------------

    def _do(self, kind, target, act, navigates, until, timeout):
        name = target.evaluate(_NAME)
        with self._action(kind, name):
            if navigates:
                with self.page.expect_event("domcontentloaded", timeout=timeout):
                    act()
                self.page.wait_for_load_state("load", timeout=timeout)
            else:
                act()
            if until is not None:
                until()
            # What `until` waits for can show while a page the tap loads is still arriving:
            # that load is the person's too.
            self.page.wait_for_load_state("load", timeout=timeout)

    def _action(self, kind: str, what: str):
        return _Acting(self, kind, what)

    def _settle(self):
        """Let every event Playwright already has for this page reach `_loaded` now, so a load
        is put down to the window it happened in (one round trip to the browser)."""
        self.page.context.cookies()

    def _loaded(self, page):
        if not page.url.startswith(f"{self.base_url}/"):
            return
        self.log.append(Step("load" if self._acting else "self-load", page.url, page.url))


class _Acting:
    """While a person acts, the pages that load are theirs."""

    def __init__(self, person: Person, kind: str, what: str):
        self.person, self.kind, self.what = person, kind, what

    def __enter__(self):
        self.person._settle()  # a load from before the action was the page's own
        self.person.log.append(Step(self.kind, self.what, self.person.page.url))
        self.person._acting = True

    def __exit__(self, *exc):
        try:
            self.person._settle()
        finally:
            self.person._acting = False
        return False


def expect_on(page, pattern, timeout: float | None = None):
    """Wait until the page is at a URL matching `pattern`, and loaded."""
    expect(page).to_have_url(pattern, timeout=timeout)
    page.wait_for_load_state("load")
