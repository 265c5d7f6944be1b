"""PDF: rendered page by page with PDFium (pypdfium2), anti-aliased over a transparent page, then
measured.

Each pixel comes out as the colour that covers it and, as alpha, how much of it is covered, and
takes that share of its colour's ink (ink.measure_covered): a line a tenth of a pixel wide
counts for a tenth of a pixel, where drawing it over white and converting the pale blend would
count it wrong (ICC conversions are not linear). Strokes PDFium would widen to a pixel are made
to carry their own share instead (strokes.py). Coverage then hardly depends on the resolution,
and pages are rendered coarse: AUTO_DPI, and larger sheets at what AUTO_PIXELS allows.
Measured against Ghostscript's ink_cov at 600 dpi (fill adjustment off) on the test corpus
(hairlines of 0.1-0.5 pt, hatching, 6-11 pt text, fills, photos, gradients, A4 to A0 and rolls),
every channel of every page stays within 0.75 point of it at the automatic resolution.

Known limit: a shape drawn with an opacity below 1 is measured as if it covered that share of
its area with its colour; with an ICC conversion the pale blend a printer mixes takes somewhat
more ink (up to a third more) than that share.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pypdfium2 as pdfium

from . import AnalysisError, Page, points_to_mm
from .ink import InkConverter
from .strokes import prepare

# The resolution pages are rendered at when none is asked for (dpi = 0), and the pixels a page
# may take at it: an A4 page at 50 dpi is 0.24 Mpx, an A0 sheet 3.9; a 3 m roll of 914 mm
# comes down to 28 dpi.
AUTO_DPI = 50.0
AUTO_PIXELS = 4_000_000
# Bounds the bitmap of one page (4 bytes a pixel) at any asked resolution: a 10 m roll page is
# rendered coarser, not bigger.
MAX_PAGE_PIXELS = 12_000_000
TAIL_BYTES = 2048
Pixels = npt.NDArray[np.uint8]
TRANSPARENT = (255, 255, 255, 0)
# Conflation: two shapes that meet inside a pixel, each anti-aliased on its own, leave it
# partly uncovered (a half and a half make three quarters). Where a pixel and its four
# neighbours are all at least this covered, it is inside shapes that meet: a gradient a program
# drew as thin strips or rings, a mesh of polygons. It counts as covered.
SEAM_ALPHA = 191


def _check_complete(stream: BinaryIO) -> None:
    """PDFium silently rebuilds a cut-off file and renders what it finds; a file whose end
    marker is missing was cut off, and its figures would be wrong without saying so."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - TAIL_BYTES))
    tail = stream.read()
    stream.seek(0)
    if b"%%EOF" not in tail:
        raise AnalysisError("truncated PDF: the file ends without its %%EOF marker")


def resolution(width_pt: float, height_pt: float, dpi: float = 0.0) -> float:
    """The resolution a page of this size is rendered at: `dpi` if given (within
    MAX_PAGE_PIXELS), else AUTO_DPI within AUTO_PIXELS."""
    wanted, budget = (dpi, MAX_PAGE_PIXELS) if dpi > 0 else (AUTO_DPI, AUTO_PIXELS)
    pixels = width_pt * height_pt * (wanted / 72.0) ** 2
    if pixels > budget:
        wanted *= math.sqrt(budget / pixels)
    return wanted


def pages(stream: BinaryIO, ink: InkConverter, dpi: float = 0.0) -> Iterator[Page]:
    _check_complete(stream)
    try:
        document = pdfium.PdfDocument(stream)
    except pdfium.PdfiumError as exc:
        raise AnalysisError(f"not a readable PDF: {exc}") from exc
    try:
        for index in range(len(document)):
            page = document[index]
            try:
                yield _page(page, index, ink, dpi)
            except pdfium.PdfiumError as exc:
                raise AnalysisError(f"page {index + 1} cannot be rendered: {exc}") from exc
            finally:
                page.close()
    finally:
        document.close()


def _page(page: pdfium.PdfPage, index: int, ink: InkConverter, dpi: float) -> Page:
    width_pt, height_pt = page.get_size()
    if width_pt <= 0 or height_pt <= 0:
        raise AnalysisError(f"page {index + 1} has no size")
    at = resolution(width_pt, height_pt, dpi)
    prepare(page.raw, at)
    bitmap = page.render(
        scale=at / 72.0,
        rev_byteorder=True,  # RGBA
        fill_color=TRANSPARENT,
        draw_annots=True,
    )
    try:
        pixels: Pixels = np.asarray(bitmap.to_numpy())
        _close_seams(pixels)
        coverage, mono_k = ink.measure_covered(pixels)
    finally:
        bitmap.close()
    return Page(points_to_mm(width_pt), points_to_mm(height_pt), coverage, mono_k)


def _close_seams(pixels: Pixels) -> None:
    """Pixels inside shapes that meet made fully covered (see SEAM_ALPHA), in place."""
    height, width = pixels.shape[:2]
    if height < 3 or width < 3 or not pixels.flags.c_contiguous:
        return
    # As RGBA words, alpha is the high byte: "alpha >= a" is "word >= a << 24".
    words = pixels.reshape(-1).view(np.uint32)
    covered, opaque = np.uint32(SEAM_ALPHA << 24), np.uint32(0xFF000000)
    partly = (words >= covered) & (words < opaque)
    edges = partly.reshape(height, width)
    edges[0], edges[-1], edges[:, 0], edges[:, -1] = False, False, False, False
    index = np.flatnonzero(partly)
    if len(index) == 0:
        return
    inside = (
        (words[index - 1] >= covered)
        & (words[index + 1] >= covered)
        & (words[index - width] >= covered)
        & (words[index + width] >= covered)
    )
    words[index[inside]] |= opaque
