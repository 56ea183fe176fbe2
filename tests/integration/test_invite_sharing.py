"""The invite page's ways to pass the link on: Copy and Share (shown by invite.js, hidden
without it, so the read-only field stays the way without JavaScript), and a QR code of the
link made on the server, inline, for pairing in the same room."""

import html
import re

import segno
from sqlalchemy import update

from app.couple.models import Couple
from app.couple.views import invite_qr
from app.db import utcnow
from app.extensions import db
from tests.qr import dark_cells


def qr_source(page: str) -> str:
    return html.unescape(re.search(r'<img class="invite-qr" id="invite-qr" src="([^"]+)"', page)[1])


def cells_of(text: str) -> set[tuple[int, int]]:
    return {
        (column, row)
        for row, line in enumerate(segno.make(text, error="m").matrix_iter(border=4))
        for column, dark in enumerate(line)
        if dark
    }


def test_the_qr_code_on_the_invite_page_opens_the_invite_link(person):
    anna = person("Anna")
    anna.create_couple()
    link = anna.invite_link()
    page = anna.get("/couple/invite").text
    source = qr_source(page)
    # Inline, so the page asks no other server for it (the CSP allows data: images only).
    assert source.startswith("data:image/svg+xml")
    assert source == invite_qr(link)
    assert dark_cells(source) == cells_of(link)
    assert dark_cells(source) != cells_of(link + "x")
    assert 'alt="QR code of the invite link"' in page


def test_a_new_link_gets_a_new_qr_code(person):
    anna = person("Anna")
    anna.create_couple()
    before = qr_source(anna.get("/couple/invite").text)
    anna.post("/couple/invite/renew")
    link = anna.invite_link()
    after = qr_source(anna.get("/couple/invite").text)
    assert after != before
    assert dark_cells(after) == cells_of(link)


def test_copy_and_share_wait_for_javascript_and_share_the_link_and_the_code(person):
    anna = person("Anna")
    code = anna.create_couple()
    link = anna.invite_link()
    page = anna.get("/couple/invite").text
    assert re.search(r'<button type="button"[^>]*id="invite-copy" hidden>Copy link</button>', page)
    assert re.search(
        r'<button type="button"[^>]*id="invite-share-button" hidden>Share</button>', page
    )
    assert 'src="/static/js/invite.js"' in page
    share_text = html.unescape(re.search(r'data-share-text="([^"]+)"', page)[1])
    assert share_text == f"Join me in Duet. The code is {code}, or open this link: {link}"


def test_the_share_text_is_in_the_persons_language(person):
    anna = person("Anna")
    anna.post("/settings/profile", data={"display_name": "Anna", "locale": "nl"})
    code = anna.create_couple()
    link = anna.invite_link()
    page = anna.get("/couple/invite").text
    share_text = html.unescape(re.search(r'data-share-text="([^"]+)"', page)[1])
    assert share_text == f"Doe met mij mee in Duet. De code is {code}, of open deze link: {link}"
    assert ">Link kopiëren</button>" in page
    assert ">Delen</button>" in page


def test_an_expired_invite_shows_no_qr_code_and_no_buttons(person, app):
    anna = person("Anna")
    anna.create_couple()
    with app.app_context():
        db.session.execute(update(Couple).values(invite_expires_at=utcnow()))
        db.session.commit()
    page = anna.get("/couple/invite").text
    assert "This invite has expired" in page
    for part in ("invite-qr", "invite-copy", "invite-share-button", "invite.js"):
        assert part not in page
