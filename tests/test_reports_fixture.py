"""A fixture of printed jobs with known figures for the report tests (and the report pages'):
three printers in two groups, three users, projects, departments, billable and not, charged
under one rate table in January and another from February. `expected` adds the specs up by
hand, in Decimal, as a bookkeeper would from the rate tables: never from what printgate
recorded.

Not a test module itself: it holds no tests (pytest collects nothing from it)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from gateway.accounting.accountant import charged_fields
from gateway.accounting.costing import ModelProfile, RateTable, Settings
from gateway.accounting.rates import InForce
from gateway.accounting.rollups import write_charge
from gateway.analysis import Ink
from gateway.analysis.figures import CategoryUse, JobFigures
from gateway.ipp import JobState
from gateway.store.models import JobRow
from gateway.store.store import Store

CENT = Decimal("0.01")
TAX = Decimal(20)  # percent, rates entered without tax
ML_PER_M2 = Decimal(10)
SETTINGS = Settings(basis="categories", units="metric", currency="EUR", tax_rate=TAX)
PROFILE = ModelProfile(ml_per_m2={c: ML_PER_M2 for c in "cmyk"})
# Ink put down per m² printed, per channel, for each print category.
INK = {
    "mono_lines": {"c": 0.0, "m": 0.0, "y": 0.0, "k": 0.0625},
    "color_lines": {"c": 0.03125, "m": 0.03125, "y": 0.03125, "k": 0.03125},
    "low_density": {"c": 0.125, "m": 0.125, "y": 0.125, "k": 0.125},
    "high_density": {"c": 0.25, "m": 0.25, "y": 0.25, "k": 0.25},
}
# Rates of (mono lines, colour lines, low density, high density) per m² printed; paper per m²
# used; service per job.
LINES = ("mono_lines", "color_lines", "low_density", "high_density")
TABLES = {
    ("cost", "jan"): (("1", "2", "3", "5"), "0.5", "0.25"),
    ("price", "jan"): (("2", "4", "6", "10"), "1", "0.5"),
    ("cost", "feb"): (("1.5", "3", "4.5", "7.5"), "0.75", "0.25"),
    ("price", "feb"): (("3", "6", "9", "15"), "1.5", "1"),
}
FIRST, LAST = date(2026, 1, 1), date(2026, 2, 28)


@dataclass(frozen=True)
class Spec:
    day: date
    printer: str
    queue: str
    user: str
    project: str
    department: str
    billable: bool
    lines: dict[str, tuple[int, float]]  # line -> (impressions, printed m²)
    paper_m2: float
    at: datetime | None = None  # when it finished; noon of `day` when None

    @property
    def tables(self) -> str:
        return "jan" if self.day.month == 1 else "feb"

    @property
    def impressions(self) -> int:
        return sum(i for i, _ in self.lines.values())

    @property
    def area(self) -> float:
        return sum(a for _, a in self.lines.values())

    def ink_m2(self, channel: str) -> float:
        return sum(area * INK[line][channel] for line, (_, area) in self.lines.items())

    def completed_at(self) -> datetime:
        if self.at is not None:
            return self.at
        return datetime.combine(self.day, datetime.min.time().replace(hour=12)).astimezone()


SHORT = {"M": "mono_lines", "C": "color_lines", "L": "low_density", "H": "high_density"}


def _s(when: str, printer: str, who: str, billable: bool, lines: str, paper: float) -> Spec:
    """when "05/1" (day/month 2026); who "user/project/department"; lines "M2:1.0 C1:0.5"
    (category letter, impressions, m² printed)."""
    day, month = (int(part) for part in when.split("/"))
    user, project, department = who.split("/")
    parsed = {}
    for item in lines.split():
        impressions, area = item[1:].split(":")
        parsed[SHORT[item[0]]] = (int(impressions), float(area))
    queue = "office" if printer == "laser" else "plotters"
    return Spec(
        date(2026, month, day), printer, queue, user, project, department, billable, parsed, paper
    )


SPECS = (
    _s("05/1", "dj1", "alice/Bridge/Design", True, "M2:1.0 C1:0.5", 2.0),
    _s("06/1", "dj1", "bob/Bridge/Design", True, "H1:1.25", 1.5),
    _s("06/1", "dj2", "alice/Tower/Design", False, "L2:0.75", 1.0),
    _s("20/1", "laser", "carol//Office", True, "M4:0.25", 0.25),
    _s("31/1", "dj2", "bob/Tower/Build", True, "C3:1.5 L1:0.25", 2.25),
    _s("01/2", "dj1", "alice/Bridge/Design", True, "M1:0.5", 0.75),
    _s("03/2", "dj2", "carol/Tower/Build", False, "H2:2.5", 3.0),
    _s("14/2", "laser", "bob//Office", False, "M6:0.5 C2:0.25", 0.75),
    _s("15/2", "dj1", "bob/Bridge/Build", True, "L1:0.5 H1:0.5", 1.25),
    _s("28/2", "laser", "alice//Office", True, "C5:1.25", 1.25),
)


def rounded(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Fee:
    lines: dict[str, Decimal]
    paper: Decimal
    service: Decimal

    @property
    def ink(self) -> Decimal:
        return sum(self.lines.values(), Decimal(0))

    @property
    def net(self) -> Decimal:
        return self.ink + self.paper + self.service

    @property
    def tax(self) -> Decimal:
        return rounded(self.net * TAX / 100)

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax

    def with_tax(self) -> dict[str, Decimal]:
        """The job's gross shared over its parts (lines, paper, service) in proportion to
        their net, in whole cents, the cents left over going to the largest remainders."""
        parts = {**self.lines, "paper": self.paper, "service": self.service}
        cents = int(self.gross / CENT)
        exact = {name: cents * value / self.net for name, value in parts.items()}
        whole = {name: int(share) for name, share in exact.items()}
        left = cents - sum(whole.values())
        for name in sorted(exact, key=lambda n: exact[n] - whole[n], reverse=True)[:left]:
            whole[name] += 1
        shared = {name: CENT * count for name, count in whole.items()}
        shared["ink"] = sum((shared[line] for line in self.lines), Decimal(0))
        return shared


def fee(spec: Spec, kind: str) -> Fee:
    """A job's cost or price by hand from the rate table of its month."""
    rates, paper, service = TABLES[(kind, spec.tables)]
    rate = dict(zip(LINES, rates, strict=True))
    lines = {
        line: rounded(Decimal(rate[line]) * Decimal(repr(area)))
        for line, (_, area) in spec.lines.items()
    }
    paper_fee = rounded(Decimal(paper) * Decimal(repr(spec.paper_m2)))
    return Fee(lines, paper_fee, rounded(Decimal(service)))


def _table(kind: str, month: str) -> RateTable:
    rates, paper, service = TABLES[(kind, month)]
    raw = {
        "lines": {line: {"area_printed": rate} for line, rate in zip(LINES, rates, strict=True)},
        "media": {"stationery": paper},
        "service": service,
    }
    return RateTable.parse(raw, "categories")


def figures(spec: Spec) -> JobFigures:
    categories = {
        line: CategoryUse(imp, area, Ink(**{c: area * INK[line][c] for c in "cmyk"}))
        for line, (imp, area) in spec.lines.items()
    }
    mono = categories.get("mono_lines", CategoryUse())
    colour = [use for line, use in categories.items() if line != "mono_lines"]
    color_use = CategoryUse(
        sum(u.impressions for u in colour),
        sum(u.area_m2 for u in colour),
        Ink(*(sum(getattr(u.ink_m2, c) for u in colour) for c in "cmyk")),
    )
    return JobFigures(
        pages=spec.impressions,
        impressions=spec.impressions,
        sheets=spec.impressions,
        color_impressions=color_use.impressions,
        mono_impressions=mono.impressions,
        area_printed_m2=spec.area,
        area_used_m2=spec.paper_m2,
        length_used_m=spec.paper_m2,
        coverage=Ink(),
        ink_m2=Ink(*(spec.ink_m2(c) for c in "cmyk")),
        categories=categories,
        by_color={"color": color_use, "mono": mono},
    )


def _row(spec: Spec, measured: JobFigures, index: int) -> JobRow:
    when = spec.completed_at()
    return JobRow(
        uuid=str(uuid.uuid4()), queue=spec.queue, name=f"job-{index}", user=spec.user,
        state=int(JobState.COMPLETED), created_at=when.astimezone(UTC), completed_at=when,
        printer=spec.printer, project=spec.project, department=spec.department,
        billable=spec.billable, document_name=f"drawing-{index}.pdf", analysis_status="done",
        measured_pages=measured.pages, measured_impressions=measured.impressions,
        measured_sheets=measured.sheets, color_impressions=measured.color_impressions,
        mono_impressions=measured.mono_impressions, area_printed_m2=measured.area_printed_m2,
        area_used_m2=measured.area_used_m2, length_used_m=measured.length_used_m,
        measurement=json.dumps(measured.as_dict(), sort_keys=True),
    )  # fmt: skip


async def load(store: Store, specs: Iterable[Spec] = SPECS) -> list[int]:
    """Insert the specs as printed jobs and charge each with its month's tables through the
    accountant's own charge (record, then roll-ups, in one transaction). Returns their ids."""
    specs = list(specs)

    def fn(session: Session) -> list[int]:
        ids = []
        for index, spec in enumerate(specs):
            measured = figures(spec)
            row = _row(spec, measured, index)
            session.add(row)
            session.flush()
            month = spec.tables
            in_force = InForce(SETTINGS, PROFILE, _table("cost", month), _table("price", month))
            job = SimpleNamespace(media_type="")
            write_charge(session, row.id, charged_fields(in_force, measured, job, spec.printer))  # type: ignore[arg-type]
            ids.append(row.id)
        return ids

    return await store.write(fn)


# --- by hand ------------------------------------------------------------------------------


@dataclass
class Sum:
    jobs: int = 0
    impressions: int = 0
    area: float = 0.0
    paper_m2: float = 0.0
    ink_ml: Decimal = Decimal(0)
    ink: Decimal = Decimal(0)
    paper: Decimal = Decimal(0)
    service: Decimal = Decimal(0)
    gross_parts: dict[str, Decimal] = field(default_factory=dict)  # ink, paper, service, lines
    net: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    gross: Decimal = Decimal(0)


def ink_ml(spec: Spec, channel: str) -> Decimal:
    """A job's ink of one channel in ml, to the thousandth as the charge records it."""
    exact = Decimal(repr(spec.ink_m2(channel))) * ML_PER_M2
    return exact.quantize(Decimal("0.001"), ROUND_HALF_UP)


def add_up(specs: Iterable[Spec], kind: str) -> Sum:
    total = Sum()
    for spec in specs:
        f = fee(spec, kind)
        total.jobs += 1
        total.impressions += spec.impressions
        total.area += spec.area
        total.paper_m2 += spec.paper_m2
        total.ink_ml += sum((ink_ml(spec, c) for c in "cmyk"), Decimal(0))
        total.ink += f.ink
        total.paper += f.paper
        total.service += f.service
        for name, value in f.with_tax().items():
            total.gross_parts[name] = total.gross_parts.get(name, Decimal(0)) + value
        total.net += f.net
        total.tax += f.tax
        total.gross += f.gross
    return total


def selected(
    first: date = FIRST,
    last: date = LAST,
    where: Callable[[Spec], bool] = lambda s: True,
) -> list[Spec]:
    return [s for s in SPECS if first <= s.day <= last and where(s)]


def money(value: Any) -> str:
    return f"{rounded(Decimal(value)):,}"
