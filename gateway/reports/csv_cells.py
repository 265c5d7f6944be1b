"""Cells of a CSV export that no spreadsheet runs: a text cell starting like a formula is
written with a leading apostrophe (CSV injection), and values become plain text."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(value: Any) -> str:
    """Any report value as CSV text: numbers as they are (a negative number stays a number),
    text neutralised, times in ISO 8601, booleans as yes / no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"
    if isinstance(value, bytes):
        return ""
    return neutralised(str(value))
