"""Hostile PDFs for the verify page: small files that cost a naive checker a lot.

Each builder returns bytes of about the size asked for, written by hand (a classic xref table,
no compression unless the attack needs it) so that building even a 2 MB file takes
milliseconds. The signature ones carry the CMS signature of a real sealed Duet PDF, so that
a checker that parses every signature it is pointed at pays for each one.
"""

import re
import zlib

# Objects every crafted file shares: 1 catalog, 2 pages, 3 page, 4 form, 5 seal field, 6 seal.
CATALOG = b"<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
SEAL_FIELD = b"<< /FT /Sig /T (DuetSeal) /V 6 0 R >>"


def build_pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF whose object n is objects[n - 1], with a classic xref table; /Root is object 1."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (len(objects) + 1, trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def seal_contents(sealed: bytes) -> bytes:
    """The hex CMS signature (the /Contents) of a sealed PDF, to reuse in crafted ones."""
    return re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", sealed).group(1)


def _seal(contents: bytes) -> bytes:
    return (
        b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
        b"/ByteRange [0 10 20 10] /Contents <" + contents + b"> >>"
    )


def _repeat(unit: bytes, size: int, base: int) -> bytes:
    return unit * max(1, (size - base) // len(unit))


def _with_fields(fields: bytes, contents: bytes) -> list[bytes]:
    return [CATALOG, PAGES, PAGE, b"<< /Fields [" + fields + b"] >>", SEAL_FIELD, _seal(contents)]


def signature_field_listed(contents: bytes, times: int) -> bytes:
    """The one signature field, listed `times` times in /AcroForm /Fields."""
    return build_pdf(_with_fields(b"5 0 R " * times, contents))


def repeated_signature_field(contents: bytes, size: int) -> bytes:
    """One signature field listed again and again, as often as `size` bytes allow."""
    base = len(signature_field_listed(contents, 0))
    return signature_field_listed(contents, max(1, (size - base) // len(b"5 0 R ")))


def many_signature_fields(contents: bytes, count: int) -> bytes:
    """`count` distinct signature fields, each pointing at the same signature."""
    first = 7
    fields = b"".join(b"%d 0 R " % number for number in range(first, first + count))
    objects = _with_fields(fields, contents)
    objects += [b"<< /FT /Sig /T (Seal%d) /V 6 0 R >>" % index for index in range(count)]
    return build_pdf(objects)


def integer_fields(size: int) -> bytes:
    """/Fields holding only integers: a checker that warns about each one floods its log."""
    base = len(build_pdf(_with_fields(b"", b"00")))
    return build_pdf(_with_fields(_repeat(b"1 ", size, base), b"00"))


def nested_field_tree(contents: bytes, depth: int) -> bytes:
    """A chain of fields, each the only kid of the one before, the seal at the bottom."""
    first = 7
    objects = _with_fields(b"%d 0 R" % first, contents)
    for level in range(depth):
        number = first + level
        kid = b"%d 0 R" % (number + 1) if level < depth - 1 else b"5 0 R"
        objects.append(b"<< /T (L%d) /Kids [%s] >>" % (level, kid))
    return build_pdf(objects)


def nested_arrays(size: int) -> bytes:
    """An array inside an array inside an array..., as deep as the size allows."""
    depth = max(1, (size - 400) // 2)
    deep = b"[" * depth + b"]" * depth
    return build_pdf([CATALOG, PAGES, PAGE, b"<< /Fields [] /Deep " + deep + b" >>"])


def huge_catalog(size: int) -> bytes:
    """A catalog with tens of thousands of keys, parsed as soon as the document is opened."""
    base = len(build_pdf([CATALOG, PAGES, PAGE, b"<< /Fields [] >>"]))
    count = max(1, (size - base) // 18)
    keys = b"".join(b"/K%07d %07d " % (index, index) for index in range(count))
    catalog = b"<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R " + keys + b">>"
    return build_pdf([catalog, PAGES, PAGE, b"<< /Fields [] >>"])


def many_revisions(size: int) -> bytes:
    """The same file updated again and again: thousands of xref sections chained by /Prev."""
    out = bytearray(build_pdf([CATALOG, PAGES, PAGE, b"<< /Fields [] >>"]))
    previous = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", out).group(1))
    while len(out) < size - 200:
        offset = len(out)
        out += b"3 0 obj\n" + PAGE + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n3 1\n%010d 00000 n \n" % offset
        out += b"trailer\n<< /Size 5 /Root 1 0 R /Prev %d >>\n" % previous
        out += b"startxref\n%d\n%%%%EOF\n" % xref
        previous = xref
    return bytes(out)


def flate_bomb(size: int) -> bytes:
    """The form inside an object stream that inflates to about a thousand times its size."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate([CATALOG, PAGES, PAGE], start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    form = b"4 0 << /Fields [] >>"
    packed = _deflated_zeros(form, size - len(out) - 400)
    offsets.append(len(out))
    out += b"5 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\n" % len(
        packed
    )
    out += b"stream\n" + packed + b"\nendstream\nendobj\n"
    xref = len(out)
    # Object 0 free; 1-3 and 5 at their offsets; 4 is object 0 of stream 5; 6 is this table.
    entries = [(0, 0, 0xFFFF)] + [(1, offset, 0) for offset in offsets[:3]]
    entries += [(2, 5, 0), (1, offsets[3], 0), (1, xref, 0)]
    table = b"".join(
        kind.to_bytes(1, "big") + field.to_bytes(4, "big") + extra.to_bytes(2, "big")
        for kind, field, extra in entries
    )
    out += b"6 0 obj\n<< /Type /XRef /Size 7 /Root 1 0 R /W [1 4 2] /Length %d >>\n" % len(table)
    out += b"stream\n" + table + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _deflated_zeros(start: bytes, size: int) -> bytes:
    """A zlib stream of `start` and then megabytes of zeros, about `size` bytes long.

    Each megabyte ends in a full flush, so every one after the first deflates to the same
    bytes: they are repeated rather than compressed again, and the checksum is summed alone.
    """
    zeros = bytes(1024 * 1024)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(start + zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    count = max(1, (size - len(first)) // len(again))
    checksum = zlib.adler32(start + zeros)
    for _ in range(count):
        checksum = zlib.adler32(zeros, checksum)
    body = first + again * count + packer.flush()
    return b"\x78\xda" + body + checksum.to_bytes(4, "big")


KIB = 1024
MARGIN = 4 * KIB  # "at the limit" files stay this far under it, for the multipart envelope

# Every crafted file by name: build(seal_contents, upload_limit) -> bytes.
HOSTILE = {
    "one field, 60 KB": lambda seal, limit: repeated_signature_field(seal, 60 * KIB),
    "one field, 150 KB": lambda seal, limit: repeated_signature_field(seal, 150 * KIB),
    "one field, 1 MB": lambda seal, limit: repeated_signature_field(seal, 1024 * KIB),
    "one field, at the limit": lambda seal, limit: repeated_signature_field(seal, limit - MARGIN),
    "2000 signature fields": lambda seal, limit: many_signature_fields(seal, 2000),
    "a field tree 5000 deep": lambda seal, limit: nested_field_tree(seal, 5000),
    "integers, at the limit": lambda seal, limit: integer_fields(limit - MARGIN),
    "nested arrays, at the limit": lambda seal, limit: nested_arrays(limit - MARGIN),
    "a huge catalog, at the limit": lambda seal, limit: huge_catalog(limit - MARGIN),
    "many revisions, at the limit": lambda seal, limit: many_revisions(limit - MARGIN),
    "a flate bomb, at the limit": lambda seal, limit: flate_bomb(limit - MARGIN),
}
# Those whose form alone gives them away, however fast the machine.
TOO_MANY_FIELDS = (
    "one field, 60 KB",
    "one field, 150 KB",
    "one field, 1 MB",
    "one field, at the limit",
    "2000 signature fields",
    "a field tree 5000 deep",
    "integers, at the limit",
)
