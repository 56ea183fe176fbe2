"""Judge one uploaded PDF against this Duet's seal, in a process of its own.

Each web worker starts this file once as a script (see `pdf.check_in_worker`), and it forks
one checker per upload. Everything an upload can make expensive happens in that checker,
under a memory limit and a CPU-time budget, so a hostile file costs at most that budget and
never the web worker. It imports only the standard library and pyHanko, not the Duet app,
so a checker is small; it never touches the network.

Before pyHanko parses any signature, the form is walked with a limit: a Duet agreement has
one form field, its seal, so a file with more than a handful of fields is not one of ours.
Each field is looked at once, and the check stops at the first seal by this Duet.
"""

import argparse
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import math
import os
import resource
import signal
import socket
import sys
import traceback
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    SignatureCoverageLevel,
    validate_pdf_signature,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError

# Document information keys the seal covers, so verification can tell what was sealed.
INFO_FINGERPRINT = "DuetFingerprint"
INFO_PARTNERS = "DuetPartners"
INFO_VERSION = "DuetVersion"
# Written by newer PDFs only: older ones are still genuine, with less to show.
INFO_DOCUMENT_ID = "DuetDocumentID"  # DUET-XXXX-XXXX-XXXX
INFO_SIGNED_NAMES = "DuetSignedNames"  # JSON list: the full names typed when signing

# A document ID or a signed full name longer than this is not one Duet writes.
INFO_TEXT_CHARS = 200

# Our own certificate has both usages; a PKCS#12 one from a CA may have only one of them.
SEAL_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"})

# What PDF counts as white space (ISO 32000-1, 7.2.2): harmless after the last %%EOF.
PDF_WHITESPACE = b"\x00\t\n\x0c\r "

LOG_RECORDS = 10  # pyHanko warns once per odd entry; a hostile file has hundreds of thousands
EXIT_OVER_BUDGET = 3

log = logging.getLogger("duet.verify")


class TooComplex(Exception):
    """More form fields than a Duet agreement could have."""


def check(
    data: bytes,
    certificate: asn1_x509.Certificate,
    max_fields: int,
    timestamp_trust: tuple[asn1_x509.Certificate, ...] = (),
) -> dict:
    """The verdict on `data`, as the JSON object the verify page reads.

    `timestamp_trust` are the roots a time-stamping service's certificate must lead to for
    its time to count as confirmed.

    Never raises but for MemoryError: an upload can be anything, and anything it breaks on
    is an answer too.
    """
    try:
        reader = PdfFileReader(BytesIO(data))
        fields = signature_fields(reader, max_fields)
    except TooComplex:
        return {"status": "uncheckable"}
    except MemoryError:
        raise
    except Exception:
        return {"status": "unreadable"}
    ours = hashlib.sha256(certificate.dump()).hexdigest()
    signed = False
    for name, field in fields:
        try:
            seal = EmbeddedPdfSignature(reader, field, name)
        except MemoryError:
            raise
        except Exception:
            return {"status": "unreadable"}
        if seal.sig_object_type != "/Sig":
            continue
        signed = True
        if _signer_fingerprint(seal) == ours:
            return _judge_ours(data, reader, seal, certificate, timestamp_trust)
    return {"status": "other_signer" if signed else "unsigned"}


def signature_fields(reader: PdfFileReader, limit: int) -> list[tuple[str, generic.IndirectObject]]:
    """The filled signature fields of the form, each once, in order; TooComplex past `limit`.

    pyHanko's own walk builds a signature for every entry, however often one repeats.
    """
    try:
        top = reader.root["/AcroForm"]["/Fields"]
    except KeyError:
        return []
    if not isinstance(top, generic.ArrayObject):
        return []
    pending = [(item, "", None) for item in _bounded(top, limit)]
    seen: set[generic.Reference] = set()
    found = []
    while pending:
        item, parent, inherited_type = pending.pop(0)
        if not isinstance(item, generic.IndirectObject) or item.reference in seen:
            continue
        seen.add(item.reference)
        if len(seen) > limit:
            raise TooComplex
        field = item.get_object()
        if not isinstance(field, generic.DictionaryObject):
            continue
        name = str(field.get("/T", ""))
        full_name = f"{parent}.{name}" if parent and name else parent or name
        field_type = field.get("/FT", inherited_type)
        if field_type == "/Sig" and field.get("/V"):
            found.append((full_name, item))
        kids = field.get("/Kids")
        if isinstance(kids, generic.ArrayObject):
            pending += [(kid, full_name, field_type) for kid in _bounded(kids, limit)]
    return found


def _bounded(array: generic.ArrayObject, limit: int) -> generic.ArrayObject:
    if len(array) > limit:
        raise TooComplex
    return array


def _signer_fingerprint(seal: EmbeddedPdfSignature) -> str | None:
    try:
        return hashlib.sha256(seal.signer_cert.dump()).hexdigest()
    except Exception:
        return None


def _judge_ours(data, reader, seal, certificate, timestamp_trust) -> dict:
    try:
        return _judge(data, reader, seal, certificate, timestamp_trust)
    except MemoryError:
        raise
    except Exception:
        # Our own seal that cannot be checked is not one we can vouch for; say why in the log.
        log.warning("A PDF with this instance's seal could not be validated", exc_info=True)
        return {"status": "altered"}


def _judge(data: bytes, reader, seal: EmbeddedPdfSignature, certificate, timestamp_trust) -> dict:
    """Genuine only when intact, valid and covering every byte of the file but white space.

    A time-stamp token (PAdES B-T) sits in the signature's unsigned attributes, outside what
    the seal signs, so it neither makes nor breaks a genuine seal: it only adds a time.
    """
    context = ValidationContext(trust_roots=[certificate], allow_fetching=False)
    # Only the configured roots, never the system's, and nothing fetched (no revocation).
    timestamp_context = ValidationContext(trust_roots=list(timestamp_trust), allow_fetching=False)
    status = validate_pdf_signature(
        seal,
        signer_validation_context=context,
        ts_validation_context=timestamp_context,
        key_usage_settings=SEAL_KEY_USAGE,
        # Any revision after the seal makes the file "altered" (`_covers_the_file`), so
        # pyHanko's analysis of what such a revision changed is never needed: on a tagged
        # PDF it walks the whole structure tree, 0.2-0.4 s of the 0.5 s budget.
        skip_diff=True,
    )
    token = status.timestamp_validity
    # pyHanko's bottom line also asks a token to be trusted; the seal's own verdict does not.
    seal_only = dataclasses.replace(status, timestamp_validity=None)
    if not seal_only.bottom_line or not _covers_the_file(status.coverage, seal, data):
        return {"status": "altered"}
    # Everything shown comes from the revision the seal signs, or the seal itself: never
    # from bytes after it (there are none but white space, or the file is not genuine).
    info = reader.get_historical_resolver(seal.signed_revision).trailer_view["/Info"]
    sealed_at = seal.self_reported_timestamp
    # Intact and valid: signed by the certificate it names, over this seal's signature.
    stamped = token is not None and token.intact and token.valid
    return {
        "status": "genuine",
        "sealed_at": sealed_at.astimezone(dt.UTC).isoformat() if sealed_at else None,
        "partners": list(json.loads(str(info["/" + INFO_PARTNERS]))),
        "fingerprint": str(info["/" + INFO_FINGERPRINT]),
        "document_id": _text(info.get("/" + INFO_DOCUMENT_ID)),
        "version": _version(info.get("/" + INFO_VERSION)),
        "signed_names": _names(info.get("/" + INFO_SIGNED_NAMES)),
        "seal_certificate": _signer_fingerprint(seal),
        "level": "B-T" if stamped else "B-B",
        "timestamp_at": token.timestamp.astimezone(dt.UTC).isoformat() if stamped else None,
        "timestamp_trusted": bool(stamped and token.trusted),
    }


def _text(value, limit: int = INFO_TEXT_CHARS) -> str | None:
    """A text entry of the document information, or None when absent, empty or too long."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if 0 < len(text) <= limit else None


def _version(value) -> int | None:
    text = _text(value)
    return int(text) if text and text.isdigit() and len(text) < 10 else None


def _names(value) -> list[str]:
    """The signed full names, in signing order; none when the entry is absent or odd."""
    text = _text(value, limit=3 * INFO_TEXT_CHARS)
    try:
        names = json.loads(text) if text else []
    except ValueError:
        return []
    if not isinstance(names, list) or len(names) > 2:
        return []
    if not all(isinstance(name, str) and 0 < len(name) <= INFO_TEXT_CHARS for name in names):
        return []
    return names


def _covers_the_file(coverage, seal: EmbeddedPdfSignature, data: bytes) -> bool:
    """Every byte, or every byte of the last revision followed by nothing but white space.

    A file passed through a mail program or an editor often gains a newline at the end.
    """
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    if coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return False
    *_, start, length = (int(value) for value in seal.byte_range)
    return not data[start + length :].strip(PDF_WHITESPACE)


# --- Running as a process of its own -----------------------------------------------------
#
# Started once per web worker process (`pdf.check_in_worker`) as
# `python -P verify_worker.py --serve=FD`: pyHanko is imported once, then the process waits on
# FD, a Unix socket, for one request per upload: a JSON header with the budget, and a socket
# of its own for the upload. For each it forks a checker, which sends its process ID, puts
# itself under the budget, reads the upload to the end, and answers one JSON line followed by
# what it logged. A fork costs milliseconds; starting Python and pyHanko costs over half a
# second of CPU, which every upload paid before.

REQUEST_BYTES = 256 * 1024  # a header: the certificates in hex and four numbers

# Set in a checker: where its answer goes and what it logged so far.
_reply: socket.socket | None = None
_logged = io.StringIO()


def _peak_kilobytes() -> int:
    """The most memory this process has held, in KiB.

    Linux's VmHWM: ru_maxrss would carry over the web worker's peak from before exec.
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _answer(verdict: dict) -> None:
    verdict["peak_kb"] = _peak_kilobytes()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    verdict["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 4)
    _reply.sendall((json.dumps(verdict) + "\n" + _logged.getvalue()).encode(errors="replace"))


def _out_of_time(_signum, _frame) -> None:
    _answer({"status": "uncheckable", "over": "cpu"})
    os._exit(EXIT_OVER_BUDGET)


class _FirstRecords(logging.Filter):
    """Lets the first few records through and drops the rest."""

    def __init__(self, limit: int):
        super().__init__()
        self.left = limit

    def filter(self, record: logging.LogRecord) -> bool:
        self.left -= 1
        return self.left >= 0


class _UntrustedTimestamps(logging.Filter):
    """Drops pyHanko's warning (with its traceback) that a certificate has no path to a root.

    Our seal's certificate is its own root, so only a time-stamping service's can have none:
    expected without SEAL_TIMESTAMP_TRUST, and the page says so already.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], PathBuildingError))


def _limit(cpu_seconds: float, memory_bytes: int, timeout_seconds: float) -> None:
    """The budget: address space, CPU time (a timer, and the kernel's limit behind it), and
    a wall-clock alarm, so that a checker nobody reads from any more never lingers."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # The kernel's limit stops even code the timer cannot interrupt.
    used = resource.getrusage(resource.RUSAGE_SELF)
    hard_stop = math.ceil(used.ru_utime + used.ru_stime + cpu_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (hard_stop, hard_stop + 1))
    signal.signal(signal.SIGPROF, _out_of_time)
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
    signal.alarm(math.ceil(timeout_seconds) + 1)
    # The web workers come first when the machine is busy.
    os.nice(10)


def _read_to_the_end(connection: socket.socket) -> bytes:
    parts = []
    while chunk := connection.recv(1024 * 1024):
        parts.append(chunk)
    return b"".join(parts)


def _check_one(request: dict, connection: socket.socket) -> int:
    """In a forked checker: judge the upload on `connection` as `request` says; the exit status."""
    global _reply
    _reply = connection
    connection.sendall(f"{os.getpid()}\n".encode())
    handler = logging.StreamHandler(_logged)
    handler.addFilter(_UntrustedTimestamps())
    handler.addFilter(_FirstRecords(LOG_RECORDS))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    logging.captureWarnings(True)
    certificate = asn1_x509.Certificate.load(bytes.fromhex(request["certificate"]))
    timestamp_trust = tuple(
        asn1_x509.Certificate.load(bytes.fromhex(item)) for item in request["timestamp_trust"]
    )
    _limit(request["cpu_seconds"], request["memory_bytes"], request["timeout_seconds"])
    try:
        data = _read_to_the_end(connection)
        verdict = check(data, certificate, request["max_fields"], timestamp_trust)
        signal.setitimer(signal.ITIMER_PROF, 0)
        _answer(verdict)
    except MemoryError:
        _answer({"status": "uncheckable", "over": "memory"})
        return EXIT_OVER_BUDGET
    return 0


def serve(control: socket.socket) -> int:
    """Fork a checker for each request on `control`; return when Duet closes its end."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the checkers
    while True:
        try:
            message, fds, _flags, _address = socket.recv_fds(control, REQUEST_BYTES, 1)
        except OSError:
            return 0
        if not message or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            if not message:
                return 0
            continue
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                status = _check_one(json.loads(message), socket.socket(fileno=fds[0]))
            except Exception:
                traceback.print_exc()
            finally:
                os._exit(status)
        os.close(fds[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--serve", type=int, required=True, help="the Unix socket requests come on, as an FD"
    )
    arguments = parser.parse_args(argv)
    return serve(socket.socket(fileno=arguments.serve))


if __name__ == "__main__":
    sys.exit(main())
