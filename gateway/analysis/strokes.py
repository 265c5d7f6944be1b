"""A PDF page's objects made ready to be rendered for their ink, through PDFium's object API.

PDFium draws no stroke narrower than one device pixel: at 72 dpi a 0.1 pt hairline comes out
1 pt wide, ten times its ink. The reference for ink is what a printer lays down at 600 dpi,
Ghostscript's ink_cov with fill adjustment off, and there a line at most one pixel wide is drawn
one pixel a step along its major axis: 1/600 in wide when it runs straight, 0.7 of that at 45°.
So, before the page is rendered, every stroke thinner than one pixel at the rendering resolution
is made exactly one pixel wide and given, as alpha, the share of that pixel its ink covers at
600 dpi; rendered anti-aliased over a transparent page (ink.measure_covered), each pixel then
carries the ink of the line's area in it, whatever the rendering resolution.

White fills painted before anything else (a page background, as office and CAD programs write
it) are made transparent too: they cover no ink, and over them every edge would be a blend with
white instead of a share of a colour.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass, field

import pypdfium2.raw as pdfium_c

REFERENCE_DPI = 600.0
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
WHITE = 255
MAX_DEPTH = 16  # forms within forms


@dataclass
class Adjusted:
    """What prepare changed on a page."""

    strokes: int = 0
    backgrounds: int = 0
    objects: int = 0


@dataclass
class _Out:
    """ctypes out-parameters, made once a page rather than once an object."""

    fill: ctypes.c_int = field(default_factory=ctypes.c_int)
    stroke: ctypes.c_int = field(default_factory=ctypes.c_int)
    width: ctypes.c_float = field(default_factory=ctypes.c_float)
    r: ctypes.c_uint = field(default_factory=ctypes.c_uint)
    g: ctypes.c_uint = field(default_factory=ctypes.c_uint)
    b: ctypes.c_uint = field(default_factory=ctypes.c_uint)
    a: ctypes.c_uint = field(default_factory=ctypes.c_uint)
    x: ctypes.c_float = field(default_factory=ctypes.c_float)
    y: ctypes.c_float = field(default_factory=ctypes.c_float)
    matrix: pdfium_c.FS_MATRIX = field(default_factory=pdfium_c.FS_MATRIX)


def prepare(page: ctypes.c_void_p, dpi: float) -> Adjusted:
    """Adjust the strokes of `page` (an FPDF_PAGE) for rendering at `dpi`, and clear its white
    background; the page's objects change in memory only, the document stays as it is."""
    done = Adjusted()
    out = _Out()
    count = pdfium_c.FPDFPage_CountObjects(page)
    objects = [pdfium_c.FPDFPage_GetObject(page, i) for i in range(count)]
    done.backgrounds = _clear_background(objects, out)
    _adjust(objects, IDENTITY, dpi, out, done, 0)
    return done


def _clear_background(objects: list[ctypes.c_void_p], out: _Out) -> int:
    """Opaque white fills with no stroke, before the first object that is anything else."""
    cleared = 0
    for obj in objects:
        if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_PATH:
            break
        if not pdfium_c.FPDFPath_GetDrawMode(obj, out.fill, out.stroke):
            break
        if out.stroke.value or not out.fill.value:
            break
        if not pdfium_c.FPDFPageObj_GetFillColor(obj, out.r, out.g, out.b, out.a):
            break
        if (out.r.value, out.g.value, out.b.value) != (WHITE, WHITE, WHITE):
            break
        pdfium_c.FPDFPageObj_SetFillColor(obj, WHITE, WHITE, WHITE, 0)
        cleared += 1
    return cleared


def _matrix(obj: ctypes.c_void_p, out: _Out) -> Matrix:
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, out.matrix):
        return IDENTITY
    m = out.matrix
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _then(first: Matrix, second: Matrix) -> Matrix:
    """`first` applied, then `second` (PDF's row-vector convention)."""
    a1, b1, c1, d1, e1, f1 = first
    a2, b2, c2, d2, e2, f2 = second
    return (
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    )


def _adjust(
    objects: list[ctypes.c_void_p],
    parent: Matrix,
    dpi: float,
    out: _Out,
    done: Adjusted,
    depth: int,
) -> None:
    for obj in objects:
        done.objects += 1
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < MAX_DEPTH:
            count = pdfium_c.FPDFFormObj_CountObjects(obj)
            inner = [pdfium_c.FPDFFormObj_GetObject(obj, i) for i in range(count)]
            _adjust(inner, _then(_matrix(obj, out), parent), dpi, out, done, depth + 1)
        elif kind == pdfium_c.FPDF_PAGEOBJ_PATH and _thin_stroke(obj, parent, dpi, out):
            done.strokes += 1


def _thin_stroke(obj: ctypes.c_void_p, parent: Matrix, dpi: float, out: _Out) -> bool:
    """Make the stroke of one path object what the reference would print, if it is thin."""
    if not pdfium_c.FPDFPath_GetDrawMode(obj, out.fill, out.stroke) or not out.stroke.value:
        return False
    if not pdfium_c.FPDFPageObj_GetStrokeWidth(obj, out.width):
        return False
    matrix = _then(_matrix(obj, out), parent)
    a, b, c, d = matrix[:4]
    scale = math.sqrt(abs(a * d - b * c))  # user space to points, on average over directions
    if scale <= 0.0:
        return False
    width_pt = out.width.value * scale
    here = width_pt * dpi / 72.0  # device pixels at the rendering resolution
    at_reference = width_pt * REFERENCE_DPI / 72.0
    if here >= 1.0 and at_reference > 1.0:
        return False  # PDFium draws it as it is, and so does the reference
    if at_reference <= 1.0:
        # One reference pixel a step along the line's major axis, across its width.
        at_reference = _major_axis_share(obj, matrix, out)
    wanted = at_reference * dpi / REFERENCE_DPI  # its ink, in pixels across at `dpi`
    if not pdfium_c.FPDFPageObj_GetStrokeColor(obj, out.r, out.g, out.b, out.a):
        return False  # a pattern or a colour PDFium cannot say: drawn as it is
    if wanted >= 1.0:
        pdfium_c.FPDFPageObj_SetStrokeWidth(obj, ctypes.c_float(wanted * 72.0 / dpi / scale))
        return True
    alpha = max(1, min(WHITE, round(out.a.value * wanted)))
    pdfium_c.FPDFPageObj_SetStrokeWidth(obj, ctypes.c_float(72.0 / dpi / scale))
    pdfium_c.FPDFPageObj_SetStrokeColor(obj, out.r.value, out.g.value, out.b.value, alpha)
    return True


def _major_axis_share(obj: ctypes.c_void_p, matrix: Matrix, out: _Out) -> float:
    """The mean over the path's length of max(|cos|, |sin|) of its segments on the page: how
    wide, across, a line drawn one pixel a step along its major axis is. Curves count by their
    chords (PDFium gives their control points), which is close for the flat arcs of drawings."""
    a, b, c, d = matrix[:4]
    total = 0.0
    major = 0.0
    start_x = start_y = last_x = last_y = 0.0
    for index in range(pdfium_c.FPDFPath_CountSegments(obj)):
        segment = pdfium_c.FPDFPath_GetPathSegment(obj, index)
        if not segment or not pdfium_c.FPDFPathSegment_GetPoint(segment, out.x, out.y):
            continue
        x = a * out.x.value + c * out.y.value
        y = b * out.x.value + d * out.y.value
        if pdfium_c.FPDFPathSegment_GetType(segment) == pdfium_c.FPDF_SEGMENT_MOVETO:
            start_x, start_y = x, y
        else:
            dx, dy = abs(x - last_x), abs(y - last_y)
            total += math.hypot(dx, dy)
            major += max(dx, dy)
        last_x, last_y = x, y
        if pdfium_c.FPDFPathSegment_GetClose(segment):
            dx, dy = abs(start_x - last_x), abs(start_y - last_y)
            total += math.hypot(dx, dy)
            major += max(dx, dy)
            last_x, last_y = start_x, start_y
    return major / total if total > 0.0 else 1.0
