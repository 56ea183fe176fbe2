"""Signing the agreement on two phones, downloading the sealed PDF and checking it.

Anna (English) and Bram (Dutch) agree to every clause of the basic starter. Anna draws her
signature with the mouse; the page does not scroll while she draws, and the drawing survives
a resize and a form sent back for a wrong password. Bram sees that Anna signed, erases a first
attempt, draws again, this time with a finger, and signs: the agreement is final. Both download
the same PDF, the public verify page calls it genuine in both languages, and a file that is not
a PDF gets a calm answer. The PDF's pages are rendered to tests/screenshots/ to be looked at.
"""

import re
import shutil
import subprocess

import pytest

from tests.browser.conftest import RENDER_TIMEOUT_MS, SCREENSHOTS
from tests.browser.couples import couple
from tests.browser.pages import PASSWORD, SUBMIT, agree_to_everything, expect, follow, open_page

pytestmark = pytest.mark.browser

PNG_DATA_URL = "data:image/png"
PDF_PAGES = "agreement-pdf"  # pdftoppm writes agreement-pdf-1.png, agreement-pdf-2.png, ...

# How many pixels of the signature pad carry ink (alpha above zero).
INK = """(canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let index = 3; index < data.length; index += 4) if (data[index]) count += 1;
  return count;
}"""

# Strokes as fractions of the pad: a wave, a loop, an underline.
STROKES = (
    [(0.10, 0.60), (0.18, 0.30), (0.26, 0.65), (0.34, 0.35), (0.42, 0.60), (0.50, 0.40)],
    [(0.55, 0.55), (0.62, 0.25), (0.70, 0.55), (0.62, 0.70), (0.58, 0.50), (0.75, 0.45)],
    [(0.12, 0.82), (0.35, 0.80), (0.60, 0.84), (0.88, 0.80)],
)


# --- Getting there: registered, joined, every clause agreed by both -----------------------------


def start_and_agree(anna, bram):
    """Anna starts the basic starter in English; both agree to every clause."""
    open_page(anna, "/agreement")
    anna.locator('input[name="language"][value="en"]').check()
    anna.locator('input[name="starter"][value="basic"]').check()
    follow(anna, SUBMIT)
    agree_to_everything(anna)
    open_page(bram, "/agreement")
    agree_to_everything(bram)


def couple_agreeing(signed_in, check, prefix: str = "sign"):
    """Anna (English) and Bram (Dutch), joined, agreeing to every clause of the basic starter.

    `prefix` starts the screenshot names, so another module can use this too."""
    anna, bram = couple(signed_in, check, prefix, tag="signs")

    start_and_agree(anna, bram)
    expect(bram.locator("#summary")).to_contain_text(
        "Jullie gaan allebei akkoord met elke afspraak."
    )
    check(bram, f"{prefix}-agreed-nl")
    anna.reload()
    expect(anna.locator("#summary")).to_contain_text("You both agree to every clause.")
    check(anna, f"{prefix}-agreed-en")
    return anna, bram


# --- The signature pad -------------------------------------------------------------------------


def pad(page):
    return page.locator("canvas[data-signature-pad]")


def ink(page) -> int:
    return pad(page).evaluate(INK)


def scroll_y(page) -> float:
    return page.evaluate("() => window.scrollY")


def settled_scroll_y(page) -> float:
    """The scroll position once the page has stopped moving: a swipe just before may still
    be coasting on a loaded machine, which is not the pad scrolling the page."""
    last = scroll_y(page)
    for _ in range(20):
        page.wait_for_timeout(150)
        now = scroll_y(page)
        if now == last:
            return now
        last = now
    return last


def pad_box(page):
    pad(page).scroll_into_view_if_needed()
    box = pad(page).bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, box
    return box


def draw_with_mouse(page):
    """A few strokes with the mouse, each in several steps, inside the pad."""
    box = pad_box(page)
    at = lambda x, y: (box["x"] + x * box["width"], box["y"] + y * box["height"])  # noqa: E731
    before = scroll_y(page)
    for stroke in STROKES:
        page.mouse.move(*at(*stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(*point), steps=4)
        page.mouse.up()
    assert scroll_y(page) == before, "the page scrolled while drawing"


def sign_here(page, full_name: str, timeout: float | None = None):
    """On the signing page: draw, type the full name, agree, give the password and sign."""
    draw_with_mouse(page)
    page.locator("#full_name").fill(full_name)
    page.locator("#agreed").check()
    page.locator("#password").fill(PASSWORD)
    follow(page, SUBMIT, timeout=timeout)


def touch(cdp, kind: str, x: float | None = None, y: float | None = None):
    points = [] if x is None else [{"x": x, "y": y, "id": 1, "radiusX": 4, "radiusY": 4}]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


def swipe(page, cdp, points):
    """One finger down at the first point, along the others, and up: as a phone reports it."""
    touch(cdp, "touchStart", *points[0])
    for x, y in points[1:]:
        touch(cdp, "touchMove", x, y)
    touch(cdp, "touchEnd")
    page.wait_for_timeout(300)  # let a scroll the swipe might have started come to rest


def draw_with_finger(page):
    """Strokes with a finger, upwards, the way that would scroll the page if the pad allowed it.

    A control swipe on the text above the pad first proves such a swipe does scroll here.
    """
    cdp = page.context.new_cdp_session(page)
    page.evaluate("() => window.scrollTo(0, 0)")
    assert pad(page).bounding_box()["y"] > 700, "the pad is where the control swipe goes"
    swipe(page, cdp, [(195, 650 - 50 * step) for step in range(8)])
    assert scroll_y(page) > 0, "a swipe outside the pad did not scroll: no control"

    box = pad_box(page)
    before = settled_scroll_y(page)
    for stroke in STROKES:
        points = [
            (box["x"] + x * box["width"], box["y"] + (1 - y) * box["height"]) for x, y in stroke
        ]
        swipe(page, cdp, points)
    assert scroll_y(page) == before, "the page scrolled while drawing with a finger"
    cdp.detach()


def expect_drawing_kept(page, signature: str):
    """The pad shows ink and the hidden field still carries the drawing."""
    page.wait_for_function(f"(canvas) => ({INK})(canvas) > 50", arg=pad(page).element_handle())
    value = page.locator("#signature").input_value()
    assert value.startswith(PNG_DATA_URL), value[:40]
    assert value == signature, "the drawing sent with the form changed"


# --- The test ---------------------------------------------------------------------------------


def test_signing_downloading_and_verifying(signed_in, check, screenshot, tmp_path):
    anna, bram = couple_agreeing(signed_in, check)
    problems = []  # faults found on the way that need not stop the rest of the test

    # --- Anna goes to signing from the agreement page.
    follow(anna, '#summary a[href="/agreement/sign"]')
    expect(anna.locator("h1")).to_have_text("Sign your agreement")
    expect(anna.locator(".preview-clauses > li")).to_have_count(6)
    review_on = anna.locator("#review_on").input_value()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", review_on), review_on
    check(anna, "sign-en")
    assert ink(anna) == 0
    expect(anna.locator("#signature")).to_have_value("")

    draw_with_mouse(anna)
    signature = anna.locator("#signature").input_value()
    assert signature.startswith(f"{PNG_DATA_URL};base64,"), signature[:40]
    drawn = ink(anna)
    assert drawn > 200, f"only {drawn} pixels of ink after three strokes"
    screenshot(anna, "sign-drawn-en")

    # A resize (a phone turned sideways, the address bar sliding away) keeps the drawing.
    anna.set_viewport_size({"width": 844, "height": 390})
    anna.wait_for_function("() => window.innerWidth === 844")
    expect_drawing_kept(anna, signature)
    anna.set_viewport_size({"width": 390, "height": 844})
    anna.wait_for_function("() => window.innerWidth === 390")
    expect_drawing_kept(anna, signature)

    # A wrong password sends the form back, keeping her name and her drawing.
    anna.locator("#full_name").fill("Anna Maria de Vries")
    anna.locator("#agreed").check()
    anna.locator("#password").fill("not my password")
    follow(anna, SUBMIT, status=400)
    expect(anna.locator("#password-error")).to_have_text("That is not your password.")
    expect(anna.locator("#password")).to_have_attribute("aria-invalid", "true")
    expect(anna.locator("#full_name")).to_have_value("Anna Maria de Vries")
    expect(anna.locator("#agreed")).to_be_checked()
    expect_drawing_kept(anna, signature)
    pad(anna).scroll_into_view_if_needed()
    screenshot(anna, "sign-error-drawing-en")
    check(anna, "sign-error-en")

    # The drawing put back after the error survives a resize too (the full-page screenshot
    # in check() resizes the viewport as well). Checked here but failed at the end, so that
    # a failure here does not hide what the rest of the test finds.
    anna.set_viewport_size({"width": 844, "height": 390})
    anna.wait_for_function("() => window.innerWidth === 844")
    anna.set_viewport_size({"width": 390, "height": 844})
    anna.wait_for_function("() => window.innerWidth === 390")
    anna.wait_for_timeout(300)
    if ink(anna) == 0:
        kept = anna.locator("#signature").input_value() == signature
        problems.append(
            "after the form came back with an error, a resize blanked the signature pad "
            f"(the hidden #signature {'still holds the old drawing' if kept else 'changed'})"
        )
    else:
        expect_drawing_kept(anna, signature)

    anna.locator("#password").fill(PASSWORD)
    follow(anna, SUBMIT)
    assert anna.url.endswith("/agreement/sign"), anna.url
    expect(anna.locator("main")).to_contain_text("You have signed.")
    expect(anna.locator(".signature-status li")).to_have_count(1)
    expect(anna.locator("canvas[data-signature-pad]")).to_have_count(0)

    # --- Bram sees that Anna signed; he erases a first try and signs with his finger.
    open_page(bram, "/agreement/sign")
    expect(bram.locator("#signing-status")).to_contain_text(
        "Anna heeft ondertekend. Jouw handtekening is de laatste."
    )
    expect(bram.locator("h1")).to_have_text("Onderteken jullie overeenkomst")
    expect(bram.locator("#review_on")).to_have_value(review_on)  # the first signer's choice
    check(bram, "sign-nl")

    draw_with_mouse(bram)
    expect(bram.locator("#signature")).to_have_value(re.compile(f"^{re.escape(PNG_DATA_URL)}"))
    bram.locator("[data-erase]").click()
    expect(bram.locator("#signature")).to_have_value("")
    assert ink(bram) == 0, "Erase left ink on the pad"
    draw_with_finger(bram)
    bram_signature = bram.locator("#signature").input_value()
    assert bram_signature.startswith(PNG_DATA_URL), bram_signature[:40]
    assert ink(bram) > 200
    screenshot(bram, "sign-drawn-nl")

    bram.locator("#full_name").fill("Bram Jansen")
    bram.locator("#agreed").check()
    bram.locator("#password").fill(PASSWORD)
    follow(bram, SUBMIT, timeout=RENDER_TIMEOUT_MS)  # the second signature finalises
    assert bram.url.endswith("/agreements"), bram.url
    expect(bram.locator("main")).to_contain_text(
        "Jullie hebben allebei ondertekend. Jullie overeenkomst is definitief."
    )
    version = bram.locator("ul.versions > li")
    expect(version).to_have_count(1)
    expect(version.locator("h2")).to_have_text("Versie 1")
    check(bram, "versions-nl")

    # --- Both download the PDF: the same sealed bytes. Anna's signing page moved to the
    # final agreement by itself (live.js).
    expect(anna).to_have_url(re.compile(r"/agreements$"))
    expect(anna.locator("ul.versions > li h2")).to_have_text("Version 1")
    check(anna, "versions-en")
    downloads = {}
    for name, page, label in (
        ("anna", anna, "Download the PDF"),
        ("bram", bram, "De pdf downloaden"),
    ):
        link = page.get_by_role("link", name=label)
        assert "/pdf" in link.get_attribute("href")
        with page.expect_download(timeout=RENDER_TIMEOUT_MS) as download_info:
            link.click()
        download = download_info.value
        # The day it became final and its version: duet-agreement-2026-12-01-v1.pdf
        assert re.fullmatch(r"duet-agreement-\d{4}-\d\d-\d\d-v1\.pdf", download.suggested_filename)
        target = tmp_path / f"{name}.pdf"
        download.save_as(target)
        downloads[name] = target.read_bytes()
    assert downloads["anna"].startswith(b"%PDF"), downloads["anna"][:20]
    assert downloads["anna"] == downloads["bram"], "Anna and Bram downloaded different PDFs"
    agreement_pdf = tmp_path / "anna.pdf"

    # The pages of the PDF as images, to look at.
    for old in SCREENSHOTS.glob(f"{PDF_PAGES}-*.png"):
        old.unlink()
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", str(agreement_pdf), str(SCREENSHOTS / PDF_PAGES)],
            check=True,
            timeout=30,
        )
        assert list(SCREENSHOTS.glob(f"{PDF_PAGES}-*.png")), "pdftoppm made no page images"

    # --- Anna checks it on the public verify page.
    open_page(anna, "/verify")
    check(anna, "verify-en")
    anna.set_input_files("#document", agreement_pdf)
    follow(anna, SUBMIT)
    result = anna.locator(".verify-result")
    expect(result).to_have_class("card verify-result verify-genuine")
    expect(result.locator("h2")).to_have_text("Genuine and unaltered")
    expect(result).to_contain_text("between Anna & Bram")
    check(anna, "verify-genuine-en")

    # A file that is not a PDF gets a calm answer, not an error page.
    anna.set_input_files(
        "#document",
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Our shopping list\n"},
    )
    follow(anna, SUBMIT)
    expect(result.locator("h2")).to_have_text("Not a readable PDF")
    expect(result).to_have_class("card verify-result verify-unreadable")
    check(anna, "verify-unreadable-en")

    # --- Bram checks his own download, in Dutch.
    open_page(bram, "/verify")
    bram.set_input_files("#document", tmp_path / "bram.pdf")
    follow(bram, SUBMIT)
    result = bram.locator(".verify-result")
    expect(result.locator("h2")).to_have_text("Echt, en niets aan veranderd")
    expect(result).to_contain_text("Anna & Bram")
    check(bram, "verify-genuine-nl")

    assert not problems, "; ".join(problems)
