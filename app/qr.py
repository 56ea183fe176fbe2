"""QR codes as SVG `data:` URLs: the verify address in the PDF, the invite link on a phone.

Drawn by segno as vector paths, error correction M, with the standard four-module quiet zone.
No Flask request here, so the PDF renderer can use it too.
"""

import segno


def svg_data_uri(text: str, *, light: str | None = None) -> str:
    """`text` as a QR code, black on `light` (transparent when None)."""
    code = segno.make(text, error="m", micro=False)
    return code.svg_data_uri(scale=1, border=4, dark="#000", light=light, omitsize=False)
