"""The signed PDF: rendered, sealed and verified with plain arguments, no Flask app."""

import dataclasses
import datetime as dt
import io
import math
import os
import stat
import subprocess

import pytest
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
    PdfSignature,
    Sealer,
    SealUnavailable,
    StaticFetcher,
    _handwriting_size,
    _self_signed,
    render_pdf,
    seal_pdf,
    verify_pdf,
)

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
        title="Our no-ignoring agreement" if english else "Onze afspraak: niet negeren",
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
    assert "Review date" in text and "February 24, 2026" in text
    assert "Anna de Vries" in text and "Bram Jansen" in text
    assert FINGERPRINT in "".join(text.split())
    assert "Check this document at https://duet.example/verify" in text


def test_the_audit_trail_is_a_last_page_of_its_own_in_amsterdam_time(english):
    pages = page_count(english)
    assert pages >= 2
    assert f"Page 1 of {pages}" in pdf_text(english, page=1)
    assert "Audit trail" not in pdf_text(english, page=1)
    last = pdf_text(english, page=pages)
    assert last.startswith("Audit trail")
    assert f"Page {pages} of {pages}" in last
    # 23:30 UTC on 24 November is half past midnight on the 25th in Amsterdam.
    assert "November 25, 2025 12:30 AM Bram signed." in last
    assert "8:02 PM Anna started the agreement." in last


def test_the_dutch_pdf_has_dutch_words_and_dates(dutch):
    text = pdf_text(dutch)
    assert "Onze afspraak: niet negeren" in text
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
