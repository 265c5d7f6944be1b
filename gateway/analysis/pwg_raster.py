"""image/pwg-raster (PWG 5102.4): pages, size and ink from the page headers and lines.

The stream is the sync word "RaS2", then per page a 1796-byte header (CUPS's
cups_page_header2_t, every integer big-endian) and the page's compressed lines (see rle.py).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from . import AnalysisError, Page
from .ink import InkConverter
from .rle import CHANNELS, Geometry, Kind, Reader, geometry, measure_page

LABEL = "PWG raster"
SYNC = b"RaS2"
HEADER_SIZE = 1796

# Byte offsets of the header fields used (cups_page_header2_t).
_RESOLUTION = 276  # HWResolution[2]
_SIZE = 372  # cupsWidth, cupsHeight
_BITS = 384  # cupsBitsPerColor, cupsBitsPerPixel, cupsBytesPerLine, cupsColorOrder, cupsColorSpace
_NUM_COLORS = 420
_TOTAL_PAGE_COUNT = 452  # cupsInteger[0]

# cupsColorSpace values (PWG 5102.4 table 7, CUPS cups_cspace_t) and what their pixels are.
COLOR_SPACES: dict[int, tuple[str, Kind]] = {
    0: ("Gray", "gray"),  # CUPS_CSPACE_W: luminance, 0 black
    1: ("RGB", "rgb"),
    3: ("Black", "black"),  # CUPS_CSPACE_K: 0 no ink
    4: ("CMY", "cmy"),
    6: ("CMYK", "cmyk"),
    18: ("sGray", "gray"),
    19: ("sRGB", "rgb"),
    20: ("AdobeRGB", "rgb"),  # measured as sRGB: the difference in ink is small
    # DeviceN: device colorants, 0 no ink. One colorant is black, three and four are taken as
    # CMY and CMYK, the usual order; others have no standard meaning and are refused.
    48: ("Device1", "black"),
    50: ("Device3", "cmy"),
    51: ("Device4", "cmyk"),
}

_CHUNKED = 0


def pages(stream: BinaryIO, ink: InkConverter) -> Iterator[Page]:
    """Each page of a PWG raster stream, read sequentially."""
    reader = Reader(stream, LABEL)
    sync = reader.take(len(SYNC))
    if not sync:
        raise AnalysisError(f"empty {LABEL}: no data")
    if sync != SYNC:
        raise AnalysisError(f"not a {LABEL}: starts with {sync!r}, not {SYNC!r}")
    number = 0
    declared = 0
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
        geo, total = _parse(header, number)
        declared = declared or total
        yield measure_page(reader, geo, ink, number)
    if number == 0:
        raise AnalysisError(f"{LABEL} has no pages")
    if number < declared:
        raise AnalysisError(f"truncated {LABEL}: {number} of the {declared} pages announced")


def _parse(header: bytes, number: int) -> tuple[Geometry, int]:
    """The page's geometry and the header's TotalPageCount (0: not known)."""
    xdpi, ydpi = struct.unpack_from(">2I", header, _RESOLUTION)
    width, height = struct.unpack_from(">2I", header, _SIZE)
    bits, pixel_bits, per_line, order, space = struct.unpack_from(">5I", header, _BITS)
    (num_colors,) = struct.unpack_from(">I", header, _NUM_COLORS)
    (total,) = struct.unpack_from(">I", header, _TOTAL_PAGE_COUNT)
    if space not in COLOR_SPACES:
        raise AnalysisError(f"{LABEL}: page {number} has colour space {space}, not supported")
    name, kind = COLOR_SPACES[space]
    if order != _CHUNKED:
        raise AnalysisError(f"{LABEL}: page {number} has colour order {order}, not chunked")
    channels = CHANNELS[kind]
    if num_colors not in (0, channels) or pixel_bits != bits * channels:
        raise AnalysisError(
            f"{LABEL}: page {number} header has {pixel_bits} bits per pixel and {num_colors} "
            f"colours for {name} at {bits} bits per colour"
        )
    geo = geometry(
        LABEL,
        number,
        width=width,
        height=height,
        bits=bits,
        kind=kind,
        bytes_per_line=per_line,
        xdpi=xdpi,
        ydpi=ydpi,
    )
    return geo, total
