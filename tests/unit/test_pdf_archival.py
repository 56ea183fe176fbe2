"""The signed PDF as an archive: PDF/A-3b, tagged, its own fonts for every script, sealed intact.

Checked with the tools a reader has (poppler's pdfinfo, pdffonts, pdftotext and pdfsig, and
qpdf). They are skipped with the reason when missing, but never under CI. veraPDF, the PDF/A
validator, is not available offline: what it would add is listed in docs/pdf.md.
"""

import dataclasses
import datetime as dt
import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from app.signing.pdf import (
    BODY_FAMILIES,
    STATIC,
    PdfClause,
    PdfSignature,
    Sealer,
    _handwriting_family,
    font_faces,
    missing_characters,
    render_html,
    render_pdf,
    seal_pdf,
    sealed_pdf,
    verify_pdf,
)
from tests.unit.test_pdf import make_agreement

UTC = dt.UTC

# One name per script the PDF promises, each both in the text and as a typed signature.
NAMES = {
    "Polish": "Łucja z Łodzi",
    "Turkish": "İpek Doğan",
    "Vietnamese": "Nguyễn Thị Ánh",
    "Greek": "Ελένη Παπαδοπούλου",
    "Cyrillic": "Анна Иванова",
    "Arabic": "ليلى حداد",
    "Hebrew": "נועה כהן",
    "Devanagari": "अनन्या शर्मा",
}
PLACES = "Łódź, İğdır"
# pdftotext gives these back as typed. Arabic and Hebrew come back in its own order, and
# Devanagari with its vowel signs moved (as shaped): for those the fonts are what is checked.
READ_BACK = ("Polish", "Turkish", "Vietnamese", "Greek", "Cyrillic")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def run_tool(*command: str, data: bytes) -> str:
    """What a command-line tool prints about a PDF; skipped if it is missing, failed in CI."""
    return run_tool_with_status(*command, data=data)[1]


def run_tool_with_status(*command: str, data: bytes) -> tuple[int, str]:
    """The exit status and output of `command FILE` (and of `pdftotext ... FILE -`)."""
    if shutil.which(command[0]) is None:
        message = f"{command[0]} is not installed (Debian: poppler-utils, qpdf)"
        if _in_ci():
            pytest.fail(f"CI is set, so PDF checks may not be skipped: {message}", pytrace=False)
        pytest.skip(message)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(data)
        file.flush()
        tail = ["-"] if command[0] == "pdftotext" else []
        result = subprocess.run([*command, file.name, *tail], capture_output=True)
    return result.returncode, result.stdout.decode() + result.stderr.decode()


def pdf_fonts(pdf: bytes) -> list[dict[str, str]]:
    """pdffonts' table: each font's name (without the subset tag), type and embedded flag."""
    lines = run_tool("pdffonts", data=pdf).splitlines()
    assert lines[0].startswith("name") and lines[1].startswith("-----"), lines[:2]
    rows = []
    for line in lines[2:]:
        match = re.match(r"(\S+)\s+(.+?)\s+(Identity-H|Custom|\S+)\s+(yes|no)\s+(yes|no)", line)
        assert match, line
        rows.append({"name": match[1].split("+", 1)[-1], "type": match[2], "embedded": match[4]})
    return rows


def shipped(font_name: str) -> bool:
    """Whether a PDF font's name is one of our @font-face families (in PostScript spelling)."""
    families = {face.css_family.replace(" ", "-") for face in font_faces()}
    return any(font_name == family or font_name.startswith(family + "-") for family in families)


def every_script(first: int = 0) -> object:
    """An agreement between two of NAMES, whose text holds all of them."""
    names = list(NAMES.values())
    signatures = tuple(
        PdfSignature(
            name.split()[0], name, dt.datetime(2025, 11, 24, 20, 1, tzinfo=UTC), None, True
        )
        for name in names[first : first + 2]
    )
    english = make_agreement("en")
    clause = PdfClause(
        f"We meet in {PLACES}",
        "We are " + ", ".join(names) + f". {names[5]} calls {names[6]} after work.",
    )
    return dataclasses.replace(
        english,
        partners=(signatures[0].name, signatures[1].name),
        signatures=signatures,
        clauses=(*english.clauses, clause),
    )


@pytest.fixture(scope="module")
def english():
    return render_pdf(make_agreement("en"))


@pytest.fixture(scope="module", params=["one pass", "update"])
def sealed(request, english, tmp_path_factory):
    """Sealed as Duet seals a new agreement (one pass), and as an update to a rendered one."""
    sealer = Sealer.create(tmp_path_factory.mktemp("instance"))
    if request.param == "one pass":
        return sealed_pdf(make_agreement("en"), sealer)
    return seal_pdf(english, sealer)


@pytest.fixture(scope="module")
def scripts():
    """Four PDFs, so that each name is a typed signature in one of them."""
    return {first: render_pdf(every_script(first)) for first in (0, 2, 4, 6)}


# --- PDF/A and tags ------------------------------------------------------------------------


def test_the_pdf_is_pdfa_3b_and_tagged(english):
    info = run_tool("pdfinfo", data=english)
    assert re.search(r"^Tagged:\s+yes$", info, re.M)
    assert re.search(r"^PDF version:\s+1\.7$", info, re.M)
    xmp = run_tool("pdfinfo", "-meta", data=english)
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    root = PdfFileReader(io.BytesIO(english)).root
    (intent,) = root["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1"
    assert "sRGB" in str(intent["/OutputConditionIdentifier"])
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en"
    assert "/StructTreeRoot" in root


def test_the_header_and_the_catalog_agree_on_the_version(english, sealed):
    assert english.startswith(b"%PDF-1.7\n")
    assert "/Version" not in PdfFileReader(io.BytesIO(english)).root
    # The seal keeps it at 1.7 too (pyHanko would declare 2.0 for the P-256 key).
    assert sealed.startswith(b"%PDF-1.7\n")
    assert PdfFileReader(io.BytesIO(sealed)).root.get("/Version") in (None, "/1.7")


def figures(node) -> list:
    """The /Figure elements of a structure tree, depth first."""
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, list):
        return [figure for item in node for figure in figures(item)]
    if not hasattr(node, "get"):
        return []  # a marked-content number
    found = [node] if node.get("/S") == "/Figure" else []
    return found + (figures(node["/K"]) if "/K" in node else [])


def test_a_drawn_signature_and_the_qr_code_have_a_text_alternative(english):
    # Tagged, a picture without words is an empty figure to a screen reader.
    root = PdfFileReader(io.BytesIO(english)).root
    signature, code = figures(root["/StructTreeRoot"])
    assert signature["/Alt"] == "Signature drawn by Anna de Vries"
    assert code["/Alt"] == (
        "QR code that opens https://duet.example/verify, where this document can be checked"
    )


def test_the_dutch_pdf_says_it_is_dutch():
    dutch = render_pdf(make_agreement("nl"))
    assert PdfFileReader(io.BytesIO(dutch)).root["/Lang"] == "nl"
    assert 'pdfaid:part="3"' in run_tool("pdfinfo", "-meta", data=dutch)


# --- Fonts -------------------------------------------------------------------------------


def test_every_font_is_embedded_and_one_of_ours(english, scripts):
    for pdf in (english, *scripts.values()):
        fonts = pdf_fonts(pdf)
        assert fonts
        for font in fonts:
            assert font["embedded"] == "yes", font
            assert font["type"] == "CID TrueType", font  # no Type 3 stand-in
            assert shipped(font["name"]), font


def test_each_script_is_drawn_by_its_own_font(scripts):
    names = {font["name"] for pdf in scripts.values() for font in pdf_fonts(pdf)}
    for family in (*BODY_FAMILIES, "Caveat", "Playpen Sans", "Kalam", "Aref Ruqaa"):
        assert any(name.startswith(family.replace(" ", "-")) for name in names), family


@pytest.mark.parametrize("script", NAMES)
def test_a_name_in_every_script_has_all_its_letters(script, scripts):
    name = NAMES[script]
    assert missing_characters(name) == []
    assert missing_characters(PLACES) == []
    first = list(NAMES).index(script) // 2 * 2
    pdf = scripts[first]
    assert missing_characters(render_html(every_script(first))) == []
    if script in READ_BACK:
        text = " ".join(run_tool("pdftotext", "-enc", "UTF-8", data=pdf).split())
        assert text.count(name) >= 2, name  # in the clause, and as the full name signed


def test_a_letter_no_shipped_font_has_is_found_and_not_taken_from_the_server(caplog):
    assert missing_characters("Anna 漢 ნ Bram") == ["ნ", "漢"]
    assert missing_characters("Anna\tBram\n") == []
    agreement = dataclasses.replace(make_agreement("en"), partners=("Anna 漢", "Bram"))
    with caplog.at_level(logging.WARNING, logger="duet.pdf"):
        pdf = render_pdf(agreement)
    assert "U+6F22" in caplog.text
    # It prints as an empty box from our fonts, the same on every server: no server font.
    assert all(shipped(font["name"]) for font in pdf_fonts(pdf))


def test_the_fonts_kept_between_renders_change_nothing(scripts):
    """A process keeps its font configuration from one render to the next: an agreement
    renders the same bytes after agreements in every script as first in a new thread (a
    configuration of its own), so no PDF depends on what the process rendered before."""
    english = make_agreement("en")
    first = []
    thread = threading.Thread(target=lambda: first.append(render_pdf(english)))
    thread.start()
    thread.join()
    assert scripts  # rendered in this thread: Arabic, Hebrew, Devanagari... faces loaded
    assert first and render_pdf(english) == first[0]


def test_a_typed_signature_is_written_in_one_hand():
    assert _handwriting_family("Bram Jansen") == "Caveat"
    assert _handwriting_family(NAMES["Polish"]) == "Caveat"
    assert _handwriting_family(NAMES["Cyrillic"]) == "Caveat"
    assert _handwriting_family(NAMES["Vietnamese"]) == "Playpen Sans"
    assert _handwriting_family(NAMES["Greek"]) == "Playpen Sans"
    assert _handwriting_family(NAMES["Devanagari"]) == "Kalam"
    assert _handwriting_family(NAMES["Arabic"]) == "Aref Ruqaa"
    assert _handwriting_family(NAMES["Hebrew"]) == "Source Serif 4"  # no Hebrew handwriting


def test_every_font_file_is_shipped_with_its_licence():
    for face in font_faces():
        path = STATIC / face.src
        assert path.read_bytes()[:4] == b"\x00\x01\x00\x00", face  # TrueType, no decoding
        assert (path.parent / "OFL.txt").read_text().count("SIL Open Font License") >= 1


# --- Sealed --------------------------------------------------------------------------------


def test_the_seal_keeps_the_archive_valid(sealed):
    text = run_tool("pdfsig", data=sealed)
    # pdfsig exits 0 even when a signature does not match: read what it says.
    assert "Signature Validation: Signature is Valid." in text, text
    assert "Total document signed" in text, text
    status, text = run_tool_with_status("qpdf", "--check", data=sealed)
    assert status == 0, text
    assert "No syntax or stream encoding errors found" in text, text
    assert re.search(r"^Tagged:\s+yes$", run_tool("pdfinfo", data=sealed), re.M)
    assert 'pdfaid:part="3"' in run_tool("pdfinfo", "-meta", data=sealed)
    assert all(font["embedded"] == "yes" for font in pdf_fonts(sealed))


def test_a_seal_written_in_one_pass_is_the_one_pyhanko_makes(tmp_path):
    """sealed_pdf signs with pyHanko's container made once, the digest and signature put in
    anew: each document gets its own signature, pyHanko validates it over the entire file,
    and a byte changed anywhere it covers makes the file 'altered'."""
    sealer = Sealer.create(tmp_path)
    agreement = make_agreement("en")
    first, second = sealed_pdf(agreement, sealer), sealed_pdf(agreement, sealer)
    seals = [PdfFileReader(io.BytesIO(data)).embedded_signatures[0] for data in (first, second)]
    assert seals[0].pkcs7_content != seals[1].pkcs7_content
    for seal in seals:
        status = validate_pdf_signature(
            seal, signer_validation_context=ValidationContext(trust_roots=[sealer.certificate])
        )
        assert status.bottom_line and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert verify_pdf(first, sealer).status == "genuine"
    changed = bytearray(first)
    at = first.index(b"\n%") + 2  # the binary comment after the header: still a PDF
    changed[at] ^= 1
    assert verify_pdf(bytes(changed), sealer).status == "altered"


def test_the_unsealed_pdf_is_clean_for_qpdf(english):
    status, text = run_tool_with_status("qpdf", "--check", data=english)
    assert status == 0, text
    assert "No syntax or stream encoding errors found" in text, text
