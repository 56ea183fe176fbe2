"""A drawn signature is decoded in full before it is kept: a broken or blank drawing is refused."""

import base64
import contextlib
import io
import struct
import zlib

import pytest
from PIL import Image, ImageDraw

from app.signing import services
from app.signing.drawing import PNG_MAGIC
from tests.integration.signing_helpers import png_data_url


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def png_of(picture: Image.Image) -> bytes:
    output = io.BytesIO()
    picture.save(output, "PNG")
    return output.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def header(width: int, height: int) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))


def signed_line(size=(300, 100), background=(255, 255, 255, 0), mode="RGBA") -> Image.Image:
    picture = Image.new(mode, size, background)
    points = [(10 + x * 7, 50 + (20 if x % 2 else -20)) for x in range(40)]
    ImageDraw.Draw(picture).line(points, fill=(30, 42, 48, 255), width=3)
    return picture


def refused(drawing: str) -> str:
    with pytest.raises(services.SigningError) as error:
        services.read_drawing(drawing)
    return error.value.errors["signature"]


def test_a_real_drawing_is_kept_as_sent(ctx):
    drawing = png_data_url()
    assert services.read_drawing(drawing) == base64.b64decode(drawing.split(",", 1)[1])


def test_dark_ink_on_an_opaque_white_background_counts(ctx):
    png = png_of(signed_line(background=(255, 255, 255, 255)))
    assert services.read_drawing(data_url(png)) == png


def test_a_valid_header_with_a_corrupt_body_is_refused(ctx):
    good = base64.b64decode(png_data_url().split(",", 1)[1])
    idat = good.index(b"IDAT")
    corrupt = good[: idat + 4] + bytes(len(good) - idat - 16) + good[-12:]
    assert "could not be read" in refused(data_url(corrupt))


def test_pixel_data_that_is_not_a_zlib_stream_is_refused(ctx):
    png = PNG_MAGIC + header(300, 100) + chunk(b"IDAT", b"\x00" * 400) + chunk(b"IEND", b"")
    assert "could not be read" in refused(data_url(png))


@pytest.mark.parametrize("length", range(8, 34))
def test_a_png_cut_short_is_refused_not_a_crash(ctx, length):
    full = PNG_MAGIC + header(300, 100) + b"\x00" * 64
    assert "could not be read" in refused(data_url(full[:length]))


def test_every_truncation_and_flipped_byte_is_refused_or_accepted_never_a_crash(ctx):
    good = base64.b64decode(png_data_url(60, 30).split(",", 1)[1])
    for length in range(len(good)):
        with pytest.raises(services.SigningError):
            services.read_drawing(data_url(good[:length]))
    for position in range(len(good)):
        damaged = bytearray(good)
        damaged[position] ^= 0xFF
        with contextlib.suppress(services.SigningError):
            services.read_drawing(data_url(bytes(damaged)))


@pytest.mark.parametrize(
    "picture",
    [
        Image.new("RGBA", (300, 100), (0, 0, 0, 0)),
        Image.new("RGBA", (300, 100), (255, 255, 255, 255)),
        Image.new("RGB", (300, 100), (31, 42, 48)),
        Image.new("L", (300, 100), 0),
    ],
    ids=["transparent", "white", "one dark colour", "black grey"],
)
def test_a_blank_drawing_is_refused(ctx, picture):
    assert "blank" in refused(data_url(png_of(picture)))


def test_a_tap_on_the_pad_is_not_a_signature(ctx):
    picture = Image.new("RGBA", (900, 540), (0, 0, 0, 0))
    ImageDraw.Draw(picture).ellipse((400, 200, 406, 206), fill=(30, 42, 48, 255))
    assert "blank" in refused(data_url(png_of(picture)))


def test_hidden_colour_under_transparent_pixels_is_not_ink(ctx):
    picture = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(picture).rectangle((0, 0, 150, 100), fill=(255, 0, 0, 0))
    assert "blank" in refused(data_url(png_of(picture)))


@pytest.mark.parametrize("size", [(19, 100), (300, 19), (4001, 100), (4000, 1001)])
def test_a_drawing_of_an_odd_size_is_refused(ctx, size):
    assert "could not be read" in refused(data_url(png_of(signed_line(size))))


def test_a_decompression_bomb_is_refused_before_it_is_decoded(ctx):
    # 20,000 x 20,000 pixels of nothing compress to a few hundred kilobytes at most; the header
    # alone must be enough to refuse it.
    rows = zlib.compress(bytes(20_000 * 4 + 1) * 50, 9)
    png = PNG_MAGIC + header(20_000, 20_000) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    assert "could not be read" in refused(data_url(png))


def test_a_second_header_cannot_smuggle_in_a_larger_size(ctx):
    good = base64.b64decode(png_data_url().split(",", 1)[1])
    smuggled = good[:33] + header(15_000, 15_000) + good[33:]
    assert "could not be read" in refused(data_url(smuggled))
