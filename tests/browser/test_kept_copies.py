"""My copy stays mine, on two phones: after both sign, Bram (Dutch) deletes his account;
Anna (English) is told only that the link ended, still finds the signed version and
downloads it, and her data download holds it as PDF and text."""

import io
import re
import zipfile

import pytest

from tests.browser.conftest import RENDER_TIMEOUT_MS
from tests.browser.pages import PASSWORD, SUBMIT, expect, follow, open_page
from tests.browser.test_signing import couple_agreeing, sign_here

pytestmark = pytest.mark.browser


def sign(page, check, name: str, full_name: str, timeout: float | None = None):
    open_page(page, "/agreement/sign")
    check(page, f"kept-sign-{name}")
    sign_here(page, full_name, timeout)
    check(page, f"kept-signed-{name}")


LIVE_UNDER_LOAD_MS = 15_000


def test_the_partner_who_stays_keeps_the_signed_version(signed_in, check, tmp_path):
    anna, bram = couple_agreeing(signed_in, check, prefix="kept")
    sign(anna, check, "anna-en", "Anna de Vries")
    sign(bram, check, "bram-nl", "Bram Jansen", timeout=RENDER_TIMEOUT_MS)

    open_page(bram, "/settings/delete")
    check(bram, "kept-delete-nl")
    expect(bram.locator("main")).to_contain_text("elke versie die jullie allebei ondertekenden")
    bram.locator("#password").fill(PASSWORD)
    follow(bram, SUBMIT)

    # Anna's open page moves by itself to her signed versions, kept from the ended link.
    # Two moves (final, then the link ended), each on a poll every 2 s: slower under load.
    expect(anna).to_have_url(re.compile(r"/agreements$"), timeout=LIVE_UNDER_LOAD_MS)
    expect(anna.locator("main")).to_contain_text("From an earlier link", timeout=LIVE_UNDER_LOAD_MS)
    open_page(anna, "/")
    check(anna, "kept-home-notice-en")
    notice = anna.locator(".notice", has_text="Your link with Bram in Duet has ended.")
    expect(notice).to_contain_text("Every version you both signed is still yours.")
    follow(anna, '.notice a[href="/agreements"]')
    check(anna, "kept-versions-en")
    expect(anna.locator("main")).to_contain_text("From an earlier link")
    expect(anna.locator("main")).to_contain_text("Version 1, with Anna & Bram")
    with anna.expect_download(timeout=RENDER_TIMEOUT_MS) as download_info:
        anna.locator('a[href^="/agreements/kept/"]').click()
    download = download_info.value
    assert download.suggested_filename.startswith("duet-agreement-")
    assert download.suggested_filename.endswith("-v1.pdf")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")

    open_page(anna, "/settings")
    check(anna, "kept-settings-en")
    with anna.expect_download() as export_info:
        anna.locator('a[href="/settings/export"]').click()
    archive = tmp_path / "export.zip"
    export_info.value.save_as(archive)
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as package:
        names = package.namelist()
        assert "duet-my-data.json" in names
        kept = [name for name in names if name.startswith("agreements/kept/")]
        assert sorted(name.rsplit(".", 1)[1] for name in kept) == ["pdf", "txt"]
        text = package.read(next(name for name in kept if name.endswith(".txt"))).decode()
        assert "Bram Jansen" in text and "Anna de Vries" in text
