"""Reaching a final agreement quickly, through the services, for tests about what follows."""

import base64
import struct
import zlib
from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.content import library
from app.couple import services as couples
from app.db import utcnow
from app.drafting import services as drafting
from app.extensions import db
from app.signing import services as signing
from app.transaction import unit_of_work
from tests.conftest import PASSWORD


def png_data_url(width: int = 300, height: int = 100) -> str:
    """A small, real PNG: a dark line on white, as a signature pad would send."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            ink = abs(y - height // 2 - (x % 40) // 4) < 2
            row += bytes([30, 42, 48, 255] if ink else [255, 255, 255, 0])
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode()


def corrupt_png_data_url() -> str:
    """A drawing whose header is sound and whose pixel data is zeros: it cannot be decoded."""
    png = base64.b64decode(png_data_url().split(",", 1)[1])
    idat = png.index(b"IDAT")
    corrupt = png[: idat + 4] + bytes(len(png) - idat - 16) + png[-12:]
    return "data:image/png;base64," + base64.b64encode(corrupt).decode()


def blank_png_data_url() -> str:
    """A pad sent without a stroke: every pixel transparent."""
    png = base64.b64decode(png_data_url().split(",", 1)[1])
    header = png[:33]
    rows = zlib.compress(bytes(300 * 4 + 1) * 100)
    idat = struct.pack(">I", len(rows)) + b"IDAT" + rows
    idat += struct.pack(">I", zlib.crc32(b"IDAT" + rows))
    return "data:image/png;base64," + base64.b64encode(header + idat + png[-12:]).decode()


def finalise_through_services(app, email: str, extra_clauses=()) -> int:
    """Draft (if needed), approve everything and sign twice, each step in its own
    transaction as the pages would; returns the agreement id. `extra_clauses` are
    (template id, values) added to the basic starter's clauses first."""
    with app.test_request_context(method="POST"):
        with unit_of_work():
            user = db.session.scalar(select(User).where(User.email == email))
            couple = couples.couple_of(user)
            content = library()
            draft = drafting.current_draft(couple) or drafting.start_agreement(
                couple, user, "en", "basic", content
            )
            for template_id, values in extra_clauses:
                clause = drafting.add_clause(draft, user, template_id, content)
                clause.params = dict(clause.params) | values
            for clause in drafting.active_clauses(draft):
                for person in couple.partners:
                    drafting.approve(draft, clause, person, clause.version, content)
        for index in range(2):
            with unit_of_work():
                person = couple.partners[index]
                signing.sign(
                    draft,
                    person,
                    couple.partners,
                    password=PASSWORD,
                    full_name=f"{person.display_name} Example",
                    drawing=png_data_url(),
                    typed=False,
                    agreed=True,
                    review_on=utcnow().date() + timedelta(days=28),
                    library=content,
                )
        return draft.id
