"""image/urf (Apple Raster): pages, size and ink from the page headers and lines.

The stream is "UNIRAST\\0" and a big-endian page count (0: not known), then per page a 32-byte
header and the page's compressed lines, encoded as PWG raster's (see rle.py). The header, as
CUPS reads it (raster-stream.c): byte 0 bits per pixel, 1 colour space, 2 duplex, 3 print
quality, 4 media type, 5 media position, 12-15 width, 16-19 height, 20-23 resolution (the
same across and along), all big-endian; the rest is reserved.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from . import AnalysisError, Page
from .ink import InkConverter
from .rle import CHANNELS, Geometry, Kind, Reader, geometry, measure_page

LABEL = "URF raster"
MAGIC = b"UNIRAST\0"
HEADER_SIZE = 32

# The colour space byte, as CUPS maps it (rawcspace in raster-stream.c). 2 is CIELab, which
# no printer we know sends, and is refused like anything past 6.
COLOR_SPACES: dict[int, tuple[str, Kind]] = {
    0: ("sGray", "gray"),
    1: ("sRGB", "rgb"),
    3: ("AdobeRGB", "rgb"),
    4: ("Gray", "gray"),
    5: ("RGB", "rgb"),
    6: ("CMYK", "cmyk"),
}


def pages(stream: BinaryIO, ink: InkConverter) -> Iterator[Page]:
    """Each page of a URF stream, read sequentially."""
    reader = Reader(stream, LABEL)
    start = reader.take(len(MAGIC) + 4)
    if not start:
        raise AnalysisError(f"empty {LABEL}: no data")
    if not MAGIC.startswith(start[: len(MAGIC)]):
        raise AnalysisError(f"not a {LABEL}: starts with {start[:8]!r}, not {MAGIC!r}")
    if len(start) < len(MAGIC) + 4:
        raise AnalysisError(f"truncated {LABEL}: the file header is {len(start)} of 12 bytes")
    (declared,) = struct.unpack_from(">I", start, len(MAGIC))
    number = 0
    while True:
        header = reader.take(HEADER_SIZE)
        if not header:
            break
        number += 1
        if len(header) < HEADER_SIZE:
            raise AnalysisError(
                f"truncated {LABEL}: page {number} header ends after {len(header)} of "
                f"{HEADER_SIZE} bytes"
            )
        yield measure_page(reader, _parse(header, number), ink, number)
    if number == 0:
        raise AnalysisError(f"{LABEL} has no pages")
    if number < declared:
        raise AnalysisError(f"truncated {LABEL}: {number} of the {declared} pages announced")


def _parse(header: bytes, number: int) -> Geometry:
    pixel_bits, space = header[0], header[1]
    width, height, dpi = struct.unpack_from(">3I", header, 12)
    if space not in COLOR_SPACES:
        raise AnalysisError(f"{LABEL}: page {number} has colour space {space}, not supported")
    name, kind = COLOR_SPACES[space]
    channels = CHANNELS[kind]
    # Apple raster has 8 or 16 bits per colour; 1-bit data (as Ghostscript writes for Black)
    # would be labelled sGray and its meaning is not defined.
    if pixel_bits not in (8 * channels, 16 * channels):
        raise AnalysisError(
            f"{LABEL}: page {number} has {pixel_bits} bits per pixel for {name}, "
            f"not {8 * channels} or {16 * channels}"
        )
    bits = pixel_bits // channels
    return geometry(
        LABEL,
        number,
        width=width,
        height=height,
        bits=bits,
        kind=kind,
        bytes_per_line=width * pixel_bits // 8,
        xdpi=dpi,
        ydpi=dpi,
    )
