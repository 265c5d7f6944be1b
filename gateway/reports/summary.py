"""The Summary report: totals of use and fees for all printers, one group or one printer over a
period, with what its pies show (pages and printed area per line of the cost basis, ink per
colour), the mean coverage and cost against price."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ..accounting.costing import CHANNELS
from ..store.store import Store
from .figures import CHANNEL_TITLES, LINE_TITLES, Amounts, Slice, Totals, Units
from .period import Period
from .scope import ALL_PRINTERS, EVERYTHING, Scope, Target
from .source import settings, totals_by


@dataclass(frozen=True)
class Summary:
    """Everything the Summary screen and its exports show. Areas and lengths are in
    `units` (m² and m, or sq ft and ft); ink in ml; coverage a fraction (0.05 is 5 %)."""

    period: Period
    target: Target
    made_at: datetime
    units: Units
    jobs: int
    pages: int
    impressions: int
    sheets: int
    color_impressions: int
    mono_impressions: int
    area_printed: float
    area_used: float
    length_used: float
    ink_ml: dict[str, float]  # per channel c, m, y, k
    coverage: dict[str, float]  # mean per channel over the printed area
    line_impressions: dict[str, int]  # per line of the cost basis
    line_area: dict[str, float]
    cost: Amounts
    price: Amounts

    @property
    def lines(self) -> tuple[str, ...]:
        return self.units.lines

    @property
    def ink_ml_total(self) -> float:
        return sum(self.ink_ml.values())

    def pages_pie(self) -> tuple[Slice, ...]:
        """Printed pages (impressions) per line of the cost basis."""
        return tuple(Slice(LINE_TITLES[n], self.line_impressions[n]) for n in self.lines)

    def area_pie(self) -> tuple[Slice, ...]:
        """Printed units (area) per line of the cost basis."""
        return tuple(Slice(LINE_TITLES[n], self.line_area[n]) for n in self.lines)

    def ink_pie(self) -> tuple[Slice, ...]:
        return tuple(Slice(CHANNEL_TITLES[c], self.ink_ml[c]) for c in CHANNELS)

    def cost_and_price(self, with_tax: bool) -> tuple[Slice, ...]:
        return (
            Slice("Cost", float(self.cost.total(with_tax))),
            Slice("Price", float(self.price.total(with_tax))),
        )


def summary_of(totals: Totals, period: Period, target: Target, units: Units) -> Summary:
    return Summary(
        period=period,
        target=target,
        made_at=datetime.now(UTC),
        units=units,
        jobs=totals.count("jobs"),
        pages=totals.count("pages"),
        impressions=totals.count("impressions"),
        sheets=totals.count("sheets"),
        color_impressions=totals.count("color_impressions"),
        mono_impressions=totals.count("mono_impressions"),
        area_printed=units.area_of(totals.quantity("area_printed_m2")),
        area_used=units.area_of(totals.quantity("area_used_m2")),
        length_used=units.length_of(totals.quantity("length_used_m")),
        ink_ml=totals.ink_ml(),
        coverage=totals.coverage(),
        line_impressions={n: totals.line_impressions(n) for n in units.lines},
        line_area={n: units.area_of(totals.line_area_m2(n)) for n in units.lines},
        cost=totals.fees("cost"),
        price=totals.fees("price"),
    )


async def summary(
    store: Store,
    period: Period,
    target: Target = ALL_PRINTERS,
    scope: Scope = EVERYTHING,
) -> Summary:
    """The summary of the jobs printed in `period` on `target`, as far as `scope` lets see."""

    async def fn(session: AsyncSession) -> Summary:
        found = await totals_by(session, period, target, scope, None)
        units = Units.of(await settings(session))
        return summary_of(found.get("", Totals({})), period, target, units)

    return await store.read(fn)
