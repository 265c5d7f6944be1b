"""The figures every report is made of, summed from the roll-ups, and the units they show in.

`Totals` holds one group's sums in metric units as recorded; `Amounts` one of its fees (cost or
price): net, tax, gross, and each part (ink, paper, service, each line of the basis) without tax
and with it. Each job's parts were shared out of its net and of its gross in whole minor units
(gateway/accounting/rollups.py), so parts always add up to their total, with tax or without."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from ..accounting.costing import CHANNELS, SQ_FT_PER_M2, Settings

Fees = Literal["cost", "price"]
# The lines of each cost basis, as the roll-ups name them.
BASIS_LINES = {
    "categories": ("mono_lines", "color_lines", "low_density", "high_density"),
    "coverage": ("color", "mono"),
}
ALL_LINES = BASIS_LINES["categories"] + BASIS_LINES["coverage"]
COUNTS = (
    "jobs", "pages", "impressions", "sheets", "color_impressions", "mono_impressions",
    "imp_mono_lines", "imp_color_lines", "imp_low_density", "imp_high_density",
)  # fmt: skip
QUANTITIES = (
    "area_printed_m2", "area_used_m2", "length_used_m",
    "ink_m2_c", "ink_m2_m", "ink_m2_y", "ink_m2_k", "ink_ml_c", "ink_ml_m", "ink_ml_y", "ink_ml_k",
    "area_mono_lines", "area_color_lines", "area_low_density", "area_high_density",
    "area_color", "area_mono",
)  # fmt: skip
PARTS = ("ink", "paper", "service", *ALL_LINES)
AMOUNT_PARTS = ("net", "tax", "gross", *PARTS, *(f"{part}_gross" for part in PARTS))
AMOUNTS = tuple(f"{kind}_{part}" for kind in ("cost", "price") for part in AMOUNT_PARTS)
FIGURES = COUNTS + QUANTITIES + AMOUNTS  # every summed column of the roll-up tables


@dataclass(frozen=True)
class Amounts:
    """A cost or a price: the totals as recorded, and its parts without and with tax."""

    net: Decimal
    tax: Decimal
    gross: Decimal
    parts: Mapping[str, Decimal]  # ink, paper, service and each line, without tax
    parts_gross: Mapping[str, Decimal]  # the same with tax

    def total(self, with_tax: bool) -> Decimal:
        return self.gross if with_tax else self.net

    def part(self, name: str, with_tax: bool = False) -> Decimal:
        """One part: "ink", "paper", "service" or a line ("mono_lines", ..., "color")."""
        return (self.parts_gross if with_tax else self.parts)[name]

    @property
    def ink(self) -> Decimal:
        return self.parts["ink"]

    @property
    def paper(self) -> Decimal:
        return self.parts["paper"]

    @property
    def service(self) -> Decimal:
        return self.parts["service"]


@dataclass(frozen=True)
class Totals:
    """Sums over a set of charged jobs, in metric units (areas m², lengths m, ink ml)."""

    sums: Mapping[str, Any]

    def count(self, name: str) -> int:
        return int(self.sums.get(name) or 0)

    def quantity(self, name: str) -> float:
        return float(self.sums.get(name) or 0.0)

    def amount(self, name: str) -> Decimal:
        value = self.sums.get(name)
        return Decimal(0) if value is None else Decimal(value)

    def fees(self, kind: Fees) -> Amounts:
        return Amounts(
            net=self.amount(f"{kind}_net"),
            tax=self.amount(f"{kind}_tax"),
            gross=self.amount(f"{kind}_gross"),
            parts={part: self.amount(f"{kind}_{part}") for part in PARTS},
            parts_gross={part: self.amount(f"{kind}_{part}_gross") for part in PARTS},
        )

    def ink_ml(self) -> dict[str, float]:
        return {c: self.quantity(f"ink_ml_{c}") for c in CHANNELS}

    def coverage(self) -> dict[str, float]:
        """Mean coverage per channel over the printed area: each channel's ink (m² at full
        coverage) over the area printed, so a big sheet weighs as much as it inks."""
        area = self.quantity("area_printed_m2")
        return {c: (self.quantity(f"ink_m2_{c}") / area if area else 0.0) for c in CHANNELS}

    def line_impressions(self, line: str) -> int:
        if line == "color":
            return self.count("color_impressions")
        if line == "mono":
            return self.count("mono_impressions")
        return self.count(f"imp_{line}")

    def line_area_m2(self, line: str) -> float:
        return self.quantity(f"area_{line}")


def combined(parts: Iterable[Totals]) -> Totals:
    """The sums of several groups together (a report's "Total" row)."""
    found: dict[str, Any] = {}
    for part in parts:
        for name, value in part.sums.items():
            if value is not None:
                found[name] = found[name] + value if name in found else value
    return Totals(found)


@dataclass(frozen=True)
class Units:
    """How a report shows quantities and money: the accounting options when it was made."""

    system: str  # metric | imperial
    currency: str
    basis: str  # categories | coverage

    @property
    def area(self) -> str:
        return "sq ft" if self.system == "imperial" else "m²"

    @property
    def length(self) -> str:
        return "ft" if self.system == "imperial" else "m"

    @property
    def lines(self) -> tuple[str, ...]:
        return BASIS_LINES.get(self.basis, BASIS_LINES["categories"])

    def area_of(self, m2: float) -> float:
        return m2 * float(SQ_FT_PER_M2) if self.system == "imperial" else m2

    def length_of(self, metres: float) -> float:
        return metres / 0.3048 if self.system == "imperial" else metres

    @classmethod
    def of(cls, settings: Settings) -> Units:
        return cls(settings.units, settings.currency, settings.basis)


LINE_TITLES = {
    "mono_lines": "Mono lines",
    "color_lines": "Colour lines",
    "low_density": "Low density image",
    "high_density": "High density image",
    "color": "Colour",
    "mono": "Mono",
}
CHANNEL_TITLES = {"c": "Cyan", "m": "Magenta", "y": "Yellow", "k": "Black"}


@dataclass(frozen=True)
class Slice:
    """One part of a pie (or one bar): a label and its value."""

    label: str
    value: float
