"""From rendered pixels to ink: the amount of C, M, Y and K a page takes, as fractions of the
page area at full coverage (what Ghostscript's ink_cov device reports, not inkcov's share of
inked pixels).

Two conversions from RGB, chosen per printer model:
- "icc": littleCMS through Pillow, sRGB to a CMYK output profile, perceptual intent with black
  point compensation, which is what Ghostscript does; by default its own default_cmyk.icc.
- "fast": the plain complement Ghostscript gives with -dUseFastColor=true (C = 1 - R, ..., no
  black generation).

Neutral pixels (R = G = B) become black ink only, with either conversion. Renderers hand us RGB,
so a page's gray text looks like RGB gray; printers print gray with black ink (and Ghostscript
sends DeviceGray to K), and charging black text as colour would be wrong.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms

Pixels = npt.NDArray[np.uint8]

# Where Debian's and upstream's Ghostscript keep their ICC profiles.
PROFILE_DIRS = (
    Path("/usr/share/color/icc/ghostscript"),
    Path("/usr/share/ghostscript/iccprofiles"),
    Path("/usr/local/share/ghostscript/iccprofiles"),
)

# A page is colour when C, M or Y covers more than this fraction (ink_cov's 0.1 %).
COLOR_THRESHOLD = 0.001


@dataclass(frozen=True)
class Ink:
    """Mean coverage per channel, each a fraction 0-1 of the area at full coverage."""

    c: float = 0.0
    m: float = 0.0
    y: float = 0.0
    k: float = 0.0

    @property
    def is_color(self) -> bool:
        return max(self.c, self.m, self.y) > COLOR_THRESHOLD

    @property
    def total(self) -> float:
        return self.c + self.m + self.y + self.k

    def as_dict(self) -> dict[str, float]:
        return {"c": self.c, "m": self.m, "y": self.y, "k": self.k}


class InkConverter(Protocol):
    name: str

    def rgb(self, pixels: Pixels) -> Ink:
        """Coverage of an H x W x 3 array of 8-bit RGB (255 = white)."""
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
    Ghostscript and CUPS convert RGB to gray)."""
    if pixels.size == 0:
        return 0.0
    means = pixels.reshape(-1, 3).mean(axis=0)
    return 1.0 - float(0.299 * means[0] + 0.587 * means[1] + 0.114 * means[2]) / 255.0


def mono_k_cmyk(pixels: Pixels) -> float:
    """Black coverage of CMYK printed as gray, the usual 1 - (1 - K)(1 - (C + M + Y) / 3)."""
    if pixels.size == 0:
        return 0.0
    flat = pixels.reshape(-1, 4).astype(np.float32) / 255.0
    gray_level = (1.0 - flat[:, 3]) * (1.0 - np.minimum(1.0, flat[:, :3].sum(axis=1) / 3.0))
    return 1.0 - float(gray_level.mean())


def _split_neutral(pixels: Pixels) -> tuple[Pixels, Pixels, int]:
    """The pixels as a flat list, split into neutral gray values and coloured RGB triples."""
    flat = pixels.reshape(-1, 3)
    neutral = (flat[:, 0] == flat[:, 1]) & (flat[:, 1] == flat[:, 2])
    return flat[neutral, 0], flat[~neutral], len(flat)


def _mean_ink(gray_values: Pixels, colour_cmyk: Pixels, count: int) -> Ink:
    if count == 0:
        return Ink()
    sums = colour_cmyk.reshape(-1, 4).sum(axis=0, dtype=np.int64).astype(float)
    sums[3] += float(gray_values.size * 255 - gray_values.sum(dtype=np.int64))
    c, m, y, k = (float(v) / (255.0 * count) for v in sums)
    return Ink(c, m, y, k)


class FastConversion:
    """Ghostscript's -dUseFastColor=true: the complement of RGB, no black generation."""

    name = "fast"

    def rgb(self, pixels: Pixels) -> Ink:
        gray_values, colour, count = _split_neutral(pixels)
        inverted = 255 - colour
        zeros = np.zeros((len(colour), 1), dtype=np.uint8)
        return _mean_ink(gray_values, np.hstack([inverted, zeros]), count)


class IccConversion:
    """sRGB to a CMYK output profile through littleCMS."""

    name = "icc"

    def __init__(self, cmyk_profile: Path, rgb_profile: Path | None = None) -> None:
        source = (
            ImageCms.getOpenProfile(str(rgb_profile))
            if rgb_profile
            else ImageCms.createProfile("sRGB")
        )
        self.profile = cmyk_profile
        self._transform = ImageCms.buildTransform(
            source,
            ImageCms.getOpenProfile(str(cmyk_profile)),
            "RGB",
            "CMYK",
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        )

    def rgb(self, pixels: Pixels) -> Ink:
        gray_values, colour, count = _split_neutral(pixels)
        if len(colour) == 0:
            return _mean_ink(gray_values, np.zeros((0, 4), np.uint8), count)
        image = Image.frombuffer("RGB", (len(colour), 1), np.ascontiguousarray(colour), "raw")
        converted = ImageCms.applyTransform(image, self._transform)
        assert converted is not None
        return _mean_ink(gray_values, np.asarray(converted, dtype=np.uint8), count)


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


ConversionName = Literal["icc", "fast"]


@functools.lru_cache(maxsize=16)
def converter(name: ConversionName = "icc", cmyk_profile: str = "") -> InkConverter:
    """The conversion a printer model asks for; "icc" with no profile means Ghostscript's."""
    if name == "fast":
        return FastConversion()
    if cmyk_profile:
        return IccConversion(Path(cmyk_profile))
    rgb_profile: Path | None
    try:
        rgb_profile = ghostscript_profile("default_rgb.icc")
    except ProfileNotFound:
        rgb_profile = None
    return IccConversion(ghostscript_profile("default_cmyk.icc"), rgb_profile)
