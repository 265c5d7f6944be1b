"""image/jpeg: one page, its size from the image's resolution and its ink from its pixels.

Pillow decodes; `Image.draft` has libjpeg scale the image down by 2, 4 or 8 in the DCT, so a
photo is measured on at most about DRAFT_PIXELS pixels at a fraction of the cost (coverage is
a mean, and the scaled DCT is close to a box average). CMYK JPEGs as Photoshop writes them
(inverted, with an Adobe marker) come out of Pillow as ordinary CMYK, 255 = full ink.

The page size is the pixel size at the resolution the file states (JFIF density, else EXIF
X/YResolution, as Pillow reads them). Without one it is DEFAULT_DPI: 72, the EXIF default and
what cameras write. (CUPS's own image filters assume 128.) A printer told to scale the image
to the media (print-scaling) prints it at the media's size; that is the job's business, not the
document's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from PIL import Image

from . import AnalysisError, Page, pixels_to_mm
from .ink import Ink, InkConverter, cmyk, gray, mono_k_cmyk, mono_k_rgb

LABEL = "JPEG"
DEFAULT_DPI = 72.0
DRAFT_PIXELS = 2_000_000
MIN_DPI, MAX_DPI = 1.0, 10_000.0

Pixels = npt.NDArray[np.uint8]


def pages(stream: BinaryIO, ink: InkConverter) -> Iterator[Page]:
    """The JPEG's one page."""
    # Pillow raises a zoo of exceptions for broken files (OSError, SyntaxError, ValueError,
    # struct.error, DecompressionBombError, ...); each is a document we cannot analyse.
    try:
        with Image.open(stream, formats=["JPEG"]) as image:
            width, height = image.size
            xdpi, ydpi = _resolution(image)
            scale = _draft_scale(width, height)
            if scale > 1:
                image.draft(image.mode, (math.ceil(width / scale), math.ceil(height / scale)))
            image.load()
            pixels, mode = _pixels(image)
    except AnalysisError:
        raise
    except Image.DecompressionBombError as error:
        raise AnalysisError(f"{LABEL} too large to analyse: {error}") from error
    except Exception as error:
        raise AnalysisError(f"not a readable {LABEL}: {error}") from error
    coverage, mono = _measure(pixels, mode, ink)
    yield Page(
        width_mm=pixels_to_mm(width, xdpi),
        height_mm=pixels_to_mm(height, ydpi),
        ink=coverage,
        mono_k=mono,
    )


def _resolution(image: Image.Image) -> tuple[float, float]:
    dpi = image.info.get("dpi")
    try:
        xdpi, ydpi = (float(v) for v in dpi)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return DEFAULT_DPI, DEFAULT_DPI
    if not (MIN_DPI <= xdpi <= MAX_DPI and MIN_DPI <= ydpi <= MAX_DPI):
        return DEFAULT_DPI, DEFAULT_DPI
    return xdpi, ydpi


def _draft_scale(width: int, height: int) -> int:
    scale = 1
    while scale < 8 and width * height > DRAFT_PIXELS * scale * scale:
        scale *= 2
    return scale


def _pixels(image: Image.Image) -> tuple[Pixels, str]:
    if image.mode not in ("L", "RGB", "CMYK"):
        image = image.convert("RGB")
    array = np.asarray(image, dtype=np.uint8)
    if image.mode == "L":
        array = array[:, :, None]
    return array, image.mode


def _measure(pixels: Pixels, mode: str, ink: InkConverter) -> tuple[Ink, float]:
    """Ink and mono black of the pixels; blank ones (white, no ink) are counted, not converted."""
    channels = pixels.shape[2]
    flat = pixels.reshape(-1, channels)
    if flat.shape[0] == 0:
        return Ink(), 0.0
    blank = 0 if mode == "CMYK" else 255
    inked = flat[(flat != blank).any(axis=1)].reshape(-1, 1, channels)
    if len(inked) == 0:
        return Ink(), 0.0
    share = len(inked) / flat.shape[0]
    if mode == "L":
        coverage = gray(inked)
        mono = coverage.k
    elif mode == "CMYK":
        coverage, mono = cmyk(inked), mono_k_cmyk(inked)
    else:
        coverage, mono = ink.rgb(inked), mono_k_rgb(inked)
    scaled = Ink(*(v * share for v in (coverage.c, coverage.m, coverage.y, coverage.k)))
    return scaled, mono * share
