"""The reports by users, projects and departments (the guide's "Reports" tabs): billable jobs,
non-billable ones or both; by cost or by price; with or without tax. A pie of the top names and
"Others", the table "Totals by name" (pages, area, ink, service, paper area and amount, total)
and the table "Print by name" (per line of the cost basis: pages, area, amount), paged."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from ..accounting.costing import CHANNELS
from ..store.store import Store
from .figures import ALL_LINES, BASIS_LINES, PARTS, Fees, Slice, Totals, Units, combined
from .period import Period
from .scope import ALL_PRINTERS, EVERYTHING, Scope, Target
from .source import Billable, settings, totals_by

Dimension = Literal["user", "project", "department"]
DIMENSIONS: dict[str, Dimension] = {
    "users": "user",
    "projects": "project",
    "departments": "department",
}
OTHERS = "Others"


class ByNameError(ValueError):
    """An option out of range: an unknown dimension, a page before the first."""


@dataclass(frozen=True)
class ByNameOptions:
    billable: Billable = "both"
    fees: Fees = "cost"
    with_tax: bool = False


@dataclass(frozen=True)
class LineFigures:
    """One line of the cost basis for one name: pages (impressions), printed area, amount."""

    pages: int
    area: float
    amount: Decimal


@dataclass(frozen=True)
class NameRow:
    """One name's row of both tables. Areas in the report's units; amounts in its currency,
    of its fees (cost or price), with or without tax as asked."""

    name: str
    jobs: int
    pages: int  # impressions: printed sides
    area: float  # printed area
    ink_ml: float
    ink: Decimal
    service: Decimal
    paper_area: float
    paper: Decimal
    total: Decimal
    lines: dict[str, LineFigures] = field(default_factory=dict)


@dataclass(frozen=True)
class ByNameReport:
    dimension: Dimension
    period: Period
    target: Target
    options: ByNameOptions
    made_at: datetime
    units: Units
    rows: tuple[NameRow, ...]  # this page's names, by total (largest first), then name
    overall: NameRow  # every name of the report together (name "Total")
    pie: tuple[Slice, ...]  # the top names by total, the rest as "Others"
    names: int  # how many names in all pages
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.names // self.page_size)) if self.page_size else 1

    @property
    def lines(self) -> tuple[str, ...]:
        return self.units.lines


def name_row(name: str, totals: Totals, units: Units, options: ByNameOptions) -> NameRow:
    fees = totals.fees(options.fees)
    with_tax = options.with_tax
    return NameRow(
        name=name,
        jobs=totals.count("jobs"),
        pages=totals.count("impressions"),
        area=units.area_of(totals.quantity("area_printed_m2")),
        ink_ml=sum(totals.ink_ml().values()),
        ink=fees.part("ink", with_tax),
        service=fees.part("service", with_tax),
        paper_area=units.area_of(totals.quantity("area_used_m2")),
        paper=fees.part("paper", with_tax),
        total=fees.total(with_tax),
        lines={
            line: LineFigures(
                totals.line_impressions(line),
                units.area_of(totals.line_area_m2(line)),
                fees.part(line, with_tax),
            )
            for line in units.lines
        },
    )


def pie_of(rows: list[NameRow], top: int) -> tuple[Slice, ...]:
    """The `top` names by total, and "Others" for the rest (when there is a rest)."""
    ranked = sorted(rows, key=lambda r: (-r.total, r.name))
    slices = [Slice(r.name, float(r.total)) for r in ranked[:top]]
    rest = ranked[top:]
    if rest:
        slices.append(Slice(OTHERS, float(sum((r.total for r in rest), Decimal(0)))))
    return tuple(slices)


async def by_name(
    store: Store,
    dimension: Dimension,
    period: Period,
    target: Target = ALL_PRINTERS,
    options: ByNameOptions = ByNameOptions(),
    scope: Scope = EVERYTHING,
    page: int = 1,
    page_size: int | None = 50,
    top: int = 5,
    names: frozenset[str] | None = None,
) -> ByNameReport:
    """The report by `dimension` over `period`. page_size None: every name on one page (what
    exports and mails use). Names are ordered by total, largest first, then by name. `names`:
    only these names (a report for one user, a custom report's chosen projects)."""
    if dimension not in DIMENSIONS.values():
        raise ByNameError(f"unknown report {dimension!r} (user, project or department)")
    if page < 1:
        raise ByNameError("pages are counted from 1")

    async def fn(session: AsyncSession) -> ByNameReport:
        found = await totals_by(
            session,
            period,
            target,
            scope,
            dimension,
            options.billable,
            names,
            figures=by_name_figures(options.fees),
        )
        units = Units.of(await settings(session))
        rows = [name_row(name, totals, units, options) for name, totals in found.items()]
        overall = name_row("Total", combined(found.values()), units, options)
        rows.sort(key=lambda r: (-r.total, r.name))
        size = page_size or max(1, len(rows))
        return ByNameReport(
            dimension=dimension,
            period=period,
            target=target,
            options=options,
            made_at=datetime.now(UTC),
            units=units,
            rows=tuple(rows[(page - 1) * size : page * size]),
            overall=overall,
            pie=pie_of(rows, top),
            names=len(rows),
            page=page,
            page_size=size,
        )

    return await store.read(fn)


async def names_count(store: Store, dimension: Dimension, period: Period, scope: Scope) -> int:
    """How many names have printed in the period (the console's tab counters)."""

    async def fn(session: AsyncSession) -> int:
        found = await totals_by(session, period, ALL_PRINTERS, scope, dimension, figures=["jobs"])
        return len(found)

    return await store.read(fn)


def by_name_figures(fees: Fees) -> list[str]:
    """What a report by name sums: its own fees' columns and the use, not the other fees'."""
    use = [
        "jobs", "impressions", "area_printed_m2", "area_used_m2", "color_impressions",
        "mono_impressions", *(f"ink_ml_{c}" for c in CHANNELS),
        *(f"imp_{line}" for line in BASIS_LINES["categories"]),
        *(f"area_{line}" for line in ALL_LINES),
    ]  # fmt: skip
    amounts = ["net", "tax", "gross", *PARTS, *(f"{part}_gross" for part in PARTS)]
    return use + [f"{fees}_{name}" for name in amounts]
