"""Raster pages as PWG Raster and Apple Raster (URF) both encode them, decoded and measured.

Both formats compress each line the same way (CUPS `raster-stream.c`, PWG 5102.4 section 4.3):
a line-repeat byte (the line is used n + 1 times), then until the line is full, a control byte
n: 0-127, the next pixel repeated n + 1 times; 129-255, 257 - n literal pixels; 128, the rest
of the line white (0xFF in gray and RGB spaces, 0x00 in Black, CMY(K) and DeviceN ones). A
"pixel" is the whole chunked pixel, at least one byte (eight pixels of 1-bit data). Counts that
overrun the line are cut at its end, as CUPS does.

Decoding is the cost that cannot be avoided: a line's end is only known by walking its control
bytes. That walk is the one Python loop, and it only notes where the control bytes are; numpy
then turns a band of lines into runs (a pixel and how many times it is used: by its control
byte and by its line's repeat byte) and only inked runs are expanded, so the white of an office
page costs one control byte per 128 pixels and nothing more. Memory stays at a band of lines
whatever the page's size; see _Tally for what is converted to ink on large pages.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt

from . import AnalysisError, Page, pixels_to_mm
from .ink import Ink, InkConverter, black, cmyk, gray, mono_k_cmyk, mono_k_rgb

Kind = Literal["gray", "black", "rgb", "cmy", "cmyk"]

# Sane limits: wider than any plotter at 2400 dpi, a roll of over 100 m at 300 dpi.
MAX_WIDTH = 1 << 18
MAX_HEIGHT = 1 << 24
MAX_DPI = 10_000
# At most about this many pixels of a page are converted to ink (see _Tally).
SAMPLE_PIXELS = 2_500_000
# Decoded lines kept before they are measured: bounds memory on any page size.
BAND_BYTES = 8 << 20
READ_CHUNK = 1 << 20
# Control bytes noted before a band is measured (a Python int each).
MAX_BAND_OPS = 1 << 20
# Inked pixels gathered before they are converted to ink.
CONVERT_PIXELS = 1 << 20
SAMPLE_SEED = 0x50574752

CHANNELS: dict[Kind, int] = {"gray": 1, "black": 1, "rgb": 3, "cmy": 3, "cmyk": 4}

Pixels = npt.NDArray[np.uint8]
Counts = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Geometry:
    """What a page header says about the page's pixels, validated."""

    width: int
    height: int
    bits: int  # per colour: 1, 8 or 16
    kind: Kind
    bytes_per_line: int
    xdpi: float
    ydpi: float

    @property
    def channels(self) -> int:
        return CHANNELS[self.kind]

    @property
    def pixel_bytes(self) -> int:
        return max(1, self.bits * self.channels // 8)

    @property
    def blank(self) -> int:
        """The byte of a pixel that takes no ink, which is also what control byte 128 fills."""
        return 0xFF if self.kind in ("gray", "rgb") else 0x00


def geometry(
    label: str,
    page: int,
    *,
    width: int,
    height: int,
    bits: int,
    kind: Kind,
    bytes_per_line: int,
    xdpi: int,
    ydpi: int,
) -> Geometry:
    """The page's geometry, or AnalysisError naming the first thing wrong with the header."""

    def bad(what: str) -> AnalysisError:
        return AnalysisError(f"{label}: page {page} header has {what}")

    if not 0 < width <= MAX_WIDTH:
        raise bad(f"a width of {width} pixels (1 to {MAX_WIDTH} supported)")
    if not 0 < height <= MAX_HEIGHT:
        raise bad(f"a height of {height} lines (1 to {MAX_HEIGHT} supported)")
    if not (0 < xdpi <= MAX_DPI and 0 < ydpi <= MAX_DPI):
        raise bad(f"a resolution of {xdpi}x{ydpi} dpi")
    channels = CHANNELS[kind]
    if bits not in (1, 8, 16) or (bits == 1 and channels != 1):
        raise bad(f"{bits} bits per colour with {channels} colours (1, 8 or 16 supported)")
    expected = (width * bits * channels + 7) // 8
    if bytes_per_line != expected:
        raise bad(f"{bytes_per_line} bytes per line for {width} pixels of {bits * channels} bits")
    return Geometry(width, height, bits, kind, bytes_per_line, float(xdpi), float(ydpi))


class Reader:
    """Sequential reads from a stream that may not seek (a gzip stream), buffered."""

    def __init__(self, stream: BinaryIO, label: str) -> None:
        self._stream = stream
        self.label = label
        self.buf = b""
        self.pos = 0
        self.eof = False

    def fill(self, need: int) -> None:
        """At least `need` bytes from pos in buf, unless the stream ends first."""
        available = len(self.buf) - self.pos
        if available >= need or self.eof:
            return
        parts = [self.buf[self.pos :]]
        while available < need:
            chunk = self._read(max(READ_CHUNK, need - available))
            if not chunk:
                self.eof = True
                break
            parts.append(chunk)
            available += len(chunk)
        self.buf = b"".join(parts)
        self.pos = 0

    def take(self, size: int) -> bytes:
        """The next `size` bytes, fewer only at the end of the stream."""
        self.fill(size)
        data = self.buf[self.pos : self.pos + size]
        self.pos += len(data)
        return data

    def _read(self, size: int) -> bytes:
        try:
            return self._stream.read(size)
        except (OSError, EOFError, zlib.error) as error:
            raise AnalysisError(f"{self.label}: cannot read the document: {error}") from error


def _build(buf: bytes, pos: int, size: int, unit: int, fill: bytes) -> tuple[bytes, int]:
    """One line's pixels from control byte `pos` on, and where the next line starts."""
    parts: list[bytes] = []
    append = parts.append
    remaining = size
    while remaining > 0:
        n = buf[pos]
        if n < 128:
            count = (n + 1) * unit
            if count > remaining:
                count = remaining
            append(buf[pos + 1 : pos + 1 + unit] * (count // unit))
            pos += 1 + unit
        elif n > 128:
            count = (257 - n) * unit
            if count > remaining:
                count = remaining
            append(buf[pos + 1 : pos + 1 + count])
            pos += 1 + count
        else:
            count = remaining
            append(fill[:count])
            pos += 1
        remaining -= count
    return b"".join(parts), pos


class _Tally:
    """Ink summed over a page's pixels, each line as many times as it is used.

    Blank pixels (white, or no ink) take no ink in any conversion and are never converted. Each
    band may convert its share of SAMPLE_PIXELS (the band's share of the page's area); a band
    with more inked pixels than that has them sampled: one drawn at random from each run of
    inked / allowed pixels in line order (with a fixed seed, so a document always gives the
    same figures), each counted inked / allowed times. Every inked pixel is equally likely to
    be drawn, so the estimate is unbiased, and drawing one per run rather than each at random
    keeps it close: a full A4 page of noisy photograph at 300 dpi comes within 0.005
    percentage point of every pixel's count. Office pages have few inked pixels and are
    measured exactly. A line used several times and a run of one pixel are one pixel counted
    that many times: never expanded unless it is converted.
    """

    def __init__(self, geo: Geometry, ink: InkConverter) -> None:
        self._geo = geo
        self._ink = ink
        self._sums = np.zeros(5)  # c, m, y, k, mono_k
        self._area = geo.width * geo.height
        self._rng = np.random.default_rng(SAMPLE_SEED)
        self._waiting: dict[float, list[Pixels]] = {}  # pixels to convert, by times each counts
        self._waiting_pixels = 0

    def add(self, pixels: Pixels, runs: Counts, area: int) -> None:
        """Inked pixels (N x channels), each standing for `runs` pixels of the page (its run
        times its line's repeat count), from lines that have `area` pixels, blank included."""
        total = int(runs.sum())
        if total == 0:
            return
        share = min(1.0, SAMPLE_PIXELS * area / self._area / total)
        if share < 1.0:  # one pixel drawn from each run of 1 / share, in line order
            strata = math.ceil(total * share)
            picks = ((np.arange(strata) + self._rng.random(strata)) / share).astype(np.int64)
            picks = picks[picks < total]
            if total > len(pixels):  # the picks are pixels of runs: find their runs
                picks = np.searchsorted(np.cumsum(runs), picks, side="right")
            pixels = pixels[picks]
        elif len(pixels) < total:
            pixels = np.repeat(pixels, runs, axis=0)
        # Conversions cost a few milliseconds each on top of the pixels: gather a good many.
        self._waiting.setdefault(1 / share, []).append(pixels)
        self._waiting_pixels += len(pixels)
        if self._waiting_pixels >= CONVERT_PIXELS:
            self._convert_waiting()

    def result(self) -> tuple[Ink, float]:
        self._convert_waiting()
        c, m, y, k, mono = (float(v) / self._area for v in self._sums)
        return Ink(c, m, y, k), mono

    def _convert_waiting(self) -> None:
        for times, chunks in self._waiting.items():
            pixels = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
            ink, mono = self._convert(pixels.reshape(-1, 1, self._geo.channels))
            self._sums += np.array([ink.c, ink.m, ink.y, ink.k, mono]) * (len(pixels) * times)
        self._waiting.clear()
        self._waiting_pixels = 0

    def _convert(self, pixels: Pixels) -> tuple[Ink, float]:
        kind = self._geo.kind
        if kind == "gray":
            ink = gray(pixels)
            return ink, ink.k
        if kind == "black":
            ink = black(pixels)
            return ink, ink.k
        if kind == "rgb":
            return self._ink.rgb(pixels), mono_k_rgb(pixels)
        if kind == "cmy":
            pixels = np.concatenate([pixels, np.zeros_like(pixels[..., :1])], axis=-1)
        return cmyk(pixels), mono_k_cmyk(pixels)


def _inked(pixels: Pixels, blank: int) -> npt.NDArray[np.bool_]:
    """Which of N x channels pixels are not blank (per channel: faster than any(axis=1))."""
    inked: npt.NDArray[np.bool_] = pixels[:, 0] != blank
    for channel in range(1, pixels.shape[1]):
        inked |= pixels[:, channel] != blank
    return inked


def _unpack(geo: Geometry, lines: list[bytes]) -> Pixels:
    """Whole 1-bit lines as (lines x width) x 1 of 8-bit values: a set bit is white in gray
    spaces and ink in Black, 255 either way; the padding bits at the end are dropped."""
    raw = np.frombuffer(b"".join(lines), np.uint8).reshape(len(lines), geo.bytes_per_line)
    return (np.unpackbits(raw, axis=1, count=geo.width) * np.uint8(255)).reshape(-1, 1)


class _BitLines:
    """1-bit pages: whole lines decoded in Python, kept by how many times each is used."""

    def __init__(self, geo: Geometry, tally: _Tally) -> None:
        self._geo = geo
        self._tally = tally
        self._blank = bytes([geo.blank]) * geo.bytes_per_line
        self._groups: dict[int, list[bytes]] = {}
        self._kept = 0
        self._limit = max(1, BAND_BYTES // geo.width)

    def line(self, buf: bytes, pos: int, repeat: int) -> int:
        geo = self._geo
        line, pos = _build(buf, pos, geo.bytes_per_line, 1, self._blank)
        if line != self._blank:
            self._groups.setdefault(repeat, []).append(line)
            self._kept += 1
            if self._kept >= self._limit:
                self.flush()
        return pos

    def flush(self) -> None:
        for weight, lines in self._groups.items():
            pixels = _unpack(self._geo, lines)
            inked = pixels[pixels[:, 0] != self._geo.blank]
            self._tally.add(inked, np.full(len(inked), weight, np.int64), len(pixels) * weight)
        self._groups.clear()
        self._kept = 0


class _Runs:
    """8- and 16-bit pages: the lines' runs, found in Python (the control bytes' positions) and
    turned into pixels in numpy a band at a time. Only inked runs are ever expanded: the
    white runs of an office page cost one control byte each."""

    def __init__(self, geo: Geometry, tally: _Tally) -> None:
        self._geo = geo
        self._tally = tally
        self._unit = geo.pixel_bytes
        self._limit_lines = max(1, BAND_BYTES // geo.bytes_per_line)
        self._reset()

    def _reset(self) -> None:
        self._segments: list[bytes] = []  # each line's bytes after its repeat byte
        self._starts: list[int] = []  # where each segment began in the reader's buffer
        self._ops: list[int] = []  # control bytes' positions in the reader's buffer
        self._op_counts: list[int] = []
        self._repeats: list[int] = []

    def line(self, buf: bytes, pos: int, repeat: int) -> int:
        ops = self._ops
        before = len(ops)
        end = _walk(buf, pos, self._geo.bytes_per_line, self._unit, ops)
        if end <= len(buf):  # else truncated: the caller says so
            self._segments.append(buf[pos:end])
            self._starts.append(pos)
            self._op_counts.append(len(ops) - before)
            self._repeats.append(repeat)
            if len(self._segments) >= self._limit_lines or len(ops) >= MAX_BAND_OPS:
                self.flush()
        return end

    def flush(self) -> None:
        if self._segments:
            self._measure()
        self._reset()

    def _measure(self) -> None:
        geo, unit = self._geo, self._unit
        data = np.frombuffer(b"".join(self._segments), np.uint8)
        lengths = np.fromiter((len(s) for s in self._segments), np.int64, len(self._segments))
        op_counts = np.array(self._op_counts, np.int64)
        shift = np.cumsum(lengths) - lengths - np.array(self._starts, np.int64)
        ops = np.array(self._ops, np.int64) + np.repeat(shift, op_counts)
        codes = data[ops].astype(np.int64)
        # Pixels each op stands for; a line's last op is cut to what is left of the line (and
        # 128, which fills the rest, is always last).
        counts = np.where(codes < 128, codes + 1, 257 - codes)
        last = np.cumsum(op_counts) - 1
        first = last - op_counts + 1
        counts[last] = geo.bytes_per_line // unit - (np.add.reduceat(counts, first) - counts[last])
        # The pixels the ops carry, in order: everything but the control bytes; a 128 carries
        # none, so a blank one is put in its place.
        kept = np.ones(len(data), np.bool_)
        kept[ops] = False
        units = data[kept].reshape(-1, unit)
        carried = np.where(codes > 128, counts, 1)  # pixels of data each op has
        first_unit = np.cumsum(carried) - carried
        fills = codes == 128
        if fills.any():
            units = np.insert(units, first_unit[fills] - np.arange(int(fills.sum())), geo.blank, 0)
        runs = np.ones(len(units), np.int64)
        repeated = codes <= 128
        runs[first_unit[repeated]] = counts[repeated]
        pixels = units if geo.bits == 8 else units.reshape(len(units), -1, 2)[:, :, 0]
        inked = _inked(pixels, geo.blank)
        repeats = np.array(self._repeats, np.int64)
        if repeats.min() == repeats.max():  # the usual band: no line used more than the rest
            times = runs[inked] * int(repeats[0])
        else:
            times = (runs * np.repeat(repeats, np.add.reduceat(carried, first)))[inked]
        self._tally.add(pixels[inked], times, int(repeats.sum()) * geo.width)


def _walk(buf: bytes, pos: int, size: int, unit: int, ops: list[int]) -> int:
    """Where the line from `pos` ends, noting where its control bytes are."""
    append = ops.append
    remaining = size
    while remaining > 0:
        n = buf[pos]
        append(pos)
        if n < 128:
            remaining -= (n + 1) * unit
            pos += 1 + unit
        elif n > 128:
            count = (257 - n) * unit
            if count > remaining:
                count = remaining
            remaining -= count
            pos += 1 + count
        else:
            remaining = 0
            pos += 1
    return pos


def measure_page(reader: Reader, geo: Geometry, ink: InkConverter, number: int) -> Page:
    """Decode page `number`'s lines from the reader (just after its header) and measure them."""
    tally = _Tally(geo, ink)
    lines: _BitLines | _Runs = _BitLines(geo, tally) if geo.bits == 1 else _Runs(geo, tally)
    size, unit = geo.bytes_per_line, geo.pixel_bytes
    # Longest a line can take: the repeat byte, then a control byte before every pixel.
    longest = 2 + size + size // unit
    row = 0
    while row < geo.height:
        reader.fill(longest)
        buf, pos = reader.buf, reader.pos
        end = len(buf)
        if pos >= end:
            raise _truncated(reader.label, number, row, geo.height)
        repeat = min(buf[pos] + 1, geo.height - row)
        try:
            pos = lines.line(buf, pos + 1, repeat)
        except IndexError:
            raise _truncated(reader.label, number, row, geo.height) from None
        if pos > end:
            raise _truncated(reader.label, number, row, geo.height)
        reader.pos = pos
        row += repeat
    lines.flush()
    coverage, mono = tally.result()
    return Page(
        width_mm=pixels_to_mm(geo.width, geo.xdpi),
        height_mm=pixels_to_mm(geo.height, geo.ydpi),
        ink=coverage,
        mono_k=mono,
    )


def _truncated(label: str, page: int, row: int, height: int) -> AnalysisError:
    return AnalysisError(f"truncated {label}: page {page} ends after {row} of {height} lines")
