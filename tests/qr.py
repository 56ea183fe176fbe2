"""Reading a QR code back out of the SVG that app/qr.py makes (segno's line path)."""

import re
from urllib.parse import unquote


def dark_cells(data_uri: str) -> set[tuple[int, int]]:
    """The dark squares of segno's SVG, read back from its line path's moves and runs."""
    svg = unquote(data_uri.split(",", 1)[1]).replace("'", '"')
    # The dark modules' path (segno marks it "qrline" when a background path comes first).
    found = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg) or re.search(r' d="([^"]+)"', svg)
    path = found[1]
    x = y = 0.0
    cells = set()
    for command, numbers in re.findall(r"([MmHh])([-\d. ]+)", path):
        values = [float(value) for value in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            cells |= {(int(x) + step, int(y)) for step in range(int(values[0]))}
            x += values[0]
    return cells
