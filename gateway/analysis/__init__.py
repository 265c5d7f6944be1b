"""Document analysis: what a document will put on paper, page by page.

One module per format turns a document into `Page`s (size and ink coverage); `figures` turns those
and the job's attributes into the job's impressions, sheets, areas and print categories; `runner`
does it off the event loop, bounded in time and memory.

This module and `figures` import nothing heavy (no numpy, Pillow or PDFium): the gateway and the
`printgate analyze` command load the readers only when a document is measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a printer model's RGB becomes ink (ink.py): an ICC profile, or Ghostscript's complement.
ConversionName = Literal["icc", "fast"]
MM_PER_INCH = 25.4
# A page is colour when C, M or Y covers more than this fraction (ink_cov's 0.1 %).
COLOR_THRESHOLD = 0.001


class AnalysisError(Exception):
    """The document cannot be analysed; the message says why, in words for the job record."""


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


@dataclass(frozen=True)
class Page:
    """One page as the document describes it."""

    width_mm: float
    height_mm: float
    ink: Ink  # coverage as the page would print in colour
    # Black coverage if printed in monochrome (1 - mean luminance): what print-color-mode
    # monochrome costs.
    mono_k: float

    @property
    def color(self) -> bool:
        return self.ink.is_color

    @property
    def area_m2(self) -> float:
        return self.width_mm * self.height_mm / 1e6


def points_to_mm(points: float) -> float:
    return points * MM_PER_INCH / 72.0


def pixels_to_mm(pixels: int, dpi: float) -> float:
    return pixels * MM_PER_INCH / dpi
