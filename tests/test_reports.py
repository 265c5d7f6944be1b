"""The reports engine over a fixture of jobs with known figures (tests/test_reports_fixture.py):
every figure of the summary and of the reports by users, projects and departments equals the
hand computation, in the typed result, the JSON, the CSV, the XLSX (openpyxl) and the PDF (read
back with pdftotext); scopes narrow every one; the roll-ups are written with the charge, in its
transaction, rebuilt to the same figures, and moved when a job changes hands."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.accounting import rollups
from gateway.accounting.accountant import charged_fields
from gateway.accounting.rates import InForce
from gateway.jobs.manager import JobManager
from gateway.jobs.record import Job
from gateway.reports.by_name import ByNameOptions, by_name
from gateway.reports.jobs import name_jobs
from gateway.reports.period import Period, PeriodError, between, preset
from gateway.reports.raw import RAW_COLUMNS
from gateway.reports.render import ReportRequest, render
from gateway.reports.scope import EVERYTHING, Scope, Target
from gateway.reports.source import Parts, split
from gateway.reports.summary import summary
from gateway.store.models import Base, JobRow
from gateway.store.report_models import ReportDayRow, ReportRollupRow
from gateway.store.store import Store
from tests import test_reports_fixture as fx

WHOLE = Period(fx.FIRST, fx.LAST)
JANUARY = Period(date(2026, 1, 1), date(2026, 1, 31))
# Days at both edges, read from the per-day tables, around a whole month from report_months.
ODD = Period(date(2025, 12, 20), date(2026, 2, 14))


@pytest.fixture
async def loaded(store: Store) -> Store:
    await fx.load(store)
    return store


def _pdf_text(body: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    result = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return result.stdout


async def test_the_migration_makes_what_the_models_say(store: Store) -> None:
    tables = {"report_rollups", "report_days", "report_months"}

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection)
        changes = compare_metadata(context, Base.metadata)
        return [
            c
            for c in changes
            if (getattr(c[1], "name", "") in tables)
            or (c[0].endswith("index") and getattr(c[1], "name", "") == "ix_jobs_completed")
            or (len(c) > 2 and c[2] in tables)
            or (isinstance(c, list) and any(len(x) > 2 and x[2] in tables for x in c))
        ]

    async with store.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


# --- the summary --------------------------------------------------------------------------


SUMMARY_CASES = [
    (WHOLE, Target(), EVERYTHING, lambda s: True),
    (JANUARY, Target(), EVERYTHING, lambda s: s.day.month == 1),
    (ODD, Target(), EVERYTHING, lambda s: True),
    (
        ODD,
        Target("group", "plotters"),
        Scope(queues=frozenset({"plotters"})),
        lambda s: s.queue == "plotters",
    ),
    (WHOLE, Target("group", "plotters"), EVERYTHING, lambda s: s.queue == "plotters"),
    (WHOLE, Target("printer", "laser"), EVERYTHING, lambda s: s.printer == "laser"),
    (WHOLE, Target(), Scope(projects=frozenset({"Bridge"})), lambda s: s.project == "Bridge"),
    (
        WHOLE,
        Target(),
        Scope(queues=frozenset({"office"}), departments=frozenset({"Office"})),
        lambda s: s.queue == "office",
    ),
    (WHOLE, Target(), Scope(queues=frozenset()), lambda s: False),
]


async def test_the_summary_equals_the_hand_computation(loaded: Store) -> None:
    for period, target, scope, where in SUMMARY_CASES:
        await _check_summary(loaded, period, target, scope, where)


async def _check_summary(
    loaded: Store, period: Period, target: Target, scope: Scope, where: Any
) -> None:
    specs = fx.selected(period.first, period.last, where)
    cost, price = fx.add_up(specs, "cost"), fx.add_up(specs, "price")
    found = await summary(loaded, period, target, scope)
    assert found.jobs == cost.jobs
    assert found.impressions == found.pages == found.sheets == cost.impressions
    assert found.area_printed == pytest.approx(cost.area)
    assert found.area_used == pytest.approx(cost.paper_m2)
    assert Decimal(repr(round(found.ink_ml_total, 6))) == cost.ink_ml
    for kind, hand in (("cost", cost), ("price", price)):
        amounts = getattr(found, kind)
        assert (amounts.net, amounts.tax, amounts.gross) == (hand.net, hand.tax, hand.gross)
        assert (amounts.ink, amounts.paper, amounts.service) == (hand.ink, hand.paper, hand.service)
    for line in found.lines:
        assert found.line_impressions[line] == sum(s.lines.get(line, (0, 0))[0] for s in specs)
        assert found.line_area[line] == pytest.approx(
            sum(s.lines.get(line, (0, 0.0))[1] for s in specs)
        )
    area = sum(s.area for s in specs)
    for channel in "cmyk":
        expected = sum(s.ink_m2(channel) for s in specs) / area if area else 0.0
        assert found.coverage[channel] == pytest.approx(expected, abs=1e-5)  # m² to 6 places


async def test_a_changed_rate_table_changes_no_recorded_figure(loaded: Store) -> None:
    """January was charged under the January tables: the February tables (twice dearer for
    some lines) leave its figures alone, and so does a rebuild."""
    january = fx.selected(JANUARY.first, JANUARY.last)
    before = await summary(loaded, JANUARY)
    assert before.cost.net == fx.add_up(january, "cost").net
    assert await loaded.write(rollups.rebuild) == len(fx.SPECS)
    after = await summary(loaded, JANUARY)
    assert (after.cost, after.price) == (before.cost, before.price)


# --- reports by name ----------------------------------------------------------------------

OPTIONS = [
    ByNameOptions(billable, fees, tax)
    for billable in ("both", "billable", "non-billable")
    for fees in ("cost", "price")
    for tax in (False, True)
]


def _hand_rows(dimension: str, options: ByNameOptions, period: Period = WHOLE) -> dict[str, Any]:
    def keep(spec: fx.Spec) -> bool:
        if options.billable == "both":
            return True
        return spec.billable == (options.billable == "billable")

    specs = fx.selected(period.first, period.last, keep)
    names = sorted({getattr(s, dimension) for s in specs})
    rows = {}
    for name in names:
        mine = [s for s in specs if getattr(s, dimension) == name]
        hand = fx.add_up(mine, options.fees)
        tax = options.with_tax
        rows[name] = {
            "jobs": hand.jobs,
            "pages": hand.impressions,
            "area": hand.area,
            "paper_area": hand.paper_m2,
            "ink": hand.gross_parts["ink"] if tax else hand.ink,
            "service": hand.gross_parts["service"] if tax else hand.service,
            "paper": hand.gross_parts["paper"] if tax else hand.paper,
            "total": hand.gross if tax else hand.net,
            "lines": {
                line: (
                    sum(s.lines.get(line, (0, 0))[0] for s in mine),
                    sum(s.lines.get(line, (0, 0.0))[1] for s in mine),
                    _line_amount(mine, line, options.fees, tax),
                )
                for line in fx.LINES
            },
        }
    return rows


def _line_amount(specs: list[fx.Spec], line: str, fees: str, tax: bool) -> Decimal:
    def part(spec: fx.Spec) -> Decimal:
        fee = fx.fee(spec, fees)
        return fee.with_tax().get(line, Decimal(0)) if tax else fee.lines.get(line, Decimal(0))

    return sum((part(s) for s in specs), Decimal(0))


async def test_reports_by_name_equal_the_hand_computation(loaded: Store) -> None:
    for dimension in ("user", "project", "department"):
        for period in (WHOLE, ODD):
            await _check_by_name(loaded, dimension, period)


async def _check_by_name(loaded: Store, dimension: Any, period: Period) -> None:
    for options in OPTIONS:
        report = await by_name(loaded, dimension, period, options=options, page_size=None)
        hand = _hand_rows(dimension, options, period)
        assert [r.name for r in report.rows] == sorted(
            hand, key=lambda n: (-hand[n]["total"], n)
        ), options
        for row in report.rows:
            expected = hand[row.name]
            assert (row.jobs, row.pages) == (expected["jobs"], expected["pages"]), options
            assert row.area == pytest.approx(expected["area"])
            assert row.paper_area == pytest.approx(expected["paper_area"])
            assert (row.ink, row.service, row.paper, row.total) == (
                expected["ink"],
                expected["service"],
                expected["paper"],
                expected["total"],
            ), (options, row.name)
            for line, figures in row.lines.items():
                pages, area, amount = expected["lines"][line]
                assert figures.pages == pages
                assert figures.area == pytest.approx(area)
                assert figures.amount == amount, (options, row.name, line)
        assert report.overall.total == sum((h["total"] for h in hand.values()), Decimal(0))


async def test_the_pie_shows_the_top_names_and_others(loaded: Store) -> None:
    report = await by_name(loaded, "user", WHOLE, top=1, page_size=2)
    hand = _hand_rows("user", ByNameOptions())
    ranked = sorted(hand, key=lambda n: (-hand[n]["total"], n))
    assert [s.label for s in report.pie] == [ranked[0], "Others"]
    assert report.pie[1].value == pytest.approx(float(sum(hand[n]["total"] for n in ranked[1:])))
    assert (report.names, report.pages, len(report.rows)) == (3, 2, 2)
    second = await by_name(loaded, "user", WHOLE, page=2, page_size=2)
    assert [r.name for r in second.rows] == ranked[2:]


async def test_each_name_opens_its_jobs(loaded: Store) -> None:
    options = ByNameOptions("billable", "price", True)
    page = await name_jobs(loaded, "user", "bob", WHOLE, options=options)
    specs = [s for s in fx.SPECS if s.user == "bob" and s.billable]
    assert page.total == len(specs)
    assert sorted(j.amount for j in page.jobs) == sorted(fx.fee(s, "price").gross for s in specs)
    assert [j.completed_at for j in page.jobs] == sorted(
        (j.completed_at for j in page.jobs), reverse=True
    )


async def test_a_scope_narrows_every_report(loaded: Store) -> None:
    scope = Scope(departments=frozenset({"Build"}))
    report = await by_name(loaded, "user", WHOLE, scope=scope, page_size=None)
    build = [s for s in fx.SPECS if s.department == "Build"]
    assert {r.name for r in report.rows} == {s.user for s in build}
    assert report.overall.total == fx.add_up(build, "cost").net
    request = ReportRequest("raw", WHOLE, scope=scope)
    rows = list(csv.reader(io.StringIO((await render(loaded, request, "csv")).body.decode())))
    assert len(rows) - 1 == len(build)


# --- the roll-ups -------------------------------------------------------------------------


async def _rollup_sums(store: Store) -> list[Any]:
    def fn(session: Session) -> list[Any]:
        found = []
        for table in (ReportRollupRow, ReportDayRow):
            found.append(
                session.execute(
                    select(
                        func.count(),
                        func.sum(table.jobs),
                        func.sum(table.cost_gross),
                        func.sum(table.price_ink),
                        func.sum(table.area_printed_m2),
                    )
                ).one()
            )
        return found

    return await store.write(fn)


async def test_a_rebuild_gives_the_same_roll_ups(loaded: Store) -> None:
    before = await _rollup_sums(loaded)
    assert await loaded.write(rollups.rebuild) == len(fx.SPECS)
    assert await _rollup_sums(loaded) == before


async def test_a_job_that_changes_hands_moves_its_figures(loaded: Store) -> None:
    def first_billable_of_carol(session: Session) -> int:
        return session.scalars(
            select(JobRow.id).where(JobRow.user == "carol", JobRow.billable.is_(True))
        ).one()

    job_id = await loaded.write(first_billable_of_carol)
    billable = ByNameOptions("billable")
    before = await by_name(loaded, "project", WHOLE, options=billable, page_size=None)
    await loaded.write(
        lambda s: rollups.move_job(s, job_id, {"billable": False, "project": "Tower"})
    )
    after = await by_name(loaded, "project", WHOLE, options=billable, page_size=None)
    carol = next(s for s in fx.SPECS if s.user == "carol" and s.billable)
    moved = fx.fee(carol, "cost").net
    totals_before = {r.name: r.total for r in before.rows}
    totals_after = {r.name: r.total for r in after.rows}
    assert totals_after.get(carol.project, Decimal(0)) == totals_before[carol.project] - moved
    assert totals_after.get("Tower") == totals_before.get("Tower")  # not billable any more
    everything = await by_name(loaded, "project", WHOLE, page_size=None)
    assert sum(r.total for r in everything.rows) == fx.add_up(fx.SPECS, "cost").net
    assert await _rollup_sums(loaded) == (await _rebuilt(loaded))


async def _rebuilt(store: Store) -> list[Any]:
    await store.write(rollups.rebuild)
    return await _rollup_sums(store)


async def test_the_charge_and_its_roll_ups_share_one_transaction(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("roll-up failed")

    monkeypatch.setattr(rollups, "add_jobs", broken)
    with pytest.raises(RuntimeError, match="roll-up failed"):
        await fx.load(store, fx.SPECS[:1])

    def jobs(session: Session) -> int:
        return int(session.scalar(select(func.count()).select_from(JobRow)) or 0)

    assert await store.write(jobs) == 0  # the job's row and charge went with the roll-up


# --- the formats --------------------------------------------------------------------------


async def test_every_format_shows_the_hand_figures(loaded: Store, tmp_path: Path) -> None:
    options = ByNameOptions("both", "price", True)
    request = ReportRequest("users", WHOLE, options=options)
    hand = _hand_rows("user", options)

    data = json.loads((await render(loaded, request, "json")).body)
    by_json = {row["name"]: row for row in data["rows"]}
    for name, expected in hand.items():
        assert Decimal(by_json[name]["total"]) == expected["total"]
        assert Decimal(by_json[name]["ink"]) == expected["ink"]

    text = (await render(loaded, request, "csv")).body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Totals by user"]  # then "Print by user" after a blank line
    end = rows.index([])
    by_csv = {row[0]: row for row in rows[:end] if row and row[0] in hand}
    for name, expected in hand.items():
        assert Decimal(by_csv[name][9]) == expected["total"]  # the Total column
        assert int(by_csv[name][2]) == expected["pages"]

    book = openpyxl.load_workbook(io.BytesIO((await render(loaded, request, "xlsx")).body))
    sheet = book["Totals by user"]
    cells = {row[0]: row for row in sheet.iter_rows(values_only=True) if row[0] in hand}
    for name, expected in hand.items():
        assert isinstance(cells[name][9], int | float | Decimal)
        assert Decimal(str(cells[name][9])) == expected["total"]
        assert cells[name][2] == expected["pages"]
    total_cell = next(r for r in sheet.iter_rows() if r[0].value == "Total")[9]
    assert "EUR" in total_cell.number_format

    pdf = _pdf_text((await render(loaded, request, "pdf")).body, tmp_path)
    for name, expected in hand.items():
        line = next(
            row for row in pdf.splitlines() if re.match(rf"\s*{name}(\s+[\d,.]+){{9}}\s*$", row)
        )
        numbers = line.split()[1:]
        assert numbers[1] == f"{expected['pages']:,}"
        assert numbers[-1] == fx.money(expected["total"])
        assert numbers[-5] == fx.money(expected["ink"])


async def test_the_summary_in_every_format(loaded: Store, tmp_path: Path) -> None:
    request = ReportRequest("summary", WHOLE, options=ByNameOptions(with_tax=True))
    cost, price = fx.add_up(fx.SPECS, "cost"), fx.add_up(fx.SPECS, "price")
    data = json.loads((await render(loaded, request, "json")).body)
    assert Decimal(data["cost"]["gross"]) == cost.gross
    assert Decimal(data["price"]["net"]) == price.net
    assert data["jobs"] == len(fx.SPECS)
    text = (await render(loaded, request, "csv")).body.decode("utf-8-sig")
    rows = {r[0]: r for r in csv.reader(io.StringIO(text)) if r}
    assert Decimal(rows["Gross"][1]) == cost.gross and Decimal(rows["Gross"][2]) == price.gross
    assert int(rows["Impressions"][1]) == cost.impressions
    book = openpyxl.load_workbook(io.BytesIO((await render(loaded, request, "xlsx")).body))
    fees = {r[0]: r for r in book["Cost and price (with tax)"].iter_rows(values_only=True)}
    assert Decimal(str(fees["Tax"][1])) == cost.tax
    pdf = _pdf_text((await render(loaded, request, "pdf")).body, tmp_path)
    gross_line = next(line for line in pdf.splitlines() if line.strip().startswith("Gross"))
    assert gross_line.split()[1:] == [fx.money(cost.gross), fx.money(price.gross)]
    assert f"{fx.money(cost.area)}" in pdf and "Page 1 of" in pdf


async def test_the_raw_export_has_every_job_and_column(loaded: Store) -> None:
    request = ReportRequest("raw", WHOLE)
    text = (await render(loaded, request, "csv")).body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == RAW_COLUMNS and len(rows) == 1 + len(fx.SPECS)
    book = openpyxl.load_workbook(io.BytesIO((await render(loaded, request, "xlsx")).body))
    sheet = list(book["Jobs"].iter_rows(values_only=True))
    assert len(sheet) == 1 + len(fx.SPECS)
    gross = RAW_COLUMNS.index("cost_gross")
    assert sorted(Decimal(str(r[gross])) for r in sheet[1:]) == sorted(
        fx.fee(s, "cost").gross for s in fx.SPECS
    )
    data = json.loads((await render(loaded, request, "json")).body)
    assert len(data) == len(fx.SPECS) and set(data[0]) == set(RAW_COLUMNS)


async def test_csv_cells_never_run_as_formulas(store: Store) -> None:
    spec = fx.SPECS[0]
    await fx.load(store, [fx.Spec(**{**spec.__dict__, "user": "=HYPERLINK(1)"})])
    text = (await render(store, ReportRequest("users", WHOLE), "csv")).body.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text
    raw = (await render(store, ReportRequest("raw", WHOLE), "csv")).body.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in raw


def test_a_period_is_whole_months_and_the_days_around_them() -> None:
    assert split(ODD) == Parts((202601, 202601), ((20251220, 20251231), (20260201, 20260214)))
    assert split(Period(date(2026, 1, 6), date(2026, 2, 14))).months is None
    assert split(Period(date(2026, 1, 1), date(2026, 3, 31))) == Parts((202601, 202603), ())
    assert split(Period(date(2026, 1, 3), date(2026, 1, 9))) == Parts(None, ((20260103, 20260109),))
    assert split(Period(date(2025, 12, 31), date(2026, 2, 1))) == Parts(
        (202601, 202601), ((20251231, 20251231), (20260201, 20260201))
    )


def test_periods() -> None:
    today = date(2026, 3, 11)  # a Wednesday
    assert preset("this-week", today) == Period(date(2026, 3, 9), date(2026, 3, 15))
    assert preset("last-week", today) == Period(date(2026, 3, 2), date(2026, 3, 8))
    assert preset("last-month", today) == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert preset("this-month", today) == Period(date(2026, 3, 1), date(2026, 3, 31))
    assert preset("this-year", today) == Period(date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(PeriodError, match="ends"):
        between("2026-03-02", "2026-03-01")
    with pytest.raises(PeriodError, match="date"):
        between("yesterday", "2026-03-01")


async def test_the_accountants_charge_writes_the_job_and_its_roll_ups(store: Store) -> None:
    """record_charge, the accountant's one call: the job's record and the roll-ups together."""
    spec = fx.SPECS[1]
    measured = fx.figures(spec)

    def insert(session: Session) -> JobRow:
        row = fx._row(spec, measured, 0)
        session.add(row)
        session.flush()
        return row

    job = Job.from_row(await store.write(insert))
    in_force = InForce(fx.SETTINGS, fx.PROFILE, fx._table("cost", "jan"), fx._table("price", "jan"))
    fields = charged_fields(in_force, measured, job, spec.printer)
    await rollups.record_charge(JobManager(store), job, fields)
    assert job.cost_gross == fx.fee(spec, "cost").gross  # the job in memory too
    recorded = await store.get_job(job.id)
    assert recorded is not None and recorded.price == fx.fee(spec, "price").net
    found = await summary(store, WHOLE)
    assert (found.jobs, found.cost.gross) == (1, fx.fee(spec, "cost").gross)
