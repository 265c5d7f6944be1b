"""A report made format-neutral: a title, the period, when it was made, its charts and its
tables of typed columns. PDF, XLSX and CSV are all written from this one description, so every
format shows the same figures, rounded the same way (`shown`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from ..accounting.costing import quantum
from .charts import Chart

Kind = Literal["text", "int", "number", "money", "percent", "moment", "bool"]


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    key: str  # stable: totals, fees, lines, by_name_totals, by_name_print, raw, ...
    title: str
    columns: tuple[Column, ...]
    rows: Sequence[Sequence[Any]]
    footer: Sequence[Any] | None = None  # a "Total" row shown apart
    # Column groups over the header (print by name: one per line of the basis): (title, span).
    groups: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Document:
    kind: str  # summary | users | projects | departments | raw | reconciliation
    title: str
    subtitle: str  # the target and the period
    made_at: datetime
    currency: str
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def shown(value: Any, kind: Kind, currency: str) -> str:
    """A value as the PDF (and a page) shows it: money to the currency's minor unit, other
    quantities to two decimals, percentages to one, times in local time to the minute."""
    if value is None:
        return "-"
    if kind == "money":
        return f"{Decimal(value).quantize(quantum(currency), ROUND_HALF_UP):,}"
    if kind == "number":
        return f"{Decimal(repr(float(value))).quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    if kind == "percent":
        return f"{Decimal(repr(100 * float(value))).quantize(Decimal('0.1'), ROUND_HALF_UP)} %"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "moment" and isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    if kind == "bool":
        return "yes" if value else "no"
    return str(value)


def rows_of(table: Table) -> Iterable[Sequence[Any]]:
    yield from table.rows
    if table.footer is not None:
        yield table.footer
