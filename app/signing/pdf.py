"""The signed agreement as a PDF: render it with WeasyPrint, seal it with pyHanko, verify an upload.

Bytes in, bytes out, with plain arguments: no Flask request or app, so a CLI, a test or a
worker can call it. The seal is a PAdES signature by the instance's own key; only the
instance's certificate is trusted when verifying, and nothing is ever fetched from the network.
An upload is judged in a process of its own with a CPU and memory budget (verify_worker.py).
"""

import asyncio
import atexit
import base64
import bisect
import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import mimetypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from itertools import groupby
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo

import jinja2
import pydyf
from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from babel.dates import format_date, format_time
from babel.support import Translations
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import constants
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore
from weasyprint import HTML
from weasyprint import pdf as weasyprint_pdf
from weasyprint.css import ColorProfile
from weasyprint.text import ffi as weasyprint_ffi
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from app import config as settings
from app import qr
from app.filters import date_locale
from app.signing.verify_worker import (
    INFO_DOCUMENT_ID,
    INFO_FINGERPRINT,
    INFO_PARTNERS,
    INFO_SIGNED_NAMES,
    INFO_VERSION,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "app" / "static"
TRANSLATIONS = ROOT / "app" / "translations"

LANGUAGES = ("en", "nl")
TIMEZONE = ZoneInfo("Europe/Amsterdam")
SEAL_FIELD = "DuetSeal"
SEAL_NAME = "Duet document seal"
SEAL_YEARS = 50  # sealed agreements are kept for years; the seal must outlive them
RETIRED_FILE = "retired"  # in the seal folder: fingerprints of identities replaced on purpose
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_VARIANT = "pdf/a-3b"  # archival; tagged on top (pdf_tags), see docs/pdf.md
FONT_FACES_MARKER = "/* font faces */"  # in agreement.css: replaced by render_html
PDF_VERSION = "1.7"  # PDF/A-3 is PDF 1.7: the header says so, and the catalog adds no other
OUTPUT_INTENT = "duet-srgb"  # the colour profile PDF/A asks for: WeasyPrint's sRGB, read by us
SRGB_PROFILE = Path(weasyprint_pdf.__file__).with_name("sRGB2014.icc")
FONT_FACES = TEMPLATES / "pdf" / "fonts.json"  # every font the PDF may use, under app/static/
# As agreement.css lists them for the text, each family for the scripts the one before lacks.
BODY_FAMILIES = (
    "Source Serif 4",
    "Noto Naskh Arabic",
    "Noto Serif Hebrew",
    "Noto Serif Devanagari",
)
# A typed signature is written in the first of these that has every letter of the name.
HANDWRITING_FAMILIES = ("Caveat", "Playpen Sans", "Kalam", "Aref Ruqaa")
HANDWRITING_POINTS = (12, 26)  # smallest and largest size of a typed signature
SIGNATURE_LINE_POINTS = 200  # agreement.css: (A4 less margins less the gap) / 2 = 75 mm, 212 pt

# The document ID: "DUET-" and 12 characters of Crockford's base32 in groups of four, from the
# SHA-256 of the fingerprint and the time it became final, so each version has its own.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

VERIFY_WORKER = Path(__file__).with_name("verify_worker.py")
VERIFY_LOG_CHARS = 4000  # of what the worker wrote to stderr, logged once per upload


log = logging.getLogger("duet.pdf")


@dataclass(frozen=True)
class PdfSignature:
    name: str
    full_name: str
    signed_at: dt.datetime
    image_png: bytes | None
    typed: bool


@dataclass(frozen=True)
class AuditLine:
    at: dt.datetime
    # A sentence with its own date and time ("Anna signed on 1 December 2026 at 20:15."),
    # or, in agreements finalised before the trail was grouped, one without (shown beside it).
    text: str
    # Whose line it is, to group by: None for what both did (and for every line of old ones).
    person: str | None = None


@dataclass(frozen=True)
class PdfReplaces:
    """The version a newer one replaces: its number, document ID and when it became final."""

    version: int
    document_id: str
    finalised_at: dt.datetime


def document_id(fingerprint: str, finalised_at: dt.datetime) -> str:
    """`DUET-XXXX-XXXX-XXXX`: short enough to read out, and different for every version."""
    seed = f"{fingerprint}|{finalised_at.astimezone(dt.UTC).isoformat()}"
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8]) >> 4  # 60 bits
    characters = "".join(CROCKFORD[(number >> shift) & 31] for shift in range(55, -1, -5))
    return "DUET-" + "-".join(characters[index : index + 4] for index in (0, 4, 8))


@dataclass(frozen=True)
class PdfClause:
    title: str
    text: str
    # What the clause was made from, for the rules that read the final agreement (the
    # pause): its template (None for a custom clause) and its values. Never printed.
    template: str | None = None
    params: tuple[tuple[str, int | str], ...] = ()

    def value(self, name: str, default: int | str | None = None) -> int | str | None:
        return dict(self.params).get(name, default)


@dataclass(frozen=True)
class PdfAgreement:
    title: str
    language: str
    version: int
    partners: tuple[str, str]
    finalised_at: dt.datetime
    review_on: dt.date
    clauses: tuple[PdfClause, ...]
    fingerprint: str
    signatures: tuple[PdfSignature, PdfSignature]
    audit: tuple[AuditLine, ...]
    verify_url: str
    # Each clause's fingerprint when the partners agreed to it, in clause order (none in
    # agreements finalised before they were printed).
    clause_fingerprints: tuple[str, ...] = ()
    replaces: PdfReplaces | None = None  # from version 2 on: the version this one replaces
    document_id: str = ""  # computed from the fingerprint and finalised_at when not given

    def __post_init__(self):
        if not self.document_id:
            object.__setattr__(
                self, "document_id", document_id(self.fingerprint, self.finalised_at)
            )


@dataclass(frozen=True)
class Verification:
    # uncheckable: over the budget, or built to be expensive; unavailable: no seal to check with.
    status: Literal[
        "genuine", "altered", "other_signer", "unsigned", "unreadable", "uncheckable", "unavailable"
    ]
    sealed_at: dt.datetime | None = None
    partners: tuple[str, ...] = ()
    fingerprint: str | None = None
    # PAdES level of a genuine seal: "B-T" when it carries an intact time-stamp token over
    # its signature, else "B-B" (the time is the server's own clock).
    level: Literal["B-B", "B-T"] | None = None
    timestamp_at: dt.datetime | None = None  # the token's time (UTC)
    # The token's service leads to a root in SEAL_TIMESTAMP_TRUST: only then is the time
    # called confirmed.
    timestamp_trusted: bool = False
    document_id: str | None = None  # DUET-XXXX-XXXX-XXXX; older PDFs have none
    version: int | None = None
    signed_names: tuple[str, ...] = ()  # the full names typed when signing; older PDFs: none
    # SHA-256 of the DER of the certificate that sealed the file (for a genuine one, ours).
    seal_certificate: str | None = None


# --- Rendering ---------------------------------------------------------------------------


class ForbiddenResource(ValueError):
    """The PDF asked for something other than our static files or a data: URL."""


class StaticFetcher(URLFetcher):
    """Lets WeasyPrint read files under app/static/ and data: URLs, and nothing else."""

    def __init__(self):
        # A refused or missing resource stops the render: no PDF without its fonts or images.
        super().__init__(allowed_protocols=("data",), fail_on_errors=True)
        self.static = STATIC.resolve()

    def fetch(self, url, headers=None):
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self._static_file(url)
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})
        raise ForbiddenResource(f"not a static file or data: URL: {url}")

    def _static_file(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ForbiddenResource(f"file URL on another host: {url}")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.static) or not path.is_file():
            raise ForbiddenResource(f"not a file under {self.static}: {url}")
        return path


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(TIMEZONE)


def long_date(value: dt.datetime | dt.date, language: str) -> str:
    """The day the British way in English (1 December 2026), or in Dutch: Amsterdam's day."""
    day = _local(value).date() if isinstance(value, dt.datetime) else value
    return format_date(day, format="long", locale=date_locale(language))


def short_time(value: dt.datetime, language: str) -> str:
    """Amsterdam time, 24-hour in both languages (20:15)."""
    return format_time(value, format="short", tzinfo=TIMEZONE, locale=date_locale(language))


@functools.cache
def _environment(language: str) -> jinja2.Environment:
    """One environment per language, since installing translations changes its globals."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    translations = Translations.load(str(TRANSLATIONS), [language])
    environment.install_gettext_translations(translations, newstyle=True)
    environment.filters["long_date"] = lambda value: long_date(value, language)
    environment.filters["handwriting_size"] = _handwriting_size
    environment.filters["handwriting_family"] = lambda name: _family_stack(
        (_handwriting_family(name),)
    )
    environment.filters["short_time"] = lambda value: short_time(value, language)
    return environment


def _signature_image(signature: PdfSignature) -> str | None:
    if signature.typed or signature.image_png is None:
        return None
    if not signature.image_png.startswith(PNG_MAGIC):
        raise ValueError(f"the signature of {signature.name} is not a PNG image")
    return "data:image/png;base64," + base64.b64encode(signature.image_png).decode("ascii")


@dataclass(frozen=True)
class FontFace:
    """One shipped font file: a family's style for one range of characters (a @font-face)."""

    family: str
    subset: str  # a range of scripts, as Fontsource cuts them: latin, latin-ext, greek, ...
    weight: int
    style: str
    src: str  # relative to app/static/
    unicode_range: str  # as CSS writes it: "U+0000-00FF,U+0131"

    @functools.cached_property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        bounds = (item.strip()[2:].split("-") for item in self.unicode_range.split(","))
        return tuple((int(pair[0], 16), int(pair[-1], 16)) for pair in bounds)

    @property
    def css_family(self) -> str:
        # A family name per subset: WeasyPrint embeds one PDF font per family, weight and
        # style, so two files under one name would share (and garble) each other's glyphs.
        return f"{self.family} {self.subset}"

    def serves(self, code: int) -> bool:
        return any(start <= code <= end for start, end in self.ranges)

    def serves_any(self, codes: list[int]) -> bool:
        """Whether it serves one of `codes`, which are sorted: a search per range."""
        for start, end in self.ranges:
            index = bisect.bisect_left(codes, start)
            if index < len(codes) and codes[index] <= end:
                return True
        return False

    @functools.cached_property
    def advances(self) -> dict[int, float]:
        """The characters this face draws (in its range and its font), with their widths in ems."""
        with TTFont(STATIC / self.src) as font:
            units, metrics = font["head"].unitsPerEm, font["hmtx"]
            return {
                code: metrics[glyph][0] / units
                for code, glyph in font.getBestCmap().items()
                if self.serves(code)
            }


@functools.cache
def font_faces() -> tuple[FontFace, ...]:
    return tuple(FontFace(**face) for face in json.loads(FONT_FACES.read_text()))


def _faces_for(text: str) -> list[FontFace]:
    """The faces a document with this text needs: a font is loaded only when a letter uses it."""
    codes = sorted(ord(character) for character in set(text))
    return [face for face in font_faces() if face.serves_any(codes)]


@functools.cache
def _family_advances(family: str) -> dict[str, float]:
    """What a family draws in its regular style: each character and its width in ems."""
    advances: dict[str, float] = {}
    for face in font_faces():
        if face.family == family and (face.weight, face.style) == (400, "normal"):
            for code, width in face.advances.items():
                advances.setdefault(chr(code), width)
    return advances


def _drawn(character: str) -> bool:
    """Whether a character needs a glyph: spaces, line breaks and controls need none."""
    return not character.isspace() and unicodedata.category(character) not in ("Cc", "Cf")


@functools.cache
def _shipped_codes() -> frozenset[int]:
    """Every character some shipped font draws."""
    return frozenset(code for face in font_faces() for code in face.advances)


def missing_characters(text: str) -> list[str]:
    """The characters of `text` that no shipped font draws (they would print as empty boxes)."""
    drawn = _shipped_codes()
    return sorted(ch for ch in set(text) if _drawn(ch) and ord(ch) not in drawn)


def _family_stack(first: tuple[str, ...] = ()) -> str:
    """A CSS font-family list of shipped fonts only, never a generic one: `first`, then the body.

    Each family is listed once per subset file, in the order of fonts.json.
    """
    names: dict[str, None] = {}
    for family in (*first, *BODY_FAMILIES):
        names |= {face.css_family: None for face in font_faces() if face.family == family}
    return ", ".join(f'"{name}"' for name in names)


def _handwriting_family(full_name: str) -> str:
    """The first handwriting family that has every letter of the name, so it reads as one hand.

    A name none of them covers whole (Hebrew, say) is written in the body fonts.
    """
    for family in HANDWRITING_FAMILIES:
        advances = _family_advances(family)
        if all(character in advances for character in full_name if _drawn(character)):
            return family
    return BODY_FAMILIES[0]


def _handwriting_size(full_name: str) -> float:
    """Points for a typed signature: as large as fits on its line, within HANDWRITING_POINTS."""
    advances = _family_advances(_handwriting_family(full_name))
    ems = sum(advances.get(character, 0.5) for character in full_name)
    smallest, largest = HANDWRITING_POINTS
    return round(max(smallest, min(largest, SIGNATURE_LINE_POINTS / max(ems, 0.1))), 1)


def _fingerprint_lines(fingerprint: str) -> tuple[str, str]:
    """Two lines of eight groups of four: easy to compare by eye."""
    groups = [fingerprint[index : index + 4] for index in range(0, len(fingerprint), 4)]
    return " ".join(groups[:8]), " ".join(groups[8:])


@functools.lru_cache(maxsize=8)  # one verify address per instance: encoded once, not per PDF
def _qr_code(url: str) -> str:
    """The verify page's address as a QR code: an SVG `data:` URL, drawn as vector paths.

    Error correction M; black on transparent, no text, so nothing in it troubles PDF/A.
    """
    return qr.svg_data_uri(url)


def _audit_groups(audit: tuple[AuditLine, ...]) -> list[tuple[str | None, list[AuditLine]]]:
    """Each person's lines together, in the order they first appear; what both did last."""
    people: dict[str | None, list[AuditLine]] = {}
    for line in audit:
        if line.person is not None:
            people.setdefault(line.person, []).append(line)
    shared = [line for line in audit if line.person is None]
    return [*people.items(), *([(None, shared)] if shared else [])]


def _audit_days(audit: tuple[AuditLine, ...]) -> list[tuple[dt.date, list[AuditLine]]]:
    """Consecutive lines grouped under the Amsterdam day they happened on."""
    return [
        (day, list(lines)) for day, lines in groupby(audit, key=lambda line: _local(line.at).date())
    ]


def _font_face_rules(faces: list[FontFace]) -> str:
    return "\n".join(
        f'@font-face {{ font-family: "{face.css_family}"; font-weight: {face.weight}; '
        f'font-style: {face.style}; src: url("{face.src}") format("truetype"); '
        f"unicode-range: {face.unicode_range}; }}"
        for face in faces
    )


def render_html(agreement: PdfAgreement) -> str:
    if agreement.language not in LANGUAGES:
        raise ValueError(f"no PDF labels for language {agreement.language!r}")
    template = _environment(agreement.language).get_template("pdf/agreement.html")
    html = template.render(
        agreement=agreement,
        created=agreement.finalised_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        signatures=[(item, _signature_image(item)) for item in agreement.signatures],
        fingerprint_lines=_fingerprint_lines(agreement.fingerprint),
        # Agreements finalised before the trail was grouped have no person on any line:
        # they print as they did, a line per event beside its time, by day.
        audit_groups=_audit_groups(agreement.audit)
        if any(line.person for line in agreement.audit)
        else None,
        audit_days=_audit_days(agreement.audit),
        qr_code=_qr_code(agreement.verify_url),
        body_families=_family_stack(),
        mono_families=_family_stack(("Source Code Pro",)),
    )
    # Declared once the text is known: only the faces its characters need are loaded.
    return html.replace(FONT_FACES_MARKER, _font_face_rules(_faces_for(html)), 1)


# WeasyPrint declares the fontconfig functions it uses; ShippedFonts needs one more.
weasyprint_ffi.ffi.cdef("FcConfig * FcConfigCreate (void);", override=True)


class ShippedFonts(FontConfiguration):
    """WeasyPrint's font configuration with the shipped fonts only, not the server's.

    Fontconfig would otherwise fill a letter our fonts lack with whatever the server has
    installed, so the same agreement would print differently on another server. Here such a
    letter prints as an empty box, the same everywhere, and render_pdf logs it.
    """

    def __init__(self):
        # As FontConfiguration.__init__ (WeasyPrint 70), with an empty configuration in place
        # of the system's: no system fonts are scanned, which also saves time on every render.
        self._config = weasyprint_ffi.fontconfig.FcConfigCreate()
        self.font_map = weasyprint_ffi.ffi.gc(
            weasyprint_ffi.pangoft2.pango_ft2_font_map_new(), weasyprint_ffi.gobject.g_object_unref
        )
        weasyprint_ffi.pangoft2.pango_fc_font_map_set_config(
            weasyprint_ffi.ffi.cast("PangoFcFontMap *", self.font_map), self._config
        )
        weasyprint_ffi.fontconfig.FcConfigDestroy(self._config)  # the font map holds it
        self._folder = None
        self.strut_layouts = {}
        self.font_features = {}


_FONTS = threading.local()


def _kept_fonts() -> ShippedFonts:
    """This thread's font configuration, kept from one render to the next.

    Loading the shipped fonts into a new configuration, and Pango's caches refilling, cost
    about 30 ms a render. A kept one loads each face once (WeasyPrint skips a face it has)
    and renders byte for byte the same PDFs, whatever it rendered before: a face is only
    declared for characters it draws, and it never draws any other (tests/unit/test_pdf.py).
    One per thread, as Pango's font maps are not to be shared between threads; a forked
    process makes its own. The font files WeasyPrint copied go when the process ends.
    """
    kept = getattr(_FONTS, "kept", None)
    if kept is None or kept[0] != os.getpid():
        fonts = ShippedFonts()
        _FONTS.kept = kept = (os.getpid(), fonts)
        atexit.register(_remove_font_copies, os.getpid(), fonts)
    return kept[1]


def _remove_font_copies(pid: int, fonts: ShippedFonts) -> None:
    if pid == os.getpid() and fonts._folder is not None:  # never a parent's, from a fork
        shutil.rmtree(fonts._folder, ignore_errors=True)


PDF_OPTIONS = dict(
    pdf_variant=PDF_VARIANT, pdf_version=PDF_VERSION, pdf_tags=True, output_intent=OUTPUT_INTENT
)


RGB = (["r"], ["g"], ["b"])  # the profile's components, as WeasyPrint names them


def _output_profile() -> dict[str, ColorProfile]:
    """PDF/A's output intent, the sRGB profile WeasyPrint ships.

    Given here because WeasyPrint's own "srgb" intent opens the file without closing it.
    """
    profile = BytesIO(SRGB_PROFILE.read_bytes())
    return {OUTPUT_INTENT: ColorProfile(profile, SRGB_PROFILE.name, "relative-colorimetric", RGB)}


def render_pdf(agreement: PdfAgreement) -> bytes:
    """The agreement as a PDF/A-3b document, tagged for screen readers, every font embedded."""
    return _laid_out(agreement).write_pdf(custom_metadata=True, **PDF_OPTIONS)


def _laid_out(agreement: PdfAgreement):
    """The agreement's pages as WeasyPrint laid them out, with Duet's document information."""
    string = render_html(agreement)
    if missing := missing_characters(string):
        log.warning(
            "The PDF has characters no shipped font draws: %s",
            " ".join(f"U+{ord(character):04X}" for character in missing),
        )
    html = HTML(string=string, base_url=STATIC.as_uri() + "/", url_fetcher=StaticFetcher())
    document = html.render(
        font_config=_kept_fonts(), color_profiles=_output_profile(), **PDF_OPTIONS
    )
    # Set here rather than as <meta> tags, which WeasyPrint would lowercase.
    document.metadata.custom = {
        INFO_FINGERPRINT: agreement.fingerprint,
        INFO_PARTNERS: json.dumps(list(agreement.partners), ensure_ascii=False),
        INFO_VERSION: str(agreement.version),
        INFO_DOCUMENT_ID: agreement.document_id,
        INFO_SIGNED_NAMES: json.dumps(
            [signature.full_name for signature in agreement.signatures], ensure_ascii=False
        ),
    }
    return document


# --- Sealing -----------------------------------------------------------------------------


class SealUnavailable(Exception):
    """This instance cannot seal: it has no seal yet, or one that does not hold together."""


class Sealer:
    """The instance's signing identity: one key and the certificate that names it.

    Loading never makes a key: only `flask seal init` does (`create`), so every worker and
    every restart seals with the same identity, or refuses to seal at all.
    """

    def __init__(
        self, signer: signers.SimpleSigner, source: Path, retired: frozenset[str] = frozenset()
    ):
        self.signer = signer
        self.source = source
        # Fingerprints of the identities this one deliberately replaced (`seal init --replace`).
        self.retired = retired
        self.certificate: asn1_x509.Certificate = signer.signing_cert
        self.certificate_fingerprint = hashlib.sha256(self.certificate.dump()).hexdigest()

    def signature(self, digest: bytes) -> bytes:
        """The CMS signature (PAdES B-B) over a document's SHA-256 digest, as pyHanko makes it.

        pyHanko's signer rebuilds the same container every time (a few ms of asn1crypto);
        only the digest and the signature over the signed attributes ever change. So this
        takes one it made over a stand-in digest, puts the document's digest in its place,
        and signs the signed attributes again with pyHanko's signer (DER: a SET, tagged [0]).
        """
        stand_in, template = self._template
        info = cms.ContentInfo.load(template.replace(stand_in, digest))
        signer_info = info["content"]["signer_infos"][0]
        attributes = signer_info["signed_attrs"].dump()
        [found] = [
            item for item in signer_info["signed_attrs"] if item["type"].native == "message_digest"
        ]
        if found["values"][0].native != digest:
            raise ValueError("the document's digest did not take the stand-in's place")
        signer_info["signature"] = self.signer.sign_raw(b"\x31" + attributes[1:], "sha256")
        return info.dump()

    @functools.cached_property
    def _template(self) -> tuple[bytes, bytes]:
        """A stand-in digest (random, so found once) and pyHanko's PAdES signature over it."""
        stand_in = os.urandom(32)
        signed = _outside_event_loop(
            asyncio.run,
            self.signer.async_sign(
                stand_in,
                "sha256",
                use_pades=True,
                signed_attr_settings=PdfCMSSignedAttributes(signing_time=dt.datetime.now(dt.UTC)),
            ),
        )
        template = signed.dump()
        if template.count(stand_in) != 1:
            raise ValueError("the stand-in digest is not found once in the signature")
        return stand_in, template

    @functools.cached_property
    def reserved_bytes(self) -> int:
        """Room for a seal without a time-stamp token, in hex digits: what pyHanko would
        estimate before each seal (a trial signature, plus half), worked out once.

        Only the key, the certificates and the digest decide a seal's size, never the
        document; the trial signature costs as much as the real one (a third of the seal).
        """
        return _reserved_with(self, None)

    @classmethod
    def load(
        cls, instance_path: Path, pkcs12_path: Path | None = None, passphrase: bytes | None = None
    ) -> "Sealer":
        """The PKCS#12 identity when given, else the one in instance_path/seal/.

        The passphrase opens the PKCS#12 file, or the key in the folder. Raises SealUnavailable
        with one line saying why when there is no identity or its parts do not belong together.
        """
        folder = seal_folder(instance_path)
        retired = _read_retired(folder)
        if pkcs12_path is not None:
            key, certificate, chain = _read_pkcs12(Path(pkcs12_path), passphrase)
            return cls._of(key, certificate, chain, Path(pkcs12_path), retired)
        key, certificate = _read_folder(folder, passphrase)
        return cls._of(key, certificate, [], folder, retired)

    @classmethod
    def create(
        cls, instance_path: Path, passphrase: bytes | None = None, retired: tuple[str, ...] = ()
    ) -> "Sealer":
        """A new key and self-signed certificate in instance_path/seal/, which must not exist.

        The passphrase, if any, encrypts the key. Raises FileExistsError when there is a seal.
        """
        folder = seal_folder(instance_path)
        if folder.exists():
            raise FileExistsError(f"there is a seal in {folder} already")
        building = _build_seal(folder.parent, passphrase, retired)
        try:
            building.rename(folder)
        except OSError:
            # Another `seal init` at the same moment won; its seal is the one.
            raise FileExistsError(f"there is a seal in {folder} already") from None
        finally:
            shutil.rmtree(building, ignore_errors=True)
        return cls.load(instance_path, passphrase=passphrase)

    @classmethod
    def replace(
        cls, instance_path: Path, passphrase: bytes | None = None, retired: tuple[str, ...] = ()
    ) -> tuple["Sealer", Path | None]:
        """A new identity in instance_path/seal/; the old folder is moved aside, never deleted.

        Returns the new sealer and where the old folder went (None if there was none).
        """
        folder = seal_folder(instance_path)
        building = _build_seal(folder.parent, passphrase, retired)
        kept = None
        try:
            if folder.exists():
                stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
                kept = folder.with_name(f"{folder.name}.replaced-{stamp}")
                folder.rename(kept)
            try:
                building.rename(folder)
            except OSError:
                if kept is not None:
                    kept.rename(folder)
                raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
        return cls.load(instance_path, passphrase=passphrase), kept

    @classmethod
    def _of(cls, key, certificate: x509.Certificate, chain, source: Path, retired) -> "Sealer":
        if _public_der(key.public_key()) != _public_der(certificate.public_key()):
            raise SealUnavailable(
                f"the certificate in {source} does not belong to its key: "
                "restore the key and certificate from the same backup"
            )
        der = serialization.Encoding.DER
        signer = signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(certificate.public_bytes(der)),
            signing_key=asn1_keys.PrivateKeyInfo.load(
                key.private_bytes(
                    der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            ),
            cert_registry=SimpleCertificateStore.from_certs(
                [asn1_x509.Certificate.load(item.public_bytes(der)) for item in chain]
            ),
        )
        return cls(signer, source, retired)


def seal_folder(instance_path: Path) -> Path:
    return Path(instance_path) / "seal"


def write_retired(folder: Path, fingerprints) -> None:
    """Record the fingerprints of the identities the seal in `folder` replaced on purpose."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / RETIRED_FILE).write_text("".join(f"{item}\n" for item in sorted(set(fingerprints))))


def _read_retired(folder: Path) -> frozenset[str]:
    try:
        lines = (folder / RETIRED_FILE).read_text().split()
    except FileNotFoundError:
        return frozenset()
    except OSError as error:
        raise SealUnavailable(f"cannot read {folder / RETIRED_FILE}: {error.strerror}") from None
    return frozenset(line.lower() for line in lines)


def _read_folder(folder: Path, passphrase: bytes | None):
    key_file, certificate_file = folder / "key.pem", folder / "cert.pem"
    if not folder.is_dir() or not (key_file.exists() or certificate_file.exists()):
        raise SealUnavailable(
            f"there is no seal in {folder}: make one with `flask --app app seal init`"
        )
    key_pem, certificate_pem = _read(key_file), _read(certificate_file)
    try:
        key = serialization.load_pem_private_key(key_pem, passphrase)
    except (TypeError, ValueError) as error:
        raise SealUnavailable(
            f"cannot open the seal key {key_file} (is SEAL_PKCS12_PASSPHRASE right?): {error}"
        ) from None
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as error:
        raise SealUnavailable(f"{certificate_file} is not a certificate: {error}") from None
    return key, certificate


def _read_pkcs12(path: Path, passphrase: bytes | None):
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(_read(path), passphrase)
    except ValueError as error:
        raise SealUnavailable(
            f"cannot open the PKCS#12 file {path} (is SEAL_PKCS12_PASSPHRASE right?): {error}"
        ) from None
    if key is None:
        raise SealUnavailable(f"the PKCS#12 file {path} holds no private key")
    if certificate is None:
        raise SealUnavailable(f"the PKCS#12 file {path} holds no certificate for its key")
    return key, certificate, chain


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SealUnavailable(f"cannot read {path}: {error.strerror}") from None


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _build_seal(parent: Path, passphrase: bytes | None, retired: tuple[str, ...]) -> Path:
    """A new key, its self-signed certificate and the retired list, in a temporary folder.

    The caller renames the folder into place, so a seal is there whole or not at all.
    """
    parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".seal-", dir=parent))
    try:
        key = ec.generate_private_key(ec.SECP256R1())
        encryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        descriptor = os.open(building / "key.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key_pem)
        certificate = _self_signed(key)
        (building / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        if retired:
            write_retired(building, retired)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return building


def _self_signed(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SEAL_NAME)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=366 * SEAL_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _outside_event_loop(function, *args, **kwargs):
    """Call one of pyHanko's synchronous functions from anywhere.

    They use asyncio.run(), which refuses to start inside a running event loop (an async
    server, or a thread driven by Playwright's sync API); then run it in a thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


@dataclass(frozen=True)
class TimestampService:
    """An RFC 3161 time-stamping service that vouches for the time of each seal."""

    url: str
    timeout: float = 10  # seconds, for each request (a seal makes two)


class TimestampFailed(Exception):
    """The time-stamping service gave no usable token."""


class _Timestamper(HTTPTimeStamper):
    """pyHanko's HTTP client, with anything that goes wrong marked as the service's doing.

    pyHanko checks the answer's status and nonce; a token for another digest would be a
    B-T seal whose time vouches for nothing, so that is checked here too.
    """

    async def async_timestamp(self, message_digest, md_algorithm):
        try:
            token = await super().async_timestamp(message_digest, md_algorithm)
            content = token["content"]["encap_content_info"]["content"].parsed
            imprint = content["message_imprint"]
            if (
                imprint["hash_algorithm"]["algorithm"].native != md_algorithm
                or imprint["hashed_message"].native != message_digest
                or content["gen_time"].native is None
            ):
                raise ValueError("the token is not for the digest that was sent")
            return token
        except Exception as error:
            raise TimestampFailed(_why(error)) from error


def _why(error: BaseException) -> str:
    """The error and its causes in one line, e.g. 'TimestampRequestError: ...; TimeoutError'."""
    parts = []
    while error is not None and len(parts) < 4:
        parts.append(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
        error = error.__cause__
    return "; ".join(parts)


def _public_url(url: str) -> str:
    """The service's address without a user name, password or query, which may hold a key."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _log_unstamped(timestamp: TimestampService, error: TimestampFailed) -> None:
    log.warning(
        "Sealed without a trusted time (PAdES B-B): the time-stamping service %s failed: %s",
        _public_url(timestamp.url),
        str(error).replace(timestamp.url, _public_url(timestamp.url)),
    )


def seal_pdf(pdf: bytes, sealer: Sealer, timestamp: TimestampService | None = None) -> bytes:
    """A PAdES signature over the whole document, as an incremental update.

    With a time-stamping service the signature carries its token (B-T). When the service is
    down, slow or answers nonsense, the document is sealed without one (B-B) and the log
    says why: an agreement is never left unsealed for want of a trusted time.
    """
    if timestamp is not None:
        timestamper = _Timestamper(timestamp.url, timeout=timestamp.timeout)
        try:
            return _seal(pdf, sealer, timestamper)
        except TimestampFailed as error:
            _log_unstamped(timestamp, error)
    return _seal(pdf, sealer, None)


def sealed_pdf(
    agreement: PdfAgreement, sealer: Sealer, timestamp: TimestampService | None = None
) -> bytes:
    """`seal_pdf(render_pdf(agreement))` in one pass: the PDF is written with its seal's
    field and room for the signature, which is then filled in, so nothing parses it again.

    The same PAdES seal (B-T with a working time-stamping service, else B-B and a log line)
    over the whole file, in the file's one revision rather than an update appended to it.
    """
    timestamper = None
    if timestamp is not None:
        timestamper = _Timestamper(timestamp.url, timeout=timestamp.timeout)
        try:  # the room for a token: the service's answer to a trial (as pyHanko asks it)
            reserved = _reserved_with(sealer, timestamper)
        except TimestampFailed as error:
            _log_unstamped(timestamp, error)
            timestamper = None
    if timestamper is None:
        reserved = sealer.reserved_bytes
    placeholder = _SealPlaceholder(reserved, dt.datetime.now(dt.UTC).replace(microsecond=0))
    document = _laid_out(agreement).write_pdf(
        custom_metadata=True, finisher=placeholder.add_to, **PDF_OPTIONS
    )
    data, digest = placeholder.ranged(document)
    if timestamper is not None:
        try:
            return placeholder.filled(data, _signature(sealer, digest, placeholder, timestamper))
        except TimestampFailed as error:
            _log_unstamped(timestamp, error)
    return placeholder.filled(data, _signature(sealer, digest, placeholder, None))


def _reserved_with(sealer: Sealer, timestamper: HTTPTimeStamper | None) -> int:
    """Hex digits for a seal (with a token when there is a time-stamping service), as pyHanko
    estimates it: a trial signature, plus half."""
    trial = _outside_event_loop(
        asyncio.run,
        sealer.signer.async_sign(
            hashlib.sha256().digest(),
            "sha256",
            use_pades=True,
            dry_run=True,
            timestamper=timestamper,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=dt.datetime.now(dt.UTC)),
        ),
    )
    size = 2 * len(trial.dump())
    return size + 2 * (size // 4)


def _signature(
    sealer: Sealer, digest: bytes, placeholder: "_SealPlaceholder", timestamper
) -> bytes:
    """The CMS signature (PAdES) over a document's digest, as pyHanko's PdfSigner makes it."""
    if timestamper is None:
        return sealer.signature(digest)
    signed = _outside_event_loop(
        asyncio.run,
        sealer.signer.async_sign(
            digest,
            "sha256",
            use_pades=True,
            timestamper=timestamper,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=placeholder.signed_at),
        ),
    )
    return signed.dump()


class _SealPlaceholder:
    """The seal's signature dictionary, field and widget, added to a PDF WeasyPrint is about
    to write (its `finisher`), with zeros where the signature will be: what pyHanko's
    PdfSigner appends as an update (an invisible widget on the first page, /SigFlags 3, the
    ESIC extension at PDF 1.7), written with the rest instead.
    """

    BYTE_RANGE = b"[0 0000000000 0000000000 0000000000]"

    def __init__(self, reserved: int, signed_at: dt.datetime):
        self.reserved = reserved  # hex digits
        self.signed_at = signed_at
        self.value = _SignatureValue(
            b"<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M (D:"
            + signed_at.strftime("%Y%m%d%H%M%S").encode()
            + b"Z) /ByteRange "
            + self.BYTE_RANGE
            + b" /Contents <"
            + b"0" * reserved
            + b">>>"
        )

    def add_to(self, document, pdf) -> None:
        pdf.add_object(self.value)
        first_page = pdf.objects[pdf.pages["Kids"][0]]
        field = pydyf.Dictionary(
            {
                "FT": "/Sig",
                "T": pydyf.String(SEAL_FIELD),
                "Type": "/Annot",
                "Subtype": "/Widget",
                "F": 132,  # print, locked
                "Rect": pydyf.Array([0, 0, 0, 0]),
                "P": first_page.reference,
                "V": self.value.reference,
            }
        )
        pdf.add_object(field)
        first_page.setdefault("Annots", pydyf.Array()).append(field.reference)
        if "AcroForm" in pdf.catalog:
            raise ValueError("the PDF has a form already: seal it with seal_pdf")
        pdf.catalog["AcroForm"] = pydyf.Dictionary(
            {"Fields": pydyf.Array([field.reference]), "SigFlags": 3}
        )
        pdf.catalog["Extensions"] = pydyf.Dictionary(
            {
                "ESIC": pydyf.Dictionary(
                    {"Type": "/DeveloperExtensions", "BaseVersion": "/1.7", "ExtensionLevel": 1}
                )
            }
        )

    def ranged(self, data: bytes) -> tuple[bytearray, bytes]:
        """The written PDF with its /ByteRange filled in, and the SHA-256 of those ranges."""
        data = bytearray(data)
        start = data.index(b"/Contents <", self.value.offset) + len(b"/Contents ")
        end = start + self.reserved + 2  # the hex string and its brackets are left out
        byte_range = f"[0 {start} {end} {len(data) - end}]".encode()
        at = data.index(self.BYTE_RANGE, self.value.offset)
        data[at : at + len(self.BYTE_RANGE)] = byte_range.ljust(len(self.BYTE_RANGE))
        self.contents = start + 1
        digest = hashlib.sha256(memoryview(data)[:start])
        digest.update(memoryview(data)[end:])
        return data, digest.digest()

    def filled(self, data: bytearray, signature: bytes) -> bytes:
        digits = signature.hex().upper().encode()
        if len(digits) > self.reserved:
            raise ValueError(f"the seal takes {len(digits)} hex digits, {self.reserved} reserved")
        data[self.contents : self.contents + len(digits)] = digits
        return bytes(data)


class _SignatureValue(pydyf.Object):
    """A signature dictionary written as given, outside any object stream: its /ByteRange
    counts bytes of the file itself."""

    compressible = False

    def __init__(self, data: bytes):
        super().__init__()
        self._data = data

    @property
    def data(self) -> bytes:
        return self._data


class _Pdf17Signer(signers.PdfSigner):
    """A PAdES seal that keeps the file at PDF 1.7, as rendered (PDF/A-3 is built on 1.7).

    pyHanko declares ISO/TS 32002 for a P-256 key, which raises the catalog's /Version to
    2.0 under a 1.7 header; PAdES already covers ECDSA, so the ESIC extension is enough.
    """

    def register_extensions(self, pdf_out, *, md_algorithm):
        pdf_out.ensure_output_version(version=(1, 7))
        pdf_out.register_extension(constants.ESIC_EXTENSION_1)


def _seal(pdf: bytes, sealer: Sealer, timestamper: HTTPTimeStamper | None) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    metadata = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    signer = _Pdf17Signer(metadata, signer=sealer.signer, timestamper=timestamper)
    output = BytesIO()
    # With a token the size depends on the service's answer: pyHanko asks it for a trial one.
    reserved = sealer.reserved_bytes if timestamper is None else None
    _outside_event_loop(signer.sign_pdf, writer, bytes_reserved=reserved, output=output)
    return output.getvalue()


def sealed_by(pdf: bytes) -> str | None:
    """The SHA-256 fingerprint of the certificate that sealed one of our stored PDFs."""
    try:
        seals = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures
        return hashlib.sha256(seals[0].signer_cert.dump()).hexdigest() if seals else None
    except Exception:
        return None


# --- Verifying ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyBudget:
    """What checking one upload may cost; the settings are VERIFY_* in app/config.py."""

    max_fields: int
    cpu_seconds: float
    memory_bytes: int
    timeout_seconds: float

    @classmethod
    def from_config(cls, config) -> "VerifyBudget":
        return cls(
            max_fields=config["VERIFY_MAX_FIELDS"],
            cpu_seconds=config["VERIFY_CPU_SECONDS"],
            memory_bytes=config["VERIFY_MEMORY_BYTES"],
            timeout_seconds=config["VERIFY_TIMEOUT_SECONDS"],
        )


def verify_pdf(
    data: bytes,
    sealer: Sealer,
    budget: VerifyBudget | None = None,
    timestamp_trust: tuple[asn1_x509.Certificate, ...] = (),
) -> Verification:
    """What an uploaded file is, judged against this instance's seal within a budget.

    A time-stamp token's time counts as confirmed when its service's certificate leads to
    one of `timestamp_trust` (see `read_certificates`). Never raises: an upload can be
    anything, and anything it breaks on is an answer too.
    """
    try:
        verdict = check_in_worker(data, sealer.certificate, budget, timestamp_trust)
    except OSError:
        log.exception("The process that checks an upload could not be started")
        return Verification("unavailable")
    if verdict["status"] != "genuine":
        return Verification(verdict["status"])
    return Verification(
        "genuine",
        sealed_at=dt.datetime.fromisoformat(verdict["sealed_at"]) if verdict["sealed_at"] else None,
        partners=tuple(verdict["partners"]),
        fingerprint=verdict["fingerprint"],
        level=verdict["level"],
        timestamp_at=(
            dt.datetime.fromisoformat(verdict["timestamp_at"]) if verdict["timestamp_at"] else None
        ),
        timestamp_trusted=verdict["timestamp_trusted"],
        document_id=verdict["document_id"],
        version=verdict["version"],
        signed_names=tuple(verdict["signed_names"]),
        seal_certificate=verdict["seal_certificate"],
    )


def read_certificates(path: Path) -> tuple[asn1_x509.Certificate, ...]:
    """The certificates in a PEM file (SEAL_TIMESTAMP_TRUST); OSError or ValueError if none."""
    certificates = x509.load_pem_x509_certificates(Path(path).read_bytes())
    der = serialization.Encoding.DER
    return tuple(asn1_x509.Certificate.load(item.public_bytes(der)) for item in certificates)


class _Checkers:
    """verify_worker.py serving in a process of its own, started on first use in each web
    worker process (and again after it ends, or in a forked child); it forks the checkers."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._process: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._errors = None
        atexit.register(self.stop)

    def send(self, request: bytes) -> socket.socket:
        """A socket to a new checker for `request`; OSError when none can be started."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self._lock:
                try:
                    socket.send_fds(self._running(), [request], [theirs.fileno()])
                except ConnectionError:  # it ended since the last upload: start it again
                    self._stop()
                    socket.send_fds(self._running(), [request], [theirs.fileno()])
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        return ours

    def failure(self, wait_seconds: float) -> tuple[int, str] | None:
        """How the serving process ended (exit status, what it wrote), if it did."""
        with self._lock:
            if self._process is None:
                return None
            try:
                status = self._process.wait(timeout=wait_seconds)
            except subprocess.TimeoutExpired:
                return None
            self._errors.seek(0)
            written = self._errors.read(VERIFY_LOG_CHARS).decode(errors="replace")
            self._stop()
            return status, written

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def forked(self) -> int:
        """How many checkers the serving process has running (its children)."""
        process = self._process
        if process is None or process.poll() is not None:
            return 0
        try:
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
        except OSError:
            return 0
        return len(children.split())

    def _running(self) -> socket.socket:
        key = (os.getpid(), sys.executable, str(VERIFY_WORKER))
        if self._key == key and self._process.poll() is None:
            return self._control
        if self._key is not None and self._key[0] == key[0]:
            self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Read only when the process ends; a file, so that no pipe it fills can ever block it.
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - kept for the process's life
        try:
            process = subprocess.Popen(
                # -P: not the worker's own folder on sys.path, its neighbours are the app's
                [sys.executable, "-P", str(VERIFY_WORKER), f"--serve={theirs.fileno()}"],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
        except OSError:
            ours.close()
            errors.close()
            raise
        finally:
            theirs.close()
        self._key, self._process, self._control, self._errors = key, process, ours, errors
        return ours

    def _stop(self) -> None:
        """End the serving process: it returns when its socket closes."""
        if self._key is None or self._key[0] != os.getpid():
            self._key = None  # a forked child leaves its parent's process alone
            return
        self._control.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._errors.close()
        self._key = self._process = self._control = self._errors = None


_CHECKERS = _Checkers()


def checkers_running() -> int:
    """How many uploads this process's verify worker is checking right now (Linux)."""
    return _CHECKERS.forked()


def check_in_worker(
    data: bytes,
    certificate: asn1_x509.Certificate,
    budget: VerifyBudget | None = None,
    timestamp_trust: tuple[asn1_x509.Certificate, ...] = (),
) -> dict:
    """The checker's verdict on `data`, with how much memory (peak_kb) and CPU time
    (cpu_seconds, from its fork on) it took when it says.

    The checker is killed when it runs past the budget's time; what it logged, capped, is
    logged here once. OSError when no checker can be started.
    """
    budget = budget or VerifyBudget.from_config(settings.DEFAULTS)
    request = json.dumps(
        {
            "certificate": certificate.dump().hex(),
            "max_fields": budget.max_fields,
            "cpu_seconds": budget.cpu_seconds,
            "memory_bytes": budget.memory_bytes,
            "timeout_seconds": budget.timeout_seconds,
            "timestamp_trust": [root.dump().hex() for root in timestamp_trust],
        }
    ).encode()
    connection = _CHECKERS.send(request)
    deadline = time.monotonic() + budget.timeout_seconds
    answer, over = bytearray(), None
    with connection:
        try:
            connection.settimeout(budget.timeout_seconds)
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
            while chunk := connection.recv(64 * 1024):
                answer += chunk
                connection.settimeout(max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            over = "time"
        except OSError:
            pass  # the checker ended early: what it answered, if anything, says why
    pid, _, rest = bytes(answer).partition(b"\n")
    line, _, logged = rest.partition(b"\n")
    if over and pid.isdigit():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    if logged:
        log.warning("Checking an upload: %s", logged[:VERIFY_LOG_CHARS].decode(errors="replace"))
    try:
        verdict = json.loads(line)
    except ValueError:
        verdict = None
    if over or not isinstance(verdict, dict) or "status" not in verdict:
        # No process ID: no checker was forked, so the serving process may have ended.
        ended = None if pid else _CHECKERS.failure(min(max(deadline - time.monotonic(), 0), 2))
        if ended:
            status, written = ended
            if written:
                log.warning("Checking an upload: %s", written)
            log.error("The process that checks an upload failed (exit %s)", status)
        verdict = {"status": "uncheckable", "over": over or "ended"}
    if verdict.get("over"):
        log.info("An upload was refused past its budget (%s)", verdict["over"])
    return verdict
