"""From rendered pixels to ink: the amount of C, M, Y and K a page takes, as fractions of the
page area at full coverage (what Ghostscript's ink_cov device reports, not inkcov's share of
inked pixels).

Two conversions from RGB, chosen per printer model:
- "icc": littleCMS through Pillow, sRGB to a CMYK output profile, perceptual intent with black
  point compensation, which is what Ghostscript does; by default its own default_cmyk.icc.
- "fast": the plain complement Ghostscript gives with -dUseFastColor=true (C = 1 - R, ..., no
  black generation).

Neutral pixels (R = G = B, give or take NEUTRAL_TOLERANCE) become black ink only, with either
conversion. Renderers hand us RGB,
so a page's gray text looks like RGB gray; printers print gray with black ink (and Ghostscript
sends DeviceGray to K), and charging black text as colour would be wrong.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms

from . import COLOR_THRESHOLD, ConversionName, Ink

__all__ = ["COLOR_THRESHOLD", "ConversionName", "Ink", "InkConverter", "converter"]

Pixels = npt.NDArray[np.uint8]
log = logging.getLogger(__name__)

# Where Debian's and upstream's Ghostscript keep their ICC profiles.
PROFILE_DIRS = (
    Path("/usr/share/color/icc/ghostscript"),
    Path("/usr/share/ghostscript/iccprofiles"),
    Path("/usr/local/share/ghostscript/iccprofiles"),
)

# RGB whose channels differ by at most this many levels is gray, printed with black ink.
NEUTRAL_TOLERANCE = 2
WHITE_RGB = np.uint32(0x00FFFFFF)  # R, G and B of a little-endian RGBX word
LUMA = (0.299, 0.587, 0.114)  # Rec. 601, as Ghostscript and CUPS turn RGB into gray
# Pages of at most this many runs of colour (flat art, lines, text) go through littleCMS colour
# by colour. Beyond (photos, gradients) a table of the conversion at TABLE_BITS a channel is
# looked up instead, five times faster: each colour is off by two levels at most, which over
# thousands of different colours averages out.
EXACT_RUNS = 4096
TABLE_BITS = 6


class InkConverter(Protocol):
    name: str

    def rgb(self, pixels: Pixels) -> Ink:
        """Coverage of an H x W x 3 array of 8-bit RGB (255 = white), or H x W x 4 RGBX."""
        ...

    def measure(self, pixels: Pixels) -> tuple[Ink, float]:
        """rgb(pixels) and mono_k_rgb(pixels) in one pass."""
        ...

    def measure_covered(self, pixels: Pixels) -> tuple[Ink, float]:
        """As measure, for H x W x 4 RGBA rendered over a transparent page: each pixel takes its
        colour's ink times its alpha, the share of it that is covered."""
        ...


def gray(pixels: Pixels) -> Ink:
    """Coverage of 8-bit gray (255 = white): black ink only."""
    if pixels.size == 0:
        return Ink()
    return Ink(k=1.0 - float(pixels.mean()) / 255.0)


def black(pixels: Pixels) -> Ink:
    """Coverage of 8-bit black (0 = white, 255 = full black), as PWG's Black colour space."""
    if pixels.size == 0:
        return Ink()
    return Ink(k=float(pixels.mean()) / 255.0)


def cmyk(pixels: Pixels) -> Ink:
    """Coverage of H x W x 4 8-bit CMYK (255 = full ink): the channels as they are."""
    if pixels.size == 0:
        return Ink()
    means = pixels.reshape(-1, 4).mean(axis=0) / 255.0
    return Ink(*(float(v) for v in means))


def mono_k_rgb(pixels: Pixels) -> float:
    """Black coverage of RGB printed as gray: 1 - mean luminance (Rec. 601 weights, as
    Ghostscript and CUPS convert RGB to gray). A fourth (padding) channel is ignored."""
    count = pixels.shape[0] * pixels.shape[1] if pixels.ndim == 3 else 0
    if count == 0:
        return 0.0
    r, g, b = (float(pixels[..., i].sum(dtype=np.int64)) / count for i in range(3))
    return 1.0 - (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b) / 255.0


def mono_k_cmyk(pixels: Pixels) -> float:
    """Black coverage of CMYK printed as gray, the usual 1 - (1 - K)(1 - (C + M + Y) / 3)."""
    if pixels.size == 0:
        return 0.0
    flat = pixels.reshape(-1, 4).astype(np.float32) / 255.0
    gray_level = (1.0 - flat[:, 3]) * (1.0 - np.minimum(1.0, flat[:, :3].sum(axis=1) / 3.0))
    return 1.0 - float(gray_level.mean())


@dataclass(frozen=True)
class _Runs:
    """Pixels as runs of one colour: RGBX words and the weight of each, in pixels (or, for
    pixels over a transparent page, in 1/255ths of a pixel: the summed alpha)."""

    words: npt.NDArray[np.uint32]
    lengths: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.words)

    def channel_sums(self, values: Pixels, count: int) -> list[int]:
        """Each of the first `count` byte columns of `values` (one row per run), weighted."""
        return [int(values[:, i] @ self.lengths) for i in range(count)]


@dataclass(frozen=True)
class _Split:
    """An RGB page split into its neutral part (as black ink) and its coloured pixels."""

    count: int  # the whole page, in the runs' unit of weight
    black: int  # the neutral pixels' black ink, in levels (255 = one pixel fully black)
    colour: _Runs  # the pixels that are not neutral
    darkness: float = 0.0  # sum of 255 - luminance over the page: what monochrome prints

    @property
    def mono_k(self) -> float:
        return self.darkness / (255.0 * self.count) if self.count else 0.0


def _words(pixels: Pixels) -> npt.NDArray[np.uint32]:
    """Each pixel as one little-endian 32-bit word, R in the low byte: one-dimensional arrays
    of words are what numpy filters and masks fastest."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    if flat.shape[1] == 4 and flat.flags.c_contiguous:
        words: npt.NDArray[np.uint32] = flat.view(np.uint32).ravel()
        return words
    packed = flat[:, 0].astype(np.uint32)
    packed |= flat[:, 1].astype(np.uint32) << 8
    packed |= flat[:, 2].astype(np.uint32) << 16
    return packed


def _run_starts(words: npt.NDArray[np.uint32]) -> npt.NDArray[np.intp]:
    return np.flatnonzero(np.concatenate(([True], words[1:] != words[:-1])))


def _opaque_runs(pixels: Pixels) -> tuple[_Runs, int]:
    """Consecutive equal words folded, white ones (most of a page) dropped: fills and flat art
    shrink to a handful of runs, and a page of anti-aliased text costs one comparison more."""
    count = pixels.shape[0] * pixels.shape[1] if pixels.ndim == 3 else 0
    words = _words(pixels) if count else np.zeros(0, np.uint32)
    words = words[(words & WHITE_RGB) != WHITE_RGB]
    if len(words) == 0:
        return _Runs(words, np.zeros(0, np.int64)), count
    starts = _run_starts(words)
    lengths = np.diff(np.append(starts, len(words))).astype(np.int64)
    return _Runs(words[starts], lengths), count


def _covered_runs(pixels: Pixels) -> tuple[_Runs, int]:
    """RGBA rendered over a transparent page: each pixel's colour is what covers it and its
    alpha how much of it is covered. Runs fold pixels of one colour, their weight the summed
    alpha, so that a pixel half covered by a line takes half the line colour's ink; what a
    pixel's blend with white would take is not that, for ICC conversions are not linear."""
    count = pixels.shape[0] * pixels.shape[1]
    words = _words(pixels)
    covered = words[words > WHITE_RGB]  # alpha, the high byte, above 0
    if len(covered) == 0:
        return _Runs(covered, np.zeros(0, np.int64)), 255 * count
    alpha = covered.view(np.uint8)[3::4]
    colours = covered & WHITE_RGB
    starts = _run_starts(colours)
    weights = np.add.reduceat(alpha, starts, dtype=np.int64)
    return _Runs(colours[starts], weights), 255 * count


def _split_neutral(runs: _Runs, count: int) -> _Split:
    """Channels within NEUTRAL_TOLERANCE levels of each other count as neutral: colour-managed
    renderers turn gray into RGB a level apart (Ghostscript renders 30 % gray as 76, 77, 76)."""
    # The channels as byte columns of the words: numpy runs 8-bit element-wise operations
    # several times faster than 32-bit ones.
    channels = runs.words.view(np.uint8).reshape(-1, 4)
    r, g, b = channels[:, 0], channels[:, 1], channels[:, 2]
    high = np.maximum(np.maximum(r, g), b)
    low = np.minimum(np.minimum(r, g), b)
    coloured = (high - low) > NEUTRAL_TOLERANCE
    neutral = ~coloured
    neutral_lengths = runs.lengths[neutral]
    # A neutral pixel's black is 255 minus its mid level.
    mid = (high[neutral].astype(np.int64) + low[neutral]) // 2
    black = int((255 - mid) @ neutral_lengths)
    # White pixels have no darkness: the inked ones are all there is to sum.
    luminance = sum(w * t for w, t in zip(LUMA, runs.channel_sums(channels, 3), strict=True))
    darkness = 255.0 * int(runs.lengths.sum()) - luminance
    colour = _Runs(runs.words[coloured], runs.lengths[coloured])
    return _Split(count, black, colour, darkness)


def _mean_ink(split: _Split, colour_cmyk_sums: list[int] | None) -> Ink:
    if split.count == 0:
        return Ink()
    c, m, y, k = colour_cmyk_sums or (0, 0, 0, 0)
    scale = 255.0 * split.count
    return Ink(c / scale, m / scale, y / scale, (k + split.black) / scale)


class _RgbConversion:
    """What both conversions share: neutral pixels are black ink, the page's darkness is what
    monochrome printing takes; they differ in how the coloured pixels become CMYK."""

    name = ""

    def rgb(self, pixels: Pixels) -> Ink:
        return self.measure(pixels)[0]

    def measure(self, pixels: Pixels) -> tuple[Ink, float]:
        return self._measured(_split_neutral(*_opaque_runs(pixels)))

    def measure_covered(self, pixels: Pixels) -> tuple[Ink, float]:
        return self._measured(_split_neutral(*_covered_runs(pixels)))

    def _measured(self, split: _Split) -> tuple[Ink, float]:
        sums = self._colour_sums(split.colour) if len(split.colour) else None
        return _mean_ink(split, sums), split.mono_k

    def _colour_sums(self, colour: _Runs) -> list[int]:
        """C, M, Y and K summed over the coloured pixels, in levels."""
        raise NotImplementedError


class FastConversion(_RgbConversion):
    """Ghostscript's -dUseFastColor=true: the complement of RGB, no black generation."""

    name = "fast"

    def _colour_sums(self, colour: _Runs) -> list[int]:
        pixels = int(colour.lengths.sum())
        rgb = colour.channel_sums(colour.words.view(np.uint8).reshape(-1, 4), 3)
        return [255 * pixels - total for total in rgb] + [0]


class IccConversion(_RgbConversion):
    """sRGB to a CMYK output profile through littleCMS."""

    name = "icc"

    def __init__(self, cmyk_profile: Path, rgb_profile: Path | None = None) -> None:
        self.profile = cmyk_profile
        try:
            source = (
                ImageCms.getOpenProfile(str(rgb_profile))
                if rgb_profile
                else ImageCms.createProfile("sRGB")
            )
            self._transform = ImageCms.buildTransform(
                source,
                ImageCms.getOpenProfile(str(cmyk_profile)),
                "RGB",
                "CMYK",
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
            )
        except (OSError, ImageCms.PyCMSError) as exc:
            raise ProfileNotFound(f"cannot use the ICC profile {cmyk_profile}: {exc}") from exc
        self._cmyk_table: npt.NDArray[np.uint32] | None = None

    def _colour_sums(self, colour: _Runs) -> list[int]:
        if len(colour) <= EXACT_RUNS:
            converted = self._convert(colour.words)
        else:
            converted = self._table()[_table_index(colour.words)].view(np.uint8).reshape(-1, 4)
        return colour.channel_sums(converted, 4)

    def _convert(self, words: npt.NDArray[np.uint32]) -> Pixels:
        """CMYK of RGBX words, as H x 4 bytes."""
        # Pillow keeps RGB as four bytes a pixel too: the words go in as they are.
        image = Image.frombytes("RGB", (len(words), 1), words.tobytes(), "raw", "RGBX")
        out = Image.new("CMYK", image.size)
        # The core transform: ImageCms.applyTransform also copies the output profile into the
        # new image's info, a few milliseconds a call for nothing.
        self._transform.transform.apply(image.getim(), out.getim())
        return np.frombuffer(out.tobytes(), dtype=np.uint8).reshape(-1, 4)

    def _table(self) -> npt.NDArray[np.uint32]:
        """CMYK (as words) of every colour of TABLE_BITS a channel, each the centre of the
        colours it stands for; made at the first page that needs it (a few tens of ms)."""
        if self._cmyk_table is None:
            levels = np.arange(1 << TABLE_BITS, dtype=np.uint32) << (8 - TABLE_BITS)
            levels |= 1 << (7 - TABLE_BITS)  # the middle of the 2^(8-bits) levels each stands for
            r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
            words = (r | g << 8 | b << 16).ravel()
            self._cmyk_table = self._convert(words).reshape(-1).view(np.uint32).copy()
        return self._cmyk_table


def _table_index(words: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    shift = np.uint32(8 - TABLE_BITS)
    mask = np.uint32((1 << TABLE_BITS) - 1)
    r = (words >> shift) & mask
    g = (words >> (shift + np.uint32(8))) & mask
    b = (words >> (shift + np.uint32(16))) & mask
    index: npt.NDArray[np.uint32] = (
        (r << np.uint32(2 * TABLE_BITS)) | (g << np.uint32(TABLE_BITS)) | b
    )
    return index


class ProfileNotFound(RuntimeError):
    pass


def ghostscript_profile(name: str) -> Path:
    """One of Ghostscript's own profiles, found on this machine (printgate ships none)."""
    for directory in PROFILE_DIRS:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise ProfileNotFound(
        f"no {name} found in {', '.join(map(str, PROFILE_DIRS))}: install ghostscript "
        "or give the printer model an ICC profile"
    )


@functools.lru_cache(maxsize=16)
def converter(name: ConversionName = "icc", cmyk_profile: str = "") -> InkConverter:
    """The conversion a printer model asks for; "icc" with no profile means Ghostscript's. A
    machine without Ghostscript has no such profile: measuring goes on with the fast conversion
    rather than not at all, and the log says so (once a worker)."""
    if name == "fast":
        return FastConversion()
    if cmyk_profile:
        return IccConversion(Path(cmyk_profile))
    try:
        cmyk_default = ghostscript_profile("default_cmyk.icc")
    except ProfileNotFound as exc:
        log.warning("%s; measuring with the fast conversion instead", exc)
        return FastConversion()
    rgb_profile: Path | None
    try:
        rgb_profile = ghostscript_profile("default_rgb.icc")
    except ProfileNotFound:
        rgb_profile = None
    return IccConversion(cmyk_default, rgb_profile)
