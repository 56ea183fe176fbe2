"""A drawn signature: a PNG from the signature pad, decoded in full before it is kept.

Bytes in, a picture or None out; no request, no messages (the signing service words them).
"""

import base64
import binascii
import io
import struct
import zlib

from PIL import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# The chunk every whole PNG ends with, checksum included.
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
DATA_URL_PREFIX = "data:image/png;base64,"
# Each side of a drawing, in pixels: the pad is never smaller, and no screen is wider.
SIDE_RANGE = range(20, 4001)
# Channels per pixel for each PNG colour type: grey, RGB, palette, grey with alpha, RGBA.
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# How far a pixel's grey, seen on white paper, must be from the background to count as ink.
_INK_CONTRAST = 64

# Pillow's own errors for a file it cannot read; the bomb warning too, in case warnings are
# errors (as in the tests), though sizes are checked before Pillow could warn.
_UNREADABLE = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


def png_from_data_url(data_url: str, max_bytes: int) -> bytes | None:
    """The PNG bytes of a `data:image/png;base64,` URL, or None if it is not one."""
    if not data_url.startswith(DATA_URL_PREFIX):
        return None
    if len(data_url) > max_bytes * 4 // 3 + len(DATA_URL_PREFIX) + 4:
        return None
    try:
        png = base64.b64decode(data_url[len(DATA_URL_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    return png if len(png) <= max_bytes else None


def decode(png: bytes, max_pixels: int) -> Image.Image | None:
    """The drawing's pixels as RGBA, or None unless the PNG is whole and of a sane size.

    The size is read from the header before anything is decompressed, so a small file
    that would unpack into gigabytes is refused unread.
    """
    if not (png.startswith(PNG_MAGIC) and png[12:16] == b"IHDR" and png.endswith(PNG_END)):
        return None
    width, height = struct.unpack(">II", png[16:24])
    if width not in SIDE_RANGE or height not in SIDE_RANGE or width * height > max_pixels:
        return None
    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as picture:
            if picture.size != (width, height):
                return None
            picture.verify()  # every chunk present up to the end, with a right checksum
        if not _whole_pixel_stream(png):
            return None
        with Image.open(io.BytesIO(png), formats=["PNG"]) as picture:
            return picture.convert("RGBA")
    except _UNREADABLE:
        return None


def _whole_pixel_stream(png: bytes) -> bool:
    """Whether the compressed pixels are complete, with their checksum, and exactly as many
    as the header promises.

    Pillow cannot be asked: WeasyPrint sets `ImageFile.LOAD_TRUNCATED_IMAGES`, under which a
    broken stream decodes without a word into a blank or half-drawn picture.
    """
    width, height, depth, colour, _method, _filter, interlace = struct.unpack(
        ">IIBBBBB", png[16:29]
    )
    if colour not in _CHANNELS or interlace:
        return False  # a signature pad never sends an interlaced PNG
    expected = height * (1 + (width * _CHANNELS[colour] * depth + 7) // 8)
    compressed, position = [], 8
    while position + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        if kind == b"IHDR" and position != 8:
            return False  # a second header could describe other pixels than the first
        if kind == b"IDAT":
            compressed.append(png[position + 8 : position + 8 + length])
        position += length + 12
    stream = zlib.decompressobj()
    try:
        pixels = stream.decompress(b"".join(compressed), expected + 1)
    except zlib.error:
        return False
    return stream.eof and len(pixels) == expected


def ink_share(picture: Image.Image) -> float:
    """The share of pixels that stand out from the background, as the drawing looks on paper."""
    paper = Image.new("RGBA", picture.size, (255, 255, 255, 255))
    grey = Image.alpha_composite(paper, picture).convert("L")
    histogram = grey.histogram()
    background = max(range(256), key=histogram.__getitem__)
    ink = sum(
        count for level, count in enumerate(histogram) if abs(level - background) >= _INK_CONTRAST
    )
    return ink / (picture.width * picture.height)
