"""Each report as a Document: which charts and tables it has, in the order the guide's screens
show them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..accounting.costing import CHANNELS
from .by_name import ByNameReport, NameRow
from .charts import Chart, bars, coverage_wheel, ink_pie, pie
from .document import Column, Document, Table
from .figures import CHANNEL_TITLES, LINE_TITLES
from .reconciliation import Reconciliation
from .summary import Summary

TITLES = {
    "summary": "Summary",
    "user": "Report by users",
    "project": "Report by projects",
    "department": "Report by departments",
    "raw": "All jobs",
    "reconciliation": "Reconciliation",
}
PLURAL = {"user": "users", "project": "projects", "department": "departments"}


def subtitle(target_label: str, period_label: str) -> str:
    return f"{target_label} · {period_label}"


def summary_charts(report: Summary, with_tax: bool) -> tuple[Chart, ...]:
    unit = report.units.area
    return (
        Chart("pages", "Pages", pie("Pages", report.pages_pie())),
        Chart("area", f"Printed area ({unit})", pie(f"Printed area ({unit})", report.area_pie())),
        Chart("ink", "Ink by colour (ml)", ink_pie(report.ink_ml)),
        Chart("coverage", "Average coverage", coverage_wheel(report.coverage)),
        Chart(
            "fees",
            "Cost and price",
            bars("Cost and price", report.cost_and_price(with_tax), report.units.currency),
        ),
    )


def summary_document(report: Summary, with_tax: bool) -> Document:
    units = report.units
    area, length = units.area, units.length
    counts: list[Sequence[Any]] = [
        ("Jobs", report.jobs),
        ("Pages", report.pages),
        ("Impressions", report.impressions),
        ("Sheets", report.sheets),
        ("Colour impressions", report.color_impressions),
        ("Mono impressions", report.mono_impressions),
    ]
    totals: list[Sequence[Any]] = [
        ("Printed area", report.area_printed, area),
        ("Paper used", report.area_used, area),
        ("Paper length", report.length_used, length),
        *((f"Ink {CHANNEL_TITLES[c]}", report.ink_ml[c], "ml") for c in CHANNELS),
        ("Ink total", report.ink_ml_total, "ml"),
    ]
    coverage = [(f"Coverage {CHANNEL_TITLES[c]}", report.coverage[c]) for c in CHANNELS]
    currency = units.currency
    cost, price = report.cost, report.price

    def parts(name: str) -> tuple[Any, ...]:
        return (
            name.capitalize(),
            cost.part(name, with_tax),
            price.part(name, with_tax),
        )

    fees = [
        parts("ink"),
        parts("paper"),
        parts("service"),
        ("Net", cost.net, price.net),
        ("Tax", cost.tax, price.tax),
        ("Gross", cost.gross, price.gross),
        (
            "Total" + (" with tax" if with_tax else " without tax"),
            cost.total(with_tax),
            price.total(with_tax),
        ),
    ]
    lines = [
        (
            LINE_TITLES[line],
            report.line_impressions[line],
            report.line_area[line],
            cost.part(line, with_tax),
            price.part(line, with_tax),
        )
        for line in report.lines
    ]
    return Document(
        kind="summary",
        title=TITLES["summary"],
        subtitle=subtitle(report.target.label, report.period.label),
        made_at=report.made_at,
        currency=currency,
        charts=summary_charts(report, with_tax),
        tables=(
            Table("counts", "Totals", (Column("Figure"), Column("Count", "int")), counts),
            Table(
                "use",
                "Use",
                (Column("Figure"), Column("Value", "number"), Column("Unit")),
                totals,
            ),
            Table(
                "coverage",
                "Average coverage",
                (Column("Ink"), Column("Coverage", "percent")),
                coverage,
            ),
            Table(
                "fees",
                "Cost and price" + (" (with tax)" if with_tax else " (without tax)"),
                (Column(""), Column("Cost", "money"), Column("Price", "money")),
                fees,
            ),
            Table(
                "lines",
                "By print category" if units.basis == "categories" else "By colour",
                (
                    Column("Line"),
                    Column("Pages", "int"),
                    Column(f"Area ({area})", "number"),
                    Column("Cost", "money"),
                    Column("Price", "money"),
                ),
                lines,
            ),
        ),
    )


def by_name_charts(report: ByNameReport) -> tuple[Chart, ...]:
    title = f"By name ({report.units.currency})"
    return (Chart("names", title, pie(title, report.pie)),)


def _totals_row(row: NameRow) -> tuple[Any, ...]:
    return (
        row.name,
        row.jobs,
        row.pages,
        row.area,
        row.ink_ml,
        row.ink,
        row.service,
        row.paper_area,
        row.paper,
        row.total,
    )


def _print_row(row: NameRow, lines: Sequence[str]) -> tuple[Any, ...]:
    values: list[Any] = [row.name]
    for line in lines:
        figures = row.lines[line]
        values += [figures.pages, figures.area, figures.amount]
    return tuple(values)


def by_name_tables(report: ByNameReport) -> tuple[Table, Table]:
    area = report.units.area
    noun = report.dimension
    totals = Table(
        "by_name_totals",
        f"Totals by {noun}",
        (
            Column(noun.capitalize()),
            Column("Jobs", "int"),
            Column("Pages", "int"),
            Column(f"Area ({area})", "number"),
            Column("Ink (ml)", "number"),
            Column("Ink", "money"),
            Column("Service", "money"),
            Column(f"Paper ({area})", "number"),
            Column("Paper", "money"),
            Column("Total", "money"),
        ),
        [_totals_row(row) for row in report.rows],
        footer=_totals_row(report.overall),
    )
    lines = report.lines
    columns = [Column(noun.capitalize())]
    for _line in lines:
        columns += [
            Column("Pages", "int"),
            Column(f"Area ({area})", "number"),
            Column("Amount", "money"),
        ]
    prints = Table(
        "by_name_print",
        f"Print by {noun}",
        tuple(columns),
        [_print_row(row, lines) for row in report.rows],
        footer=_print_row(report.overall, lines),
        groups=(("", 1), *((LINE_TITLES[line], 3) for line in lines)),
    )
    return totals, prints


def by_name_document(report: ByNameReport) -> Document:
    fees = "price" if report.options.fees == "price" else "cost"
    which = {"billable": "billable jobs", "non-billable": "non-billable jobs", "both": "all jobs"}
    tax = "with tax" if report.options.with_tax else "without tax"
    return Document(
        kind=PLURAL[report.dimension],
        title=TITLES[report.dimension],
        subtitle=subtitle(report.target.label, report.period.label),
        made_at=report.made_at,
        currency=report.units.currency,
        charts=by_name_charts(report),
        tables=by_name_tables(report),
        notes=(f"By {fees}, {tax}, {which[report.options.billable]}.",),
    )


def reconciliation_document(report: Reconciliation) -> Document:
    printers = Table(
        "reconciliation",
        "Charged against the printers' counters",
        (
            Column("Printer"),
            Column("Device"),
            Column("From", "moment"),
            Column("To", "moment"),
            Column("Counter at start", "int"),
            Column("Counter at end", "int"),
            Column("Counted", "int"),
            Column("Charged jobs", "int"),
            Column("Charged", "int"),
            Column("Around printgate", "int"),
        ),
        [
            (
                p.printer,
                p.address,
                p.window_start,
                p.window_end,
                p.meter_start,
                p.meter_end,
                p.counted,
                p.charged_jobs,
                p.charged,
                p.difference,
            )
            for p in report.printers
        ],
    )
    mismatches = Table(
        "mismatches",
        "Jobs whose meter check disagreed",
        (
            Column("Job", "int"),
            Column("Printer"),
            Column("Finished", "moment"),
            Column("User"),
            Column("Document"),
            Column("Measured", "int"),
            Column("Meter", "int"),
        ),
        [
            (j.id, p.printer, j.completed_at, j.user, j.name, j.impressions, j.meter_delta)
            for p in report.printers
            for j in p.mismatches
        ],
    )
    return Document(
        kind="reconciliation",
        title=TITLES["reconciliation"],
        subtitle=subtitle(report.target.label, report.period.label),
        made_at=report.made_at,
        currency="",
        tables=(printers, mismatches),
    )
