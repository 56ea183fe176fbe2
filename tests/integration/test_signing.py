"""Signing, the final PDF, versions, the review date and the public verify page."""

import base64
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.accounts.models import User
from app.content import library
from app.couple.models import Couple
from app.db import utcnow
from app.drafting import services as drafting
from app.drafting.models import Agreement, AgreementClause
from app.extensions import db
from app.signing.models import FinalDocument
from tests.conftest import PASSWORD
from tests.integration.signing_helpers import (
    blank_png_data_url,
    corrupt_png_data_url,
    finalise_through_services,
    png_data_url,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pyhanko.*")

# A PNG signature and the start of a header: 20 bytes, too short to hold a size.
SHORT_PNG = (
    "data:image/png;base64,"
    + base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x01\x2c").decode()
)


def versions(person) -> dict[int, int]:
    page = person.get("/agreement/live").text
    return {int(i): int(v) for i, v in re.findall(r'id="clause-(\d+)" data-version="(\d+)"', page)}


@pytest.fixture
def agreed(partners):
    """The basic starter, every clause approved by both: ready to sign."""
    anna, bram = partners
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    for person in (anna, bram):
        for clause, version in versions(person).items():
            person.post(f"/agreement/clauses/{clause}/approve", data={"version": version})
    return anna, bram


def sign_data(name="Anna Lou Example", **changes):
    data = {
        "full_name": name,
        "signature": png_data_url(),
        "review_on": (utcnow().date() + timedelta(days=28)).isoformat(),
        "agreed": "y",
        "password": PASSWORD,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_both_sign_and_download_the_same_sealed_pdf(agreed, client):
    anna, bram = agreed
    page = anna.get("/agreement/sign")
    assert page.status_code == 200
    assert "Content fingerprint" in page.text
    assert anna.post("/agreement/sign", data=sign_data()).status_code == 302
    assert "Anna has signed. Yours is the last signature." in bram.get("/agreement/sign").text
    assert "You have signed" in anna.get("/agreement/sign").text
    done = bram.post("/agreement/sign", data=sign_data("Bram Example", typed="y", signature=""))
    assert done.location == "/agreements"
    listing = bram.get("/agreements").text
    assert "Version 1" in listing
    link = re.search(r'href="(/agreements/\d+/pdf)"', listing).group(1)
    first, second = anna.get(link), bram.get(link)
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.data.startswith(b"%PDF")
    assert first.data == second.data
    verdict = client.post("/verify", data={"document": (io.BytesIO(first.data), "agreement.pdf")})
    assert verdict.status_code == 200
    assert "Genuine and unaltered" in verdict.text
    assert "Anna" in verdict.text and "Bram" in verdict.text


def test_a_change_after_one_signature_voids_it(agreed, app):
    anna, bram = agreed
    anna.post("/agreement/sign", data=sign_data())
    with app.app_context():
        pause = db.session.scalar(
            select(AgreementClause.id).where(AgreementClause.template_id == "pause-has-a-limit")
        )
    bram.post(
        f"/agreement/clauses/{pause}/params",
        data={"version": versions(bram)[pause], "param-minutes": "45"},
    )
    page = anna.get("/agreement/sign").text
    assert "Your signature no longer counts." in page
    assert "Bram changed “A pause has an end” after you signed." in page
    assert "Every clause needs a yes from both of you" in page
    refused = anna.post("/agreement/sign", data=sign_data())
    assert refused.status_code == 409
    assert "Every clause needs a yes from both of you" in refused.text


def test_signing_before_everything_is_agreed_is_refused(partners):
    anna, _bram = partners
    anna.post("/agreement/start", data={"language": "en", "starter": "basic"})
    response = anna.post("/agreement/sign", data=sign_data())
    assert response.status_code == 409
    assert "Every clause needs a yes from both of you" in response.text


def test_signing_twice_is_refused(agreed):
    anna, _bram = agreed
    anna.post("/agreement/sign", data=sign_data())
    again = anna.post("/agreement/sign", data=sign_data())
    assert again.status_code == 409
    assert "already signed" in again.text


def test_a_third_signature_on_a_final_agreement_is_refused(agreed):
    anna, bram = agreed
    anna.post("/agreement/sign", data=sign_data())
    bram.post("/agreement/sign", data=sign_data("Bram Example"))
    third = anna.post("/agreement/sign", data=sign_data())
    assert third.status_code == 409
    assert "already signed by both of you" in third.text


def test_wrong_password_keeps_the_name_and_the_drawing(agreed):
    anna, _bram = agreed
    drawing = png_data_url()
    response = anna.post(
        "/agreement/sign", data=sign_data(password="not my password", signature=drawing)
    )
    assert response.status_code == 400
    assert 'id="password-error"' in response.text
    assert "That is not your password." in response.text
    assert 'value="Anna Lou Example"' in response.text
    assert f'value="{drawing}"' in response.text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "Please type your full name."),
        ({"full_name": "\u200b\u2060\u00ad"}, "full_name", "Please type your full name."),
        ({"full_name": "\u202e \ufeff"}, "full_name", "Please type your full name."),
        ({"signature": ""}, "signature", "Please draw your signature"),
        ({"signature": "data:image/png;base64," + "A" * 500_000}, "signature", "could not be read"),
        (
            {"signature": "data:image/gif;base64,R0lGODlhAQABAAAAACw="},
            "signature",
            "could not be read",
        ),
        ({"signature": "data:image/png;base64,bm90IGEgcG5n"}, "signature", "could not be read"),
        ({"signature": SHORT_PNG}, "signature", "could not be read"),
        ({"signature": corrupt_png_data_url()}, "signature", "could not be read"),
        ({"signature": blank_png_data_url()}, "signature", "blank"),
        ({"agreed": None}, "agreed", "tick the box"),
        ({"review_on": "1999-01-01"}, "review_on", "within the coming year"),
    ],
)
def test_bad_signing_input_is_a_400_with_a_message(agreed, app, changes, field, message):
    anna, _bram = agreed
    response = anna.post("/agreement/sign", data=sign_data(**changes))
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert message in response.text
    with app.app_context():
        assert drafting.current_draft is not None
        assert db.session.scalar(select(FinalDocument)) is None


def test_a_final_agreement_refuses_every_change(agreed, app):
    anna, _bram = agreed
    agreement_id = finalise_through_services(app, anna.email)
    with app.test_request_context(method="POST"):
        content = library()
        agreement = db.session.get(Agreement, agreement_id)
        user = db.session.scalar(select(User).where(User.email == anna.email))
        clause = drafting.active_clauses(agreement)[1]
        clause_id = clause.id
        changes = [
            lambda: drafting.add_clause(agreement, user, "no-blaming", content),
            lambda: drafting.add_custom_clause(agreement, user, "Late", "Too late.", content),
            lambda: drafting.update_params(
                agreement, clause, user, clause.version, {"param-minutes": "30"}, content
            ),
            lambda: drafting.approve(agreement, clause, user, clause.version, content),
            lambda: drafting.withdraw(agreement, clause, user, clause.version, content),
            lambda: drafting.remove(agreement, clause, user, clause.version, content),
            lambda: drafting.restore(agreement, clause, user, content),
            lambda: drafting.move(agreement, clause, user, 1, content),
            lambda: drafting.set_language(agreement, user, "nl", content),
        ]
        for change in changes:
            with pytest.raises(drafting.AgreementClosed):
                change()
            db.session.rollback()
        before = db.session.get(FinalDocument, agreement_id).pdf
    # Over HTTP a change to the final agreement is refused as too late, not as unknown.
    assert (
        anna.post(f"/agreement/clauses/{clause_id}/remove", data={"version": 1}).status_code == 409
    )
    assert anna.get(f"/agreements/{agreement_id}/pdf").data == before


def _sealed(app, email) -> bytes:
    agreement_id = finalise_through_services(app, email)
    with app.app_context():
        return db.session.get(FinalDocument, agreement_id).pdf


def _verify(client, data: bytes, name="agreement.pdf"):
    return client.post("/verify", data={"document": (io.BytesIO(data), name)})


def test_verify_genuine(partners, app, client):
    anna, _bram = partners
    page = _verify(client, _sealed(app, anna.email))
    assert "Genuine and unaltered" in page.text
    with app.app_context():
        fingerprint = db.session.scalar(select(FinalDocument.fingerprint))
    grouped = " ".join(fingerprint[index : index + 4] for index in range(0, 64, 4))
    assert grouped in page.text


def test_verify_one_byte_changed(partners, app, client):
    anna, _bram = partners
    data = bytearray(_sealed(app, anna.email))
    middle = len(data) // 3
    data[middle] = (data[middle] + 1) % 256
    page = _verify(client, bytes(data))
    assert "Genuine and unaltered" not in page.text
    assert "Changed after it was sealed" in page.text or "Not a readable PDF" in page.text


def test_verify_an_incremental_update_by_another_tool(partners, app, client):
    from pyhanko.pdf_utils.generic import NameObject, TextStringObject
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    anna, _bram = partners
    writer = IncrementalPdfFileWriter(io.BytesIO(_sealed(app, anna.email)))
    writer.document_meta.title = "Changed afterwards"
    writer.root[NameObject("/DuetNote")] = TextStringObject("appended")
    writer.update_root()
    output = io.BytesIO()
    writer.write(output)
    page = _verify(client, output.getvalue())
    assert "Changed after it was sealed" in page.text


def _unsealed(app, email) -> bytes:
    """The same agreement rendered again, without the seal."""
    from app.signing import pdf, services

    agreement_id = finalise_through_services(app, email)
    with app.test_request_context():
        agreement = db.session.get(Agreement, agreement_id)
        partners = db.session.get(Couple, agreement.couple_id).partners
        document = db.session.get(FinalDocument, agreement_id)
        signatures = services.active_signatures(agreement)
        return pdf.render_pdf(
            services.document_for(agreement, document, partners, signatures, library())
        )


def test_verify_sealed_with_another_key(partners, app, client, tmp_path):
    from app.signing import pdf

    anna, _bram = partners
    stranger = pdf.Sealer.create(tmp_path / "another-duet")
    page = _verify(client, pdf.seal_pdf(_unsealed(app, anna.email), stranger))
    assert "Sealed, but not by this Duet" in page.text


def test_verify_an_unsealed_pdf(partners, app, client):
    anna, _bram = partners
    assert "Not sealed" in _verify(client, _unsealed(app, anna.email)).text


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n" + bytes(range(256)) * 20, "Not a readable PDF"),
        (bytes(range(256)) * 40, "Not a readable PDF"),
        (b"just some text, not a pdf", "Not a readable PDF"),
    ],
)
def test_verify_random_files(client, data, verdict):
    assert verdict in _verify(client, data).text


def test_verify_a_truncated_pdf(partners, app, client):
    anna, _bram = partners
    data = _sealed(app, anna.email)
    page = _verify(client, data[: len(data) // 2])
    assert "Genuine and unaltered" not in page.text


def test_verify_an_empty_upload(client):
    response = client.post("/verify", data={})
    assert response.status_code == 400
    assert 'id="document-error"' in response.text
    response = client.post("/verify", data={"document": (io.BytesIO(b""), "")})
    assert response.status_code == 400


def test_verify_an_oversized_upload(make_app):
    app = make_app(VERIFY_MAX_BYTES=1000)
    client = app.test_client()
    response = _verify(client, b"%PDF" + b"0" * 2000)
    assert response.status_code == 400
    assert "too large" in response.text
    # Past the verify page's own limit (VERIFY_MAX_BYTES + 64 KiB) the request itself is refused.
    # The body as plain bytes, so no temporary file is left open when it is refused unread.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="document"; filename="big.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + b"0" * (7 * 1024 * 1024) + b"\r\n--b--\r\n"
    )
    huge = client.post("/verify", data=body, content_type="multipart/form-data; boundary=b")
    assert huge.status_code == 413


def test_revise_starts_the_next_version_and_keeps_the_old(partners, app):
    anna, bram = partners
    first = finalise_through_services(app, anna.email)
    old_pdf = anna.get(f"/agreements/{first}/pdf").data
    assert bram.post(f"/agreements/{first}/revise").status_code == 302
    page = anna.get("/agreement").text
    assert "Tell me you need space" in page
    assert "Anna agrees" not in page and "Bram agrees" not in page
    second = finalise_through_services(app, anna.email)
    listing = anna.get("/agreements").text
    assert "Version 2" in listing and "Version 1" in listing
    assert anna.get(f"/agreements/{first}/pdf").data == old_pdf
    assert anna.get(f"/agreements/{second}/pdf").data != old_pdf
    assert bram.post(f"/agreements/{first}/revise").status_code == 302  # a draft of v3 now
    assert anna.post(f"/agreements/{second}/revise").status_code == 302
    assert "already have an agreement in drafting" in anna.get("/agreement").text


def test_review_date_calendar_file_and_reminder(partners, app):
    anna, bram = partners
    agreement_id = finalise_through_services(app, anna.email)
    calendar = anna.get(f"/agreements/{agreement_id}/review.ics")
    assert calendar.mimetype == "text/calendar"
    review_on = (utcnow().date() + timedelta(days=28)).strftime("%Y%m%d")
    assert f"DTSTART;VALUE=DATE:{review_on}" in calendar.text
    assert "It is time to talk" not in bram.get("/").text
    with app.app_context():
        db.session.execute(
            update(FinalDocument).values(review_on=utcnow().date() + timedelta(days=3))
        )
        db.session.commit()
    assert "It is time to talk about how your agreement is going." in bram.get("/").text
    assert "Download your agreement (version 1)" in anna.get("/").text


def test_the_cli_renders_and_seals_a_final_agreement_again(partners, app, tmp_path):
    from app.signing import pdf, services

    anna, _bram = partners
    agreement_id = finalise_through_services(app, anna.email)
    output = tmp_path / "again.pdf"
    result = app.test_cli_runner().invoke(
        args=["signing", "render", str(agreement_id), str(output)]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        verdict = pdf.verify_pdf(output.read_bytes(), services.sealer())
        stored = db.session.get(FinalDocument, agreement_id)
        assert verdict.status == "genuine"
        assert verdict.fingerprint == stored.fingerprint
    missing = app.test_cli_runner().invoke(args=["signing", "render", "9999", str(output)])
    assert missing.exit_code != 0
    assert "no final agreement" in missing.output


def test_export_holds_my_signatures_only(partners, app):
    import json

    anna, bram = partners
    finalise_through_services(app, anna.email)
    mine = anna.export()[0]["signatures"]
    assert [item["full_name"] for item in mine] == ["Anna Example"]
    assert mine[0]["drawing_png_base64"]
    assert len(mine[0]["content_fingerprint"]) == 64
    # Bram's copy of the agreement shows Anna's signature; his data does not hold it.
    assert "Anna Example" not in json.dumps(bram.export()[0])
