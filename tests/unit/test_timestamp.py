"""A trusted time: with a time-stamping service the seal is PAdES B-T, validated by pyHanko
against the test authority's root; when the service fails the agreement is still sealed
(B-B) and the log says why; verification reports the level and the token's time."""

import datetime as dt
import json
import logging
import time
from io import BytesIO

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from weasyprint import HTML

from app import config as settings
from app.signing import pdf
from app.signing.pdf import (
    Sealer,
    TimestampService,
    VerifyBudget,
    check_in_worker,
    seal_pdf,
    sealed_pdf,
)
from app.signing.verify_worker import INFO_FINGERPRINT, INFO_PARTNERS, INFO_VERSION
from tests.tsa import SLOW_SECONDS, TestAuthority
from tests.unit.test_pdf import make_agreement

BUDGET = VerifyBudget.from_config(settings.DEFAULTS)
FAILURES = ("slow", "garbage", "error", "html", "rejected", "other digest")


@pytest.fixture(scope="module")
def sealer(tmp_path_factory):
    return Sealer.create(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="module")
def document():
    """A small PDF with the document information a Duet agreement carries (render_pdf's
    layout is tested in test_pdf.py; sealing and verifying need only these keys)."""
    rendered = HTML(string="<h1>Our agreement</h1><p>We talk within a day.</p>").render()
    rendered.metadata.custom = {
        INFO_FINGERPRINT: "ab" * 32,
        INFO_PARTNERS: json.dumps(["Anna", "Bram"]),
        INFO_VERSION: "1",
    }
    return rendered.write_pdf(custom_metadata=True)


@pytest.fixture(scope="module")
def agreement():
    return make_agreement("en")


@pytest.fixture(params=["update", "one pass"])
def seal(request, document, agreement):
    """Seal a document with a service: as an update (seal_pdf), or as Duet seals a new
    agreement, written with its seal in one pass (sealed_pdf)."""
    if request.param == "update":
        return lambda sealer, service: seal_pdf(document, sealer, service)
    return lambda sealer, service: sealed_pdf(agreement, sealer, service)


@pytest.fixture(scope="module")
def authority():
    with TestAuthority() as tsa:
        yield tsa


@pytest.fixture
def service(authority):
    authority.mode = "ok"
    return TimestampService(authority.url, timeout=1)


@pytest.fixture(scope="module", params=["update", "one pass"])
def stamped(request, sealer, document, agreement, authority):
    """An agreement sealed with a time from the test authority (as in `seal`), and the
    partners and fingerprint it carries."""
    authority.mode = "ok"
    service = TimestampService(authority.url, timeout=5)
    before = dt.datetime.now(dt.UTC)
    if request.param == "update":
        data, carried = seal_pdf(document, sealer, service), (("Anna", "Bram"), "ab" * 32)
    else:
        data, carried = (
            sealed_pdf(agreement, sealer, service),
            (
                agreement.partners,
                agreement.fingerprint,
            ),
        )
    return data, before, dt.datetime.now(dt.UTC), carried


def _validate(data: bytes, sealer: Sealer, roots):
    seal = PdfFileReader(BytesIO(data)).embedded_signatures[0]
    return validate_pdf_signature(
        seal,
        signer_validation_context=ValidationContext(trust_roots=[sealer.certificate]),
        ts_validation_context=ValidationContext(trust_roots=list(roots), allow_fetching=False),
    )


def test_pyhanko_validates_the_b_t_seal_with_the_test_authority(stamped, sealer, authority):
    data, before, after, _ = stamped
    status = _validate(data, sealer, [authority.root])
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    token = status.timestamp_validity
    assert token is not None
    assert token.intact and token.valid and token.trusted
    assert token.signing_cert.dump() == authority.certificate.dump()
    assert before - dt.timedelta(seconds=1) <= token.timestamp <= after + dt.timedelta(seconds=1)
    assert "The TSA certificate is trusted." in status.pretty_print_details()


def test_pyhanko_does_not_trust_the_time_without_the_authority_root(stamped, sealer):
    token = _validate(stamped[0], sealer, []).timestamp_validity
    assert token.intact and token.valid and not token.trusted


def test_verify_reports_b_t_and_the_confirmed_time(stamped, sealer, authority):
    data, before, after, (partners, fingerprint) = stamped
    result = pdf.verify_pdf(data, sealer, BUDGET, (authority.root,))
    assert result.status == "genuine"
    assert result.level == "B-T" and result.timestamp_trusted
    assert before - dt.timedelta(seconds=1) <= result.timestamp_at <= after
    assert result.timestamp_at.tzinfo is not None
    assert result.sealed_at is not None
    assert result.partners == partners and result.fingerprint == fingerprint


def test_a_time_from_a_service_that_is_not_trusted_is_reported_as_such(
    stamped, sealer, authority, caplog
):
    with TestAuthority("Another TSA") as other:
        pass
    for trust in ((), (other.root,)):
        with caplog.at_level(logging.WARNING, logger="duet.pdf"):
            result = pdf.verify_pdf(stamped[0], sealer, BUDGET, trust)
        assert result.status == "genuine"
        assert result.level == "B-T" and not result.timestamp_trusted
        assert result.timestamp_at is not None
    # pyHanko's "Failed to build path" traceback for the service is expected, not logged.
    assert "Failed to build path" not in caplog.text


def test_without_a_service_the_seal_is_b_b(sealer, seal):
    result = pdf.verify_pdf(seal(sealer, None), sealer, BUDGET)
    assert result.status == "genuine"
    assert result.level == "B-B"
    assert result.timestamp_at is None and not result.timestamp_trusted


def test_a_seal_asks_the_service_twice_and_stays_within_the_verify_budget(
    sealer, seal, authority, service
):
    asked = authority.requests
    data = seal(sealer, service)
    # One request sizes the signature, one stamps it.
    assert authority.requests - asked == 2
    verdict = check_in_worker(data, sealer.certificate, BUDGET, (authority.root,))
    assert verdict["status"] == "genuine" and verdict["level"] == "B-T"
    assert verdict["peak_kb"] * 1024 <= BUDGET.memory_bytes
    tight = VerifyBudget(BUDGET.max_fields, 0.25, BUDGET.memory_bytes, BUDGET.timeout_seconds)
    assert check_in_worker(data, sealer.certificate, tight, (authority.root,))["level"] == "B-T"


@pytest.mark.parametrize("mode", FAILURES)
def test_a_failing_service_still_gives_a_sealed_b_b_agreement_and_a_log_line(
    mode, sealer, seal, authority, service, caplog
):
    authority.mode = mode
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="duet.pdf"):
        data = seal(sealer, service)
    assert time.monotonic() - started < SLOW_SECONDS
    result = pdf.verify_pdf(data, sealer, BUDGET, (authority.root,))
    assert result.status == "genuine" and result.level == "B-B"
    [record] = [item for item in caplog.records if item.name == "duet.pdf"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "Sealed without a trusted time (PAdES B-B)" in message
    assert authority.url in message
    reason = {
        "slow": "TimeoutError",
        "garbage": "ValueError",
        "error": "500",
        "html": "text/html",
        "rejected": "time_stamp_token",
        "other digest": "not for the digest that was sent",
    }[mode]
    assert reason in message


def test_a_service_that_is_down_still_gives_a_sealed_agreement(sealer, seal, caplog):
    with TestAuthority() as gone:
        url = gone.url
    secret = url.replace("http://", "http://user:hunter2@") + "?apikey=s3cret"
    with caplog.at_level(logging.WARNING, logger="duet.pdf"):
        data = seal(sealer, TimestampService(secret, timeout=1))
    assert pdf.verify_pdf(data, sealer, BUDGET).level == "B-B"
    assert "Cannot connect" in caplog.text and url in caplog.text
    # The address's user name, password and query may hold a key: never logged.
    assert "hunter2" not in caplog.text and "s3cret" not in caplog.text
    assert "user" not in caplog.text


def test_a_token_over_another_digest_does_not_count(sealer, document, authority):
    """A token that does not cover the seal's signature (here from a service answering for
    another digest, taken by pyHanko's own client unchecked) is no trusted time: B-B."""
    authority.mode = "other digest"
    writer = IncrementalPdfFileWriter(BytesIO(document))
    metadata = signers.PdfSignatureMetadata(
        field_name=pdf.SEAL_FIELD, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
    )
    data = signers.sign_pdf(
        writer, metadata, signer=sealer.signer, timestamper=HTTPTimeStamper(authority.url)
    ).getvalue()
    result = pdf.verify_pdf(data, sealer, BUDGET, (authority.root,))
    assert result.status == "genuine"
    assert result.level == "B-B" and result.timestamp_at is None


def test_the_trust_file_is_read_as_pem(tmp_path, authority):
    path = tmp_path / "tsa-roots.pem"
    with TestAuthority("Second") as second:
        path.write_bytes(authority.root_pem + second.root_pem)
    roots = pdf.read_certificates(path)
    assert len(roots) == 2 and roots[0].dump() == authority.root.dump()
    (tmp_path / "empty.pem").write_text("no certificates here\n")
    with pytest.raises(ValueError):
        pdf.read_certificates(tmp_path / "empty.pem")
