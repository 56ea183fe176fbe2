"""The signed PDF: rendered, sealed and verified with plain arguments, no Flask app."""

import dataclasses
import datetime as dt
import io
import math
import os
import re
import stat
import subprocess

import pytest
import segno
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from PIL import Image, ImageDraw
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError

from app.signing.pdf import (
    STATIC,
    AuditLine,
    ForbiddenResource,
    PdfAgreement,
    PdfClause,
    PdfReplaces,
    PdfSignature,
    Sealer,
    SealUnavailable,
    StaticFetcher,
    _handwriting_size,
    _qr_code,
    _self_signed,
    document_id,
    render_pdf,
    seal_pdf,
    verify_pdf,
)
from tests.qr import dark_cells

UTC = dt.UTC
FINGERPRINT = "5d41402abc4b2a76b9719d911017c592" + "0123456789abcdef" * 2

CLAUSES = {
    "en": (
        PdfClause(
            "We say when we need a pause",
            "When one of us needs time to cool down, we say so, and say when we will come back: "
            "within 30 minutes.",
        ),
        PdfClause(
            "No silent treatment",
            "We do not ignore each other as a punishment.\nWe answer a direct question.",
        ),
    ),
    "nl": (
        PdfClause(
            "We zeggen het als we een pauze nodig hebben",
            "Als een van ons tijd nodig heeft om af te koelen, zeggen we dat, en zeggen we wanneer "
            "we terugkomen: binnen 30 minuten.",
        ),
        PdfClause(
            "Geen stilzwijgen",
            "We negeren elkaar niet als straf.\nWe geven antwoord op een directe vraag.",
        ),
    ),
}


def signature_png() -> bytes:
    image = Image.new("RGBA", (480, 160), (255, 255, 255, 0))
    points = [(30 + x * 4, 90 + 35 * math.sin(x / 8)) for x in range(105)]
    ImageDraw.Draw(image).line(points, fill=(20, 30, 60, 255), width=5)
    output = io.BytesIO()
    image.save(output, "PNG")
    return output.getvalue()


def make_agreement(language: str = "en", **changes) -> PdfAgreement:
    english = language == "en"
    values = dict(
        title="Our no-ignoring agreement" if english else "Onze overeenkomst: niet negeren",
        language=language,
        version=2,
        partners=("Anna", "Bram"),
        finalised_at=dt.datetime(2025, 11, 24, 20, 5, tzinfo=UTC),
        review_on=dt.date(2026, 2, 24),
        clauses=CLAUSES[language],
        fingerprint=FINGERPRINT,
        signatures=(
            PdfSignature(
                "Anna",
                "Anna de Vries",
                dt.datetime(2025, 11, 24, 20, 1, tzinfo=UTC),
                signature_png(),
                typed=False,
            ),
            PdfSignature(
                "Bram",
                "Bram Jansen",
                dt.datetime(2025, 11, 24, 20, 5, tzinfo=UTC),
                None,
                typed=True,
            ),
        ),
        audit=(
            AuditLine(dt.datetime(2025, 11, 20, 19, 2, tzinfo=UTC), "Anna started the agreement."),
            AuditLine(dt.datetime(2025, 11, 24, 23, 30, tzinfo=UTC), "Bram signed."),
        ),
        verify_url="https://duet.example/verify",
    )
    values.update(changes)
    return PdfAgreement(**values)


def pdf_text(pdf: bytes, page: int | None = None) -> str:
    """The text pdftotext reads, with every run of whitespace made one space."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *pages, "-", "-"], input=pdf, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode().split())


def page_count(pdf: bytes) -> int:
    return int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])


@pytest.fixture(scope="module")
def english():
    return render_pdf(make_agreement("en"))


@pytest.fixture(scope="module")
def dutch():
    return render_pdf(make_agreement("nl"))


@pytest.fixture(scope="module")
def sealer(tmp_path_factory):
    return Sealer.create(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="module")
def sealed(english, sealer):
    return seal_pdf(english, sealer)


# --- Rendering ---------------------------------------------------------------------------


def test_the_english_pdf_holds_the_whole_agreement(english):
    text = pdf_text(english)
    agreement = make_agreement("en")
    assert english.startswith(b"%PDF-")
    assert agreement.title in text
    assert "between Anna and Bram" in text
    assert "Version 2" in text
    for clause in agreement.clauses:
        assert clause.title in text
        assert " ".join(clause.text.split()) in text
    assert "Review date" in text and "24 February 2026" in text
    assert "Anna de Vries" in text and "Bram Jansen" in text
    assert FINGERPRINT in "".join(text.split())
    assert "Check this document at https://duet.example/verify" in text


def test_an_audit_trail_from_before_grouping_is_a_last_page_by_day_in_amsterdam_time(english):
    # make_agreement's lines name no person, as every snapshot taken before grouping.
    pages = page_count(english)
    assert pages >= 2
    assert f"Page 1 of {pages}" in pdf_text(english, page=1)
    assert "Audit trail" not in pdf_text(english, page=1)
    last = pdf_text(english, page=pages)
    assert last.startswith("Audit trail")
    assert f"Page {pages} of {pages}" in last
    # 23:30 UTC on 24 November is half past midnight on the 25th in Amsterdam.
    assert "25 November 2025 00:30 Bram signed." in last
    assert "20:02 Anna started the agreement." in last


def test_the_dutch_pdf_has_dutch_words_and_dates(dutch):
    text = pdf_text(dutch)
    assert "Onze overeenkomst: niet negeren" in text
    assert "Anna" in text and "Bram Jansen" in text
    for clause in CLAUSES["nl"]:
        assert clause.title in text
    assert "24 november 2025" in text
    assert "24 februari 2026" in text
    assert "21:01" in text  # 20:01 UTC, in Amsterdam time, the Dutch way
    assert FINGERPRINT in "".join(text.split())


def test_the_pdf_metadata_names_what_was_signed(english):
    info = PdfFileReader(io.BytesIO(english)).trailer_view["/Info"]
    assert info["/Title"] == "Our no-ignoring agreement"
    assert info["/DuetFingerprint"] == FINGERPRINT
    assert info["/DuetPartners"] == '["Anna", "Bram"]'
    assert info["/DuetVersion"] == "2"
    assert info["/DuetDocumentID"] == make_agreement("en").document_id
    assert info["/DuetSignedNames"] == '["Anna de Vries", "Bram Jansen"]'


# --- A document that reads like a promise --------------------------------------------------

DOCUMENT_ID = re.compile(
    r"^DUET-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"
)


def test_the_document_id_is_crockford_base32_from_fingerprint_and_time():
    finalised = dt.datetime(2026, 12, 1, 19, 15, tzinfo=UTC)
    identifier = document_id(FINGERPRINT, finalised)
    assert DOCUMENT_ID.match(identifier)
    # The same agreement and moment always give the same ID, whatever the time zone says.
    amsterdam = finalised.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert document_id(FINGERPRINT, amsterdam) == identifier
    assert make_agreement("en", finalised_at=finalised).document_id == identifier
    # Each version has its own: another moment, or another text.
    assert document_id(FINGERPRINT, finalised + dt.timedelta(seconds=1)) != identifier
    assert document_id("0" * 64, finalised) != identifier
    ids = {document_id(f"{index:064x}", finalised) for index in range(200)}
    assert len(ids) == 200 and all(DOCUMENT_ID.match(item) for item in ids)


def test_the_pdf_prints_its_document_id_and_the_preamble(english, dutch):
    first = pdf_text(english, page=1)
    assert f"Document ID {make_agreement('en').document_id}" in first
    assert (
        "This is a promise between us, not a legal contract. "
        "When one of us slips, we repair, we don’t prosecute." in first
    )
    assert "Dit is een belofte tussen ons" in pdf_text(dutch, page=1)
    # Version 2 without a known version 1 (as in an old snapshot) replaces nothing it names.
    assert "replaces" not in pdf_text(english)


def test_from_version_2_the_pdf_says_which_version_it_replaces():
    previous = PdfReplaces(1, "DUET-0123-4567-89AB", dt.datetime(2025, 6, 1, 22, 30, tzinfo=UTC))
    english = pdf_text(render_pdf(make_agreement("en", replaces=previous)), page=1)
    # 22:30 UTC on 1 June is 2 June in Amsterdam.
    assert "This version replaces version 1 (DUET-0123-4567-89AB), signed on 2 June 2025." in (
        english
    )
    dutch = pdf_text(render_pdf(make_agreement("nl", replaces=previous)), page=1)
    assert "versie 1 (DUET-0123-4567-89AB)" in dutch and "2 juni 2025" in dutch


def test_english_dates_are_day_month_and_times_24_hour(english):
    text = pdf_text(english)
    assert "Finalised on 24 November 2025" in text
    assert "Signed on 24 November 2025 at 21:01" in text  # 20:01 UTC, Amsterdam time
    assert "November 24" not in text and " PM" not in text and " AM" not in text


GROUPED = (
    AuditLine(dt.datetime(2025, 11, 20, 19, 2, tzinfo=UTC), "Anna started drafting.", "Anna"),
    AuditLine(dt.datetime(2025, 11, 21, 9, 0, tzinfo=UTC), "Bram agreed to all 2 clauses.", "Bram"),
    AuditLine(dt.datetime(2025, 11, 24, 20, 1, tzinfo=UTC), "Anna signed.", "Anna"),
    AuditLine(dt.datetime(2025, 11, 24, 20, 5, tzinfo=UTC), "Bram signed.", "Bram"),
    AuditLine(dt.datetime(2025, 11, 24, 20, 5, tzinfo=UTC), "Both had signed.", None),
)


def test_the_audit_trail_groups_each_persons_sentences_and_ends_with_technical_details():
    clause_fingerprints = ("ab" * 32, "cd" * 32)
    agreement = make_agreement("en", audit=GROUPED, clause_fingerprints=clause_fingerprints)
    pdf = render_pdf(agreement)
    last = pdf_text(pdf, page=page_count(pdf)).replace("• ", "")
    assert last.startswith("Audit trail")
    assert (
        "Anna Anna started drafting. Anna signed. Bram Bram agreed to all 2 clauses. "
        "Bram signed. Together Both had signed." in last
    )
    technical = last[last.index("Technical details") :]
    assert "Both had signed" not in technical
    assert f"Document ID: {agreement.document_id}" in technical
    assert FINGERPRINT in "".join(technical.split())
    # In clause order (pdftotext reads the numbers column first).
    assert f"{'ab' * 32} {'cd' * 32}" in technical
    # The fingerprints are only there, not beside the signatures or in the sentences.
    assert FINGERPRINT[:4] not in "".join(pdf_text(pdf, page=1).split())
    dutch = pdf_text(render_pdf(make_agreement("nl", audit=GROUPED)))
    assert "Samen" in dutch and "Technische details" in dutch


def closing_page(pdf: bytes, last_title: str, signed_by: str) -> int:
    """The page that has both the last clause's title and the signatures, or 0."""
    for page in range(1, page_count(pdf) + 1):
        text = pdf_text(page=page, pdf=pdf)
        if last_title in text and signed_by in text:
            return page
    return 0


@pytest.mark.parametrize("count", [5, 12])
@pytest.mark.parametrize("language, signed_by", [("en", "Signed by"), ("nl", "Ondertekend door")])
def test_the_signatures_are_on_the_page_of_the_last_clause(language, signed_by, count):
    text = " ".join(CLAUSES[language][0].text.split()) + " "
    clauses = tuple(
        PdfClause(f"Clause {number} is here", text * (1 + number % 4))
        for number in range(1, count + 1)
    )
    pdf = render_pdf(make_agreement(language, clauses=clauses, audit=GROUPED))
    assert page_count(pdf) >= 3
    page = closing_page(pdf, f"Clause {count} is here", signed_by)
    assert page, "the last clause and the signatures are on different pages"
    assert f"Clause {count - 1} is here" not in pdf_text(pdf, page=page + 1)


def test_the_qr_code_opens_the_verify_page():
    url = "https://duet.example/verify"
    expected = {
        (column, row)
        for row, line in enumerate(segno.make(url, error="m").matrix_iter(border=4))
        for column, dark in enumerate(line)
        if dark
    }
    assert dark_cells(_qr_code(url)) == expected
    assert dark_cells(_qr_code("https://other.example/verify")) != expected


def test_a_long_typed_name_is_written_smaller_to_fit_its_line():
    assert _handwriting_size("Bram Jansen") == 26
    assert 12 < _handwriting_size("Anna-Maria van den Berg-Oosterhuis") < 20
    assert _handwriting_size("Anna " * 40) == 12


def test_a_signature_that_is_not_a_png_is_refused():
    signatures = make_agreement().signatures
    broken = PdfSignature("Anna", "Anna de Vries", signatures[0].signed_at, b"GIF89a", False)
    with pytest.raises(ValueError, match="not a PNG"):
        render_pdf(make_agreement(signatures=(broken, signatures[1])))


def test_only_english_and_dutch_have_labels():
    with pytest.raises(ValueError, match="language"):
        render_pdf(dataclasses.replace(make_agreement("en"), language="de"))


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x.png",
        "https://example.com/font.woff",
        "file:///etc/passwd",
        STATIC.as_uri() + "/../../pyproject.toml",
        STATIC.as_uri() + "/fonts/%2e%2e/%2e%2e/../README.md",
        STATIC.as_uri() + "/fonts/nothing-here.woff",
        "file://elsewhere" + (STATIC / "favicon.svg").as_posix(),
    ],
)
def test_the_url_fetcher_refuses_anything_but_static_files(url):
    with pytest.raises(ForbiddenResource):
        StaticFetcher().fetch(url)


def test_the_url_fetcher_reads_static_files_and_data_urls():
    font = StaticFetcher().fetch((STATIC / "fonts/caveat/caveat-latin-400-normal.woff").as_uri())
    assert font.read(4) == b"wOFF"
    font.close()
    data = StaticFetcher().fetch("data:text/plain;base64,ZHVldA==")
    assert data.read() == b"duet"
    data.close()


def test_a_resource_from_the_network_stops_the_render():
    html = HTML(string='<img src="http://example.com/x.png">', url_fetcher=StaticFetcher())
    with pytest.raises(FatalURLFetchingError):
        html.write_pdf()


# --- Sealing and verifying ---------------------------------------------------------------


def test_a_sealed_pdf_is_genuine(sealed, sealer):
    result = verify_pdf(sealed, sealer)
    assert result.status == "genuine"
    assert result.fingerprint == FINGERPRINT
    assert result.partners == ("Anna", "Bram")
    assert result.sealed_at.tzinfo is not None
    assert abs(result.sealed_at - dt.datetime.now(UTC)) < dt.timedelta(minutes=10)


def test_the_seal_validates_with_pyhanko_itself(sealed, sealer):
    (signature,) = PdfFileReader(io.BytesIO(sealed)).embedded_signatures
    context = ValidationContext(trust_roots=[sealer.certificate], allow_fetching=False)
    status = validate_pdf_signature(signature, signer_validation_context=context)
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.dump() == sealer.certificate.dump()
    assert signature.field_name == "DuetSeal"
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"


def test_a_seal_from_another_instance_is_another_signer(sealed, sealer, tmp_path):
    other = Sealer.create(tmp_path)
    assert other.certificate_fingerprint != sealer.certificate_fingerprint
    assert verify_pdf(sealed, other).status == "other_signer"


def test_one_changed_byte_is_not_genuine(sealed, sealer):
    middle = len(sealed) // 2
    changed = sealed[:middle] + bytes([sealed[middle] ^ 0x01]) + sealed[middle + 1 :]
    assert verify_pdf(changed, sealer).status in ("altered", "unreadable")


def test_an_update_appended_after_the_seal_is_altered(sealed, sealer):
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    info = generic.DictionaryObject(writer.trailer["/Info"])
    info[generic.NameObject("/DuetFingerprint")] = generic.TextStringObject("0" * 64)
    writer.set_info(info)
    output = io.BytesIO()
    writer.write(output)
    result = verify_pdf(output.getvalue(), sealer)
    assert result.status == "altered"
    assert result.fingerprint is None


def test_an_unsealed_pdf_is_unsigned(english, sealer):
    assert verify_pdf(english, sealer).status == "unsigned"


@pytest.mark.parametrize("data", [b"", b"not a pdf at all", os.urandom(2048), b"%PDF-1.7\n"])
def test_what_is_not_a_pdf_is_unreadable(data, sealer):
    assert verify_pdf(data, sealer).status == "unreadable"


def test_a_truncated_sealed_pdf_is_not_genuine(sealed, sealer):
    assert verify_pdf(sealed[: len(sealed) * 2 // 3], sealer).status != "genuine"
    assert verify_pdf(sealed[:-40], sealer).status != "genuine"


# --- The signing identity ----------------------------------------------------------------


def test_the_seal_is_made_once_and_its_key_is_private(tmp_path):
    first = Sealer.create(tmp_path)
    second = Sealer.load(tmp_path)
    assert first.certificate_fingerprint == second.certificate_fingerprint
    assert len(first.certificate_fingerprint) == 64
    key = tmp_path / "seal" / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert (tmp_path / "seal" / "cert.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE")
    assert [path.name for path in tmp_path.iterdir()] == ["seal"]


def test_a_passphrase_encrypts_the_key_made_here(tmp_path):
    first = Sealer.create(tmp_path, passphrase=b"long quiet walk")
    assert b"ENCRYPTED" in (tmp_path / "seal" / "key.pem").read_bytes()
    again = Sealer.load(tmp_path, passphrase=b"long quiet walk")
    assert again.certificate_fingerprint == first.certificate_fingerprint
    with pytest.raises(SealUnavailable, match="cannot open the seal key"):
        Sealer.load(tmp_path)
    with pytest.raises(SealUnavailable, match="cannot open the seal key"):
        Sealer.load(tmp_path, passphrase=b"another walk")


def test_a_pkcs12_identity_seals_and_verifies(tmp_path, english):
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _self_signed(key)
    bundle = tmp_path / "seal.p12"
    bundle.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"duet", key, certificate, None, serialization.BestAvailableEncryption(b"secret")
        )
    )
    sealer = Sealer.load(tmp_path / "instance", pkcs12_path=bundle, passphrase=b"secret")
    assert sealer.certificate.dump() == certificate.public_bytes(serialization.Encoding.DER)
    assert not (tmp_path / "instance").exists()
    assert verify_pdf(seal_pdf(english, sealer), sealer).status == "genuine"
