"""Render report X for period P as format F: what the console's pages, mails and schedules and
the CLI all call. `render` returns the file's bytes; `write_report` writes it to a file object
(raw exports stream through it in constant memory)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Literal, get_args

from openpyxl import Workbook

from ..store.store import Store
from .by_name import DIMENSIONS, ByNameOptions, ByNameReport, by_name
from .document import Column, Document, Kind, Table
from .documents import TITLES, by_name_document, reconciliation_document, subtitle, summary_document
from .export import csv_stream, csv_text, json_text, plain
from .pdf import pdf_bytes
from .period import Period
from .raw import RAW_COLUMNS, raw_rows
from .reconciliation import Reconciliation, reconciliation
from .scope import ALL_PRINTERS, EVERYTHING, Scope, Target
from .summary import Summary, summary
from .xlsx import SheetWriter, write_xlsx

ReportKind = Literal["summary", "users", "projects", "departments", "raw", "reconciliation"]
Format = Literal["pdf", "xlsx", "csv", "json"]
REPORT_KINDS: tuple[str, ...] = get_args(ReportKind)
FORMATS: tuple[str, ...] = get_args(Format)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
# The raw export's PDF shows these columns (all 65 do not fit a page); CSV, XLSX and JSON all.
RAW_PDF_COLUMNS: tuple[tuple[str, str, Kind], ...] = (
    ("id", "Job", "int"), ("completed_at", "Finished", "moment"), ("user", "User", "text"),
    ("project", "Project", "text"), ("department", "Department", "text"),
    ("billable", "Billable", "bool"), ("queue", "Queue", "text"), ("printer", "Printer", "text"),
    ("document_name", "Document", "text"), ("measured_impressions", "Pages", "int"),
    ("area_printed_m2", "Area (m²)", "number"), ("cost", "Cost", "money"),
    ("price", "Price", "money"),
)  # fmt: skip
RAW_KINDS: dict[str, Kind] = {
    "completed_at": "moment", "created_at": "moment", "processing_at": "moment",
    "released_at": "moment", "costed_at": "moment", "billable": "bool", "meter_mismatch": "bool",
    "cost": "money", "cost_tax": "money", "cost_gross": "money",
    "price": "money", "price_tax": "money", "price_gross": "money",
}  # fmt: skip
XLSX_CHUNK = 2000


class ReportError(ValueError):
    """A request that cannot be rendered: an unknown report or format."""


@dataclass(frozen=True)
class ReportRequest:
    kind: ReportKind
    period: Period
    target: Target = ALL_PRINTERS
    scope: Scope = EVERYTHING
    # By-name reports: billable / non-billable / both, cost or price, with tax; the summary
    # takes `with_tax` from here too ("include taxes").
    options: ByNameOptions = field(default_factory=ByNameOptions)
    names: frozenset[str] | None = None  # by-name reports: only these names

    def __post_init__(self) -> None:
        if self.kind not in REPORT_KINDS:
            raise ReportError(f"unknown report {self.kind!r} (one of {', '.join(REPORT_KINDS)})")

    @property
    def filename_stem(self) -> str:
        period = self.period.first.isoformat()
        if self.period.last != self.period.first:
            period += "_" + self.period.last.isoformat()
        target = "" if self.target.kind == "all" else "-" + _safe(self.target.name)
        return f"printgate-{self.kind}{target}-{period}"


@dataclass(frozen=True)
class Rendered:
    filename: str
    content_type: str
    body: bytes


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60]


def check_format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise ReportError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    return fmt  # type: ignore[return-value]


async def figures(store: Store, request: ReportRequest) -> Summary | ByNameReport | Reconciliation:
    """The report's typed figures (everything but raw): what a page renders."""
    if request.kind == "summary":
        return await summary(store, request.period, request.target, request.scope)
    if request.kind == "reconciliation":
        return await reconciliation(store, request.period, request.target, request.scope)
    if request.kind == "raw":
        raise ReportError("the raw export has no figures: stream it with raw_rows")
    return await by_name(
        store,
        DIMENSIONS[request.kind],
        request.period,
        request.target,
        request.options,
        request.scope,
        page_size=None,
        names=request.names,
    )


def document_of(report: Summary | ByNameReport | Reconciliation, with_tax: bool) -> Document:
    if isinstance(report, Summary):
        return summary_document(report, with_tax)
    if isinstance(report, ByNameReport):
        return by_name_document(report)
    return reconciliation_document(report)


async def render(
    store: Store, request: ReportRequest, fmt: str, logo: bytes | None = None
) -> Rendered:
    """The report as one file's bytes (`logo`: a PNG for the PDF's header)."""
    out = io.BytesIO()
    await write_report(store, request, fmt, out, logo)
    return Rendered(f"{request.filename_stem}.{fmt}", CONTENT_TYPES[fmt], out.getvalue())


async def render_many(
    store: Store, request: ReportRequest, formats: Sequence[str], logo: bytes | None = None
) -> list[Rendered]:
    """The same report in several formats (a mail's PDF and Excel), its figures read once."""
    checked = [check_format(f) for f in formats]
    if request.kind == "raw":
        return [await render(store, request, fmt, logo) for fmt in checked]
    report = await figures(store, request)
    document = document_of(report, request.options.with_tax)
    result = []
    for fmt in checked:
        out = io.BytesIO()
        await asyncio.to_thread(_write_document, report, document, fmt, out, logo)
        result.append(
            Rendered(f"{request.filename_stem}.{fmt}", CONTENT_TYPES[fmt], out.getvalue())
        )
    return result


async def write_report(
    store: Store, request: ReportRequest, fmt: str, out: IO[bytes], logo: bytes | None = None
) -> None:
    """Write the report to `out`. Layout and compression run in a worker thread: a big report
    does not hold up the event loop (and the jobs printing through it)."""
    checked = check_format(fmt)
    if request.kind == "raw":
        await _write_raw(store, request, checked, out, logo)
        return
    report = await figures(store, request)
    document = document_of(report, request.options.with_tax)
    await asyncio.to_thread(_write_document, report, document, checked, out, logo)


def _write_document(
    report: Any, document: Document, fmt: Format, out: IO[bytes], logo: bytes | None
) -> None:
    if fmt == "pdf":
        out.write(pdf_bytes(document, logo))
    elif fmt == "xlsx":
        write_xlsx(document, out)
    elif fmt == "csv":
        out.write(csv_text(document).encode())
    else:
        out.write(json_text(report).encode())


async def _write_raw(
    store: Store, request: ReportRequest, fmt: Format, out: IO[bytes], logo: bytes | None
) -> None:
    rows = raw_rows(store, request.period, request.target, request.scope)
    if fmt == "csv":
        async for chunk in csv_stream(RAW_COLUMNS, rows):
            out.write(chunk)
    elif fmt == "json":
        await _raw_json(rows, out)
    elif fmt == "xlsx":
        await _raw_xlsx(rows, out)
    else:
        await _raw_pdf(rows, out, request, logo)


async def _raw_json(rows: Any, out: IO[bytes]) -> None:
    out.write(b"[")
    first = True
    async for row in rows:
        record = {name: plain(value) for name, value in zip(RAW_COLUMNS, row, strict=True)}
        out.write((b"" if first else b",\n") + json.dumps(record, ensure_ascii=False).encode())
        first = False
    out.write(b"]\n")


async def _raw_xlsx(rows: Any, out: IO[bytes]) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Jobs")
    # Amounts without a currency in their format: each row's own currency column says it.
    writer = SheetWriter(sheet, [RAW_KINDS.get(name, "text") for name in RAW_COLUMNS], "")
    writer.header(RAW_COLUMNS)
    chunk: list[Any] = []
    async for row in rows:
        chunk.append([None if isinstance(v, bytes) else v for v in row])
        if len(chunk) >= XLSX_CHUNK:
            await asyncio.to_thread(_append, writer, chunk)
            chunk = []
    await asyncio.to_thread(_append, writer, chunk)
    await asyncio.to_thread(book.save, out)


def _append(writer: SheetWriter, rows: list[Any]) -> None:
    for row in rows:
        writer.row(row)


async def _raw_pdf(rows: Any, out: IO[bytes], request: ReportRequest, logo: bytes | None) -> None:
    index = {name: i for i, name in enumerate(RAW_COLUMNS)}
    picked = [index[name] for name, _title, _kind in RAW_PDF_COLUMNS]
    body = [[row[i] for i in picked] async for row in rows]
    document = Document(
        kind="raw",
        title=TITLES["raw"],
        subtitle=subtitle(request.target.label, request.period.label),
        made_at=datetime.now(UTC),
        currency="",
        tables=(
            Table("raw", "Jobs", tuple(Column(t, kind) for _, t, kind in RAW_PDF_COLUMNS), body),
        ),
    )
    await asyncio.to_thread(lambda: out.write(pdf_bytes(document, logo)))
