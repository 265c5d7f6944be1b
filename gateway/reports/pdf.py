"""A report as PDF (reportlab platypus): the company logo, title, target and period, when it
was made; the charts as vector drawings (the very Drawings the pages show as SVG); the tables,
their header repeated on each page; "Page n of m" at the foot of every page."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import KeepTogether

from .document import Document, Kind, shown
from .document import Table as ReportTable

# Long tables are laid out in slices of a page (see _table_flowables): platypus splits a big
# table over pages by measuring it again for every page, which makes a 10,000-row report
# quadratic.
PAGE_COUNT = "page-count"  # the form that holds the number of pages
NUMERIC: frozenset[Kind] = frozenset({"int", "number", "money", "percent"})
MARGIN = 12 * mm
LOGO_HEIGHT = 14 * mm
FIRST_COLUMN = 45 * mm
ROW_HEIGHT = 11  # points: 7.5 pt text and its padding


class _NumberedCanvas(Canvas):  # type: ignore[misc]
    """Writes "Page n of m" on every page as it goes: m is a form drawn once at the end, which
    each page refers to, so that no page has to be held back until the count is known."""

    def showPage(self) -> None:
        self.saveState()
        self.setFont("Helvetica", 8)
        self.setFillColor(colors.grey)
        right = self._pagesize[0] - MARGIN - 14
        self.drawRightString(right, 7 * mm, f"Page {self._pageNumber} of ")
        self.translate(right, 7 * mm)
        self.doForm(PAGE_COUNT)
        self.restoreState()
        super().showPage()

    def save(self) -> None:
        self.beginForm(PAGE_COUNT)
        self.setFont("Helvetica", 8)
        self.setFillColor(colors.grey)
        self.drawString(0, 0, str(self._pageNumber - 1))
        self.endForm()
        super().save()


def _header(document: Document, logo: bytes | None) -> Any:
    made = shown(document.made_at, "moment", "")

    def draw(canvas: Canvas, template: Any) -> None:
        width, height = template.pagesize
        canvas.saveState()
        top = height - MARGIN
        if logo:
            image = ImageReader(io.BytesIO(logo))
            w, h = image.getSize()
            canvas.drawImage(
                image, width - MARGIN - LOGO_HEIGHT * w / h, top - LOGO_HEIGHT,
                LOGO_HEIGHT * w / h, LOGO_HEIGHT, mask="auto",
            )  # fmt: skip
        canvas.setFont("Helvetica-Bold", 14)
        canvas.drawString(MARGIN, top - 12, document.title)
        canvas.setFont("Helvetica", 9)
        canvas.drawString(MARGIN, top - 26, document.subtitle)
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(MARGIN, 7 * mm, f"printgate · made {made}")
        canvas.restoreState()

    return draw


def _style(columns: int, numeric: Sequence[int], header_rows: int) -> TableStyle:
    commands: list[Any] = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
        ("FONT", (0, 0), (-1, header_rows - 1), "Helvetica-Bold", 7.5),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.6, colors.black),
        ("ROWBACKGROUNDS", (0, header_rows), (-1, -1), [colors.white, colors.HexColor("#f2f2f2")]),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    commands += [("ALIGN", (i, 0), (i, -1), "RIGHT") for i in numeric]
    return TableStyle(commands)


def _slice(
    rows: list[list[str]],
    widths: list[float] | None,
    style: TableStyle,
    table: ReportTable,
    header_rows: int,
    footer: bool,
) -> Table:
    # Fixed widths and heights: platypus then measures no cell, the bulk of its time.
    heights = [ROW_HEIGHT] * len(rows)
    part = Table(rows, colWidths=widths, rowHeights=heights, repeatRows=header_rows, hAlign="LEFT")
    part.setStyle(style)
    column = 0
    for _title, span in table.groups:
        if span > 1:
            part.setStyle(TableStyle([("SPAN", (column, 0), (column + span - 1, 0))]))
        column += span
    if footer:
        part.setStyle(TableStyle([("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 7.5)]))
    return part


class _LazyTable(Flowable):  # type: ignore[misc]
    """A slice of a long table made only when the layout reaches it (and dropped once drawn):
    a reportlab Table keeps a style object per cell, which for every slice of a 10,000-row
    report at once would cost a hundred megabytes."""

    def __init__(self, make: Callable[[], Table]):
        super().__init__()
        self._make = make
        self._table: Table | None = None

    def _made(self) -> Table:
        if self._table is None:
            self._table = self._make()
        return self._table

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        size: tuple[float, float] = self._made().wrap(available_width, available_height)
        return size

    def split(self, available_width: float, available_height: float) -> list[Flowable]:
        parts: list[Flowable] = self._made().split(available_width, available_height)
        return parts

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:
        self._made().drawOn(canvas, x, y, _sW)
        self._table = None  # drawn: let it go


def _table_flowables(
    table: ReportTable, currency: str, width: float, height: float
) -> list[Flowable]:
    kinds = [c.kind for c in table.columns]
    numeric = [i for i, kind in enumerate(kinds) if kind in NUMERIC]
    header: list[list[str]] = []
    if table.groups:
        header.append(
            [title if i == 0 else "" for title, span in table.groups for i in range(span)]
        )
    header.append([c.title for c in table.columns])
    body = [[shown(v, k, currency) for v, k in zip(row, kinds, strict=True)] for row in table.rows]
    if table.footer is not None:
        body.append([shown(v, k, currency) for v, k in zip(table.footer, kinds, strict=True)])
    if not body:
        body = [["No jobs in this period", *[""] * (len(kinds) - 1)]]
    widths = None
    if len(kinds) > 3:  # a name column, then the figures evenly
        first = min(FIRST_COLUMN, width / 3)
        widths = [first, *[(width - first) / (len(kinds) - 1)] * (len(kinds) - 1)]
    style = _style(len(kinds), numeric, len(header))
    # A slice fills a page at most: one that did not fit would be measured and split again.
    size = max(10, int(height // ROW_HEIGHT) - len(header) - 2)
    flowables: list[Flowable] = []
    for start in range(0, len(body), size):
        last = table.footer is not None and start + size >= len(body)
        rows = header + body[start : start + size]
        flowables.append(_LazyTable(partial(_slice, rows, widths, style, table, len(header), last)))
    return flowables


def pdf_bytes(document: Document, logo: bytes | None = None) -> bytes:
    """The report as a PDF file. Wide tables (more than eight columns) get landscape pages."""
    out = io.BytesIO()
    wide = any(len(t.columns) > 8 for t in document.tables)
    pagesize = landscape(A4) if wide else A4
    doc = SimpleDocTemplate(
        out,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + LOGO_HEIGHT + 4 * mm,
        bottomMargin=14 * mm,
        title=f"{document.title}: {document.subtitle}",
        author="printgate",
    )
    styles = getSampleStyleSheet()
    story: list[Flowable] = []
    for note in document.notes:
        story.append(Paragraph(note, styles["Normal"]))
    if document.charts:
        row: list[Any] = [chart.drawing for chart in document.charts]
        per_row = max(1, int(doc.width // row[0].width))
        grid = [row[i : i + per_row] for i in range(0, len(row), per_row)]
        for line in grid:
            line += [""] * (per_row - len(line))
        story.append(Table(grid, hAlign="LEFT"))
    for table in document.tables:
        story.append(Spacer(1, 4 * mm))
        first, *rest = _table_flowables(table, document.currency, doc.width, doc.height)
        story.append(KeepTogether([Paragraph(table.title, styles["Heading3"]), first]))
        story.extend(rest)
        del first, rest  # build() drops each table once drawn; no other reference may keep it
    header = _header(document, logo)
    doc.build(story, onFirstPage=header, onLaterPages=header, canvasmaker=_NumberedCanvas)
    return out.getvalue()
