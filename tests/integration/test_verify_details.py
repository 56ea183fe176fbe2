"""A verify page that explains itself: for a genuine file its document ID, version, the signed
full names, the seal level and the seal certificate's fingerprint, all read from what the seal
signs; a download of this Duet's seal certificate; nothing of the kind for an altered file."""

import io
from io import BytesIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from app.filters import fingerprint
from app.signing import pdf, services
from app.signing.verify_worker import INFO_DOCUMENT_ID, INFO_SIGNED_NAMES
from tests.unit.test_pdf import make_agreement

DOCUMENT_ID = "DUET-7K2M-9QXR-4TVW"
SIGNED_NAMES = '["Anna de Vries", "Bram Jansen"]'
LABELS = {
    "en": ("Document ID", "Version", "Signed as", "Seal level", "Seal certificate (SHA-256)"),
    "nl": (
        "Document-ID",
        "Versie",
        "Ondertekend als",
        "Niveau van het zegel",
        "Zegelcertificaat (SHA-256)",
    ),
}


def _with_info(data: bytes, **entries) -> bytes:
    """`data` with these document information entries (None removes one), as a new revision."""
    writer = IncrementalPdfFileWriter(BytesIO(data))
    info = writer.trailer["/Info"]
    for key, value in entries.items():
        if value is None:
            info.pop("/" + key, None)
        else:
            info["/" + key] = generic.TextStringObject(value)
    writer.update_container(info)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _sealed(app, language="en", **entries) -> bytes:
    """An agreement sealed by this Duet, its document information set as the renderer's is."""
    with app.app_context():
        document = _with_info(pdf.render_pdf(make_agreement(language)), **entries)
        return pdf.seal_pdf(document, services.sealer())


def _verify(client, data: bytes, language: str = "en"):
    return client.post(
        "/verify",
        data={"document": (io.BytesIO(data), "agreement.pdf")},
        headers={"Accept-Language": language},
    )


def _our_fingerprint(app) -> str:
    with app.app_context():
        return services.sealer().certificate_fingerprint


@pytest.mark.parametrize("language", ["en", "nl"])
def test_a_genuine_file_shows_what_was_sealed(app, client, language):
    data = _sealed(app, **{INFO_DOCUMENT_ID: DOCUMENT_ID, INFO_SIGNED_NAMES: SIGNED_NAMES})
    page = _verify(client, data, language)
    assert page.status_code == 200
    text = page.text
    assert ("Genuine and unaltered" if language == "en" else "Echt, en niets aan veranderd") in text
    for label in LABELS[language]:
        assert f"<dt>{label}</dt>" in text
    assert f"<dd>{DOCUMENT_ID}</dd>" in text
    assert "<dd>2</dd>" in text  # the version
    assert "<dd>Anna de Vries</dd><dd>Bram Jansen</dd>" in text
    assert "<dd>PAdES B-B</dd>" in text
    assert 'class="seal-level"' in text  # when it was sealed, and by which clock
    # The certificate that sealed the file, this Duet's: in the result and in "check it yourself".
    assert text.count(fingerprint(_our_fingerprint(app))) == 2
    assert 'href="/verify/seal-certificate.pem"' in text


def test_an_older_file_shows_what_it_has(app, client):
    # Sealed before the renderer wrote a document ID and the signed names.
    data = _sealed(app, **{INFO_DOCUMENT_ID: None, INFO_SIGNED_NAMES: None})
    with app.app_context():
        result = pdf.verify_pdf(data, services.sealer())
    assert result.status == "genuine"
    assert result.document_id is None and result.signed_names == ()
    assert result.version == 2
    page = _verify(client, data).text
    assert "Genuine and unaltered" in page
    assert "<dt>Document ID</dt>" not in page and "DUET-" not in page
    assert "<dt>Signed as</dt>" not in page
    assert "<dt>Version</dt>" in page and "<dt>Seal certificate (SHA-256)</dt>" in page


def test_odd_entries_show_nothing_rather_than_anything(app, client):
    data = _sealed(
        app, **{INFO_DOCUMENT_ID: "   ", INFO_SIGNED_NAMES: '{"not": "a list"}', "DuetVersion": "x"}
    )
    with app.app_context():
        result = pdf.verify_pdf(data, services.sealer())
    assert result.status == "genuine"
    assert (result.document_id, result.version, result.signed_names) == (None, None, ())


def test_an_altered_file_shows_none_of_the_details(app, client):
    data = bytearray(
        _sealed(app, **{INFO_DOCUMENT_ID: DOCUMENT_ID, INFO_SIGNED_NAMES: SIGNED_NAMES})
    )
    at = data.index(b"Bram Jansen")
    data[at] = ord("P")
    page = _verify(client, bytes(data)).text
    assert "Changed after it was sealed" in page
    assert "verify-details" not in page
    for detail in (DOCUMENT_ID, "Anna de Vries", "ram Jansen", "PAdES", "Content fingerprint"):
        assert detail not in page
    # Only "check it yourself" names this Duet's certificate.
    assert page.count(fingerprint(_our_fingerprint(app))) == 1


def test_nothing_is_read_from_an_update_after_the_seal(app, client):
    data = _sealed(app, **{INFO_DOCUMENT_ID: DOCUMENT_ID, INFO_SIGNED_NAMES: SIGNED_NAMES})
    later = _with_info(data, **{INFO_DOCUMENT_ID: "DUET-AAAA-BBBB-CCCC"})
    page = _verify(client, later).text
    assert "Changed after it was sealed" in page
    assert "DUET-" not in page and "Anna de Vries" not in page


def test_the_seal_certificate_is_this_duets(app, client):
    with app.app_context():
        der = services.sealer().certificate.dump()
    pem = client.get("/verify/seal-certificate.pem")
    assert pem.status_code == 200
    assert pem.mimetype == "application/x-pem-file"
    assert 'filename="duet-seal.pem"' in pem.headers["Content-Disposition"]
    assert pem.headers["Cache-Control"] == "public, max-age=300"
    assert "Set-Cookie" not in pem.headers
    certificate = x509.load_pem_x509_certificate(pem.data)
    assert certificate.public_bytes(serialization.Encoding.DER) == der
    shown = fingerprint(certificate.fingerprint(hashes.SHA256()).hex())
    genuine = _verify(client, _sealed(app, **{INFO_DOCUMENT_ID: DOCUMENT_ID})).text
    assert f"<code>{shown}</code>" in genuine
    cer = client.get("/verify/seal-certificate.cer")
    assert cer.status_code == 200 and cer.mimetype == "application/pkix-cert"
    assert cer.data == der
    assert 'filename="duet-seal.cer"' in cer.headers["Content-Disposition"]


def test_check_it_yourself_is_on_the_page_in_both_languages(app, client):
    english = client.get("/verify").text
    assert "Check it yourself" in english
    assert "pdfsig agreement.pdf" in english
    assert "openssl x509 -in duet-seal.pem -noout -fingerprint -sha256" in english
    assert "pyhanko sign validate --pretty-print --trust-replace --trust duet-seal.pem" in english
    assert fingerprint(_our_fingerprint(app)) in english
    dutch = client.get("/verify", headers={"Accept-Language": "nl"}).text
    assert "Zelf controleren" in dutch
    assert "pdfsig agreement.pdf" in dutch


def test_without_a_seal_there_is_no_certificate_to_download(make_app, tmp_path):
    app = make_app(SEAL_PKCS12_PATH=str(tmp_path / "missing.p12"))
    client = app.test_client()
    for url in ("/verify/seal-certificate.pem", "/verify/seal-certificate.cer"):
        response = client.get(url)
        assert response.status_code == 503
        assert response.headers["Cache-Control"] == "no-store"
    page = client.get("/verify")
    assert page.status_code == 200
    assert "seal-certificate.pem" not in page.text
