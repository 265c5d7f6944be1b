"""A report as an Excel workbook (openpyxl's write-only mode: rows go to disk as they are
written, so a million raw rows take constant memory). Numbers are numbers, amounts carry a
currency format, times are Excel times; no images (as the guide says of Excel reports)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from ..accounting.costing import quantum
from .csv_cells import neutralised
from .document import Document, Kind
from .document import Table as ReportTable

FORMATS: dict[Kind, str] = {
    "int": "#,##0",
    "number": "#,##0.00",
    "percent": "0.0%",
    "moment": "yyyy-mm-dd hh:mm",
}
BOLD = Font(bold=True)


def money_format(currency: str) -> str:
    exponent = quantum(currency or "EUR").as_tuple().exponent
    digits = -exponent if isinstance(exponent, int) else 2
    decimals = "." + "0" * int(digits) if digits else ""
    return f'#,##0{decimals} "{currency}"' if currency else f"#,##0{decimals}"


def sheet_name(title: str, used: set[str]) -> str:
    """Excel's rules: 31 characters at most, none of []:*?/\\, unique in the workbook."""
    name = re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Sheet"
    base, n = name, 2
    while name in used:
        name = f"{base[:28]} {n}"
        n += 1
    used.add(name)
    return name


def value_of(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone().replace(tzinfo=None)  # Excel has no zones: local time
    if isinstance(value, bool):
        return value
    if kind == "money":
        return Decimal(value)
    if isinstance(value, str):
        return neutralised(
            value
        )  # Excel runs no formula from a value cell, LibreOffice's CSV import might
    return value


class SheetWriter:
    """Rows of one table into a write-only sheet, each cell with its column's format."""

    def __init__(self, sheet: WriteOnlyWorksheet, kinds: Sequence[Kind], currency: str):
        self.sheet = sheet
        self.kinds = list(kinds)
        self.formats = [money_format(currency) if k == "money" else FORMATS.get(k) for k in kinds]

    def header(self, titles: Iterable[str]) -> None:
        cells = []
        for title in titles:
            cell = WriteOnlyCell(self.sheet, value=title)
            cell.font = BOLD
            cells.append(cell)
        self.sheet.append(cells)

    def row(self, values: Sequence[Any], bold: bool = False) -> None:
        cells: list[Any] = []
        for value, kind, number_format in zip(values, self.kinds, self.formats, strict=True):
            plain = value_of(value, kind)
            if (number_format is None or plain is None) and not bold:
                cells.append(plain)  # a bare value: a styled cell object costs ten times more
                continue
            cell = WriteOnlyCell(self.sheet, value=plain)
            if number_format:
                cell.number_format = number_format
            if bold:
                cell.font = BOLD
            cells.append(cell)
        self.sheet.append(cells)


def _table_sheet(book: Workbook, table: ReportTable, document: Document, used: set[str]) -> None:
    sheet = book.create_sheet(sheet_name(table.title, used))
    writer = SheetWriter(sheet, [c.kind for c in table.columns], document.currency)
    sheet.append([document.title])
    sheet.append([document.subtitle])
    sheet.append([])
    if table.groups:
        sheet.append(
            [title if i == 0 else None for title, span in table.groups for i in range(span)]
        )
    writer.header(c.title for c in table.columns)
    for values in table.rows:
        writer.row(values)
    if table.footer is not None:
        writer.row(table.footer, bold=True)


def write_xlsx(document: Document, out: IO[bytes]) -> None:
    """Each table on a sheet of its own, headed by the report's title and period."""
    book = Workbook(write_only=True)
    used: set[str] = set()
    for table in document.tables:
        _table_sheet(book, table, document, used)
    if not document.tables:
        book.create_sheet("Report").append([document.title])
    book.save(out)
