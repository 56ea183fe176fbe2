"""Checking an upload: whatever the file is, the answer comes within a budget of fields, CPU
and memory, from a process of its own; a genuine agreement stays genuine."""

import dataclasses
import io
import logging
import sys

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from app import config as settings
from app.signing import pdf, verify_worker
from app.signing.pdf import Sealer, VerifyBudget, check_in_worker, seal_pdf, verify_pdf
from tests import crafted_pdfs as crafted
from tests.unit.test_pdf import make_agreement

KIB = 1024
BUDGET = VerifyBudget.from_config(settings.DEFAULTS)


@pytest.fixture(scope="module")
def limit(tmp_path_factory) -> int:
    """The largest upload the verify page reads (VERIFY_MAX_BYTES)."""
    return settings.from_environment(tmp_path_factory.mktemp("settings"))["VERIFY_MAX_BYTES"]


@pytest.fixture(scope="module")
def sealer(tmp_path_factory):
    return Sealer.create(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="module")
def sealed(sealer):
    return seal_pdf(pdf.render_pdf(make_agreement("en")), sealer)


@pytest.fixture(scope="module")
def contents(sealed):
    return crafted.seal_contents(sealed)


@pytest.fixture(scope="module")
def hostile(contents, limit):
    return {name: build(contents, limit) for name, build in crafted.HOSTILE.items()}


@pytest.mark.parametrize("name", crafted.HOSTILE)
def test_a_hostile_file_is_answered_within_the_budget(name, hostile, sealer, limit):
    data = hostile[name]
    assert len(data) <= limit
    verdict = check_in_worker(data, sealer.certificate, BUDGET)
    assert verdict["status"] in ("uncheckable", "unreadable")
    if "peak_kb" in verdict:
        assert verdict["peak_kb"] * KIB <= BUDGET.memory_bytes
    if name in crafted.TOO_MANY_FIELDS:
        assert verdict["status"] == "uncheckable"


def test_the_page_says_a_hostile_file_could_not_be_checked(hostile, sealer):
    assert verify_pdf(hostile["one field, 60 KB"], sealer).status == "uncheckable"


def test_a_flood_of_odd_form_entries_leaves_the_log_small(hostile, sealer, caplog):
    caplog.set_level(logging.DEBUG)
    verify_pdf(hostile["integers, at the limit"], sealer)
    assert sum(len(record.getMessage()) for record in caplog.records) < 2 * pdf.VERIFY_LOG_CHARS


def test_past_its_cpu_time_the_check_is_stopped(hostile, sealer):
    budget = dataclasses.replace(BUDGET, cpu_seconds=0.05)
    verdict = check_in_worker(hostile["integers, at the limit"], sealer.certificate, budget)
    assert verdict["status"] == "uncheckable"
    assert verdict["over"] == "cpu"


def test_past_its_memory_the_check_is_stopped(hostile, sealer):
    budget = dataclasses.replace(BUDGET, memory_bytes=120 * KIB * KIB)
    verdict = check_in_worker(hostile["a flate bomb, at the limit"], sealer.certificate, budget)
    assert verdict["status"] == "uncheckable"
    assert verdict["over"] == "memory"


def test_past_its_time_the_check_is_killed(sealed, sealer):
    budget = dataclasses.replace(BUDGET, timeout_seconds=0.001)
    assert check_in_worker(sealed, sealer.certificate, budget) == {
        "status": "uncheckable",
        "over": "time",
    }


def test_a_genuine_agreement_fits_the_budget_with_room_to_spare(sealed, sealer):
    verdict = check_in_worker(sealed, sealer.certificate, BUDGET)
    assert verdict["status"] == "genuine"
    assert verdict["peak_kb"] * KIB < BUDGET.memory_bytes / 2


def test_without_a_worker_process_checking_is_unavailable(sealed, sealer, monkeypatch, caplog):
    monkeypatch.setattr(sys, "executable", "/nonexistent/python3")
    assert verify_pdf(sealed, sealer).status == "unavailable"
    assert "could not be started" in caplog.text


def test_a_worker_that_fails_is_logged_and_the_file_not_vouched_for(
    sealed, sealer, monkeypatch, tmp_path, caplog
):
    broken = tmp_path / "broken_worker.py"
    broken.write_text("import sys\nsys.exit('no pyHanko here')\n")
    monkeypatch.setattr(pdf, "VERIFY_WORKER", broken)
    assert verify_pdf(sealed, sealer).status == "uncheckable"
    assert "no pyHanko here" in caplog.text
    assert "failed (exit 1)" in caplog.text


# --- Trailing white space ----------------------------------------------------------------


@pytest.mark.parametrize("tail", [b"\n", b"\r\n", b"\n\n", b" \t\r\n\x0c\x00"])
def test_white_space_after_the_end_keeps_a_sealed_pdf_genuine(sealed, sealer, tail):
    result = verify_pdf(sealed + tail, sealer)
    assert result.status == "genuine"
    assert result.partners == ("Anna", "Bram")


@pytest.mark.parametrize("tail", [b"x", b"\n%", b"\n%%EOF\n", b"\n1 0 obj\n<<>>\nendobj\n"])
def test_anything_else_after_the_end_is_not_genuine(sealed, sealer, tail):
    assert verify_pdf(sealed + tail, sealer).status in ("altered", "unreadable")


# --- The form, walked once and with a limit ----------------------------------------------


def fields_of(data: bytes, limit: int = BUDGET.max_fields):
    reader = PdfFileReader(io.BytesIO(data))
    return [name for name, _field in verify_worker.signature_fields(reader, limit)]


def test_a_duet_agreement_has_one_signature_field(sealed):
    assert fields_of(sealed) == ["DuetSeal"]


def test_a_field_listed_again_and_again_counts_once(contents):
    listed = crafted.signature_field_listed(contents, BUDGET.max_fields)
    assert len(PdfFileReader(io.BytesIO(listed)).embedded_regular_signatures) > 1
    assert fields_of(listed) == ["DuetSeal"]


def test_signature_fields_are_found_under_their_parents(contents):
    assert fields_of(crafted.nested_field_tree(contents, 3)) == ["L0.L1.L2.DuetSeal"]


@pytest.mark.parametrize(
    "build",
    [
        lambda contents: crafted.many_signature_fields(contents, 9),
        lambda contents: crafted.nested_field_tree(contents, 9),
        lambda contents: crafted.repeated_signature_field(contents, 20 * KIB),
    ],
)
def test_more_fields_than_a_handful_is_too_complex(build, contents):
    with pytest.raises(verify_worker.TooComplex):
        fields_of(build(contents))


def test_the_check_stops_at_the_first_seal_of_ours(contents, sealer, monkeypatch):
    built = []
    real = verify_worker.EmbeddedPdfSignature

    def counting(reader, field, name):
        built.append(name)
        return real(reader, field, name)

    monkeypatch.setattr(verify_worker, "EmbeddedPdfSignature", counting)
    three = crafted.many_signature_fields(contents, 3)
    # Our seal's signature over bytes it does not match: the first one is judged, and only it.
    assert verify_worker.check(three, sealer.certificate, BUDGET.max_fields) == {
        "status": "altered"
    }
    assert built == ["Seal0"]


def test_the_worker_log_lets_only_the_first_records_through():
    first = verify_worker._FirstRecords(3)
    record = logging.LogRecord("pyhanko", logging.WARNING, __file__, 1, "odd entry", (), None)
    assert [first.filter(record) for _ in range(5)] == [True, True, True, False, False]


# --- The warm worker ---------------------------------------------------------------------


def test_uploads_are_checked_by_one_warm_worker_that_comes_back_when_it_ends(sealed, sealer):
    assert check_in_worker(sealed, sealer.certificate, BUDGET)["status"] == "genuine"
    serving = pdf._CHECKERS._process
    assert check_in_worker(sealed, sealer.certificate, BUDGET)["status"] == "genuine"
    assert pdf._CHECKERS._process is serving, "each upload forks from the same worker"
    serving.kill()
    serving.wait()
    assert check_in_worker(sealed, sealer.certificate, BUDGET)["status"] == "genuine"
    assert pdf._CHECKERS._process is not serving
    assert pdf._CHECKERS._process.poll() is None


def test_a_checker_reports_what_it_used_from_its_fork_on(sealed, sealer):
    verdict = check_in_worker(sealed, sealer.certificate, BUDGET)
    # Starting Python and importing pyHanko alone takes more than half a second of CPU.
    assert 0 < verdict["cpu_seconds"] < BUDGET.cpu_seconds
