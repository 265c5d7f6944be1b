"""The queue icons IPP Everywhere clients show (printer-icons): small PNGs drawn here, so no
image files or imaging library are needed."""

from __future__ import annotations

import functools
import struct
import zlib

SIZES = (48, 128)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


@functools.cache
def printer_icon(size: int) -> bytes:
    """A grey printer body with a white sheet coming out of it, on a transparent ground."""
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type: none
        for x in range(size):
            fx, fy = x / size, y / size
            if 0.3 <= fx <= 0.7 and 0.1 <= fy <= 0.45:
                pixel = (255, 255, 255, 255)  # paper
            elif 0.1 <= fx <= 0.9 and 0.35 <= fy <= 0.8:
                pixel = (90, 98, 110, 255)  # body
            elif 0.25 <= fx <= 0.75 and 0.8 < fy <= 0.9:
                pixel = (60, 66, 75, 255)  # tray
            else:
                pixel = (0, 0, 0, 0)
            row += bytes(pixel)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )
