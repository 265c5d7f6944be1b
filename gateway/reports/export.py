"""CSV and JSON of a report. CSV is UTF-8 (with a byte order mark, so that Excel reads the
accents), formulas neutralised; each table follows the one before, after a line with its title.
JSON holds the report's own typed figures: amounts as exact decimal strings."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from .csv_cells import cell
from .document import Document

BOM = "\ufeff"


def csv_line(values: Iterable[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cell(v) for v in values])
    return out.getvalue()


def csv_text(document: Document) -> str:
    parts = [BOM]
    for index, table in enumerate(document.tables):
        if len(document.tables) > 1:
            if index:
                parts.append("\r\n")
            parts.append(csv_line([table.title]))
        parts.append(csv_line(c.title for c in table.columns))
        parts.extend(csv_line(row) for row in table.rows)
        if table.footer is not None:
            parts.append(csv_line(table.footer))
    return "".join(parts)


async def csv_stream(
    columns: Sequence[str], rows: AsyncIterator[Sequence[Any]]
) -> AsyncIterator[bytes]:
    """A CSV of many rows, a few hundred rows per chunk of bytes (raw exports)."""
    chunk = [BOM, csv_line(columns)]
    async for row in rows:
        chunk.append(csv_line(row))
        if len(chunk) >= 500:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


def plain(value: Any) -> Any:
    """A report's dataclasses as JSON values: Decimal as an exact string, times in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in ("label", "counted", "difference", "lines", "pages"):
            if name not in data and isinstance(getattr(type(value), name, None), property):
                data[name] = plain(getattr(value, name))
        return data
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = sorted(value) if isinstance(value, frozenset | set) else value
        return [plain(v) for v in items]
    return value


def json_text(report: Any) -> str:
    return json.dumps(plain(report), ensure_ascii=False, indent=1)
