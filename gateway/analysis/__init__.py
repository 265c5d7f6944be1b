"""Document analysis: what a document will put on paper, page by page.

One module per format turns a document into `Page`s (size and ink coverage); `figures` turns those
and the job's attributes into the job's impressions, sheets, areas and print categories; `runner`
does it off the event loop, bounded in time and memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ink import Ink

MM_PER_INCH = 25.4


class AnalysisError(Exception):
    """The document cannot be analysed; the message says why, in words for the job record."""


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
