"""Reports on a big store: printgate's summary and users report (read from the roll-ups) side by
side with a hand-written SQL aggregate over the jobs table, on the same data in one run; then a
10,000-row PDF and an XLSX of every raw row, each in a child process whose peak RSS is read.

The data: --jobs printed, charged jobs over one year (2025), made with bulk SQL (a recursive
CTE in SQLite, generate_series in PostgreSQL): 4 queues of 2 printers, --users users each in
one of 12 departments, 40 projects, one job in five not billable; each job one print category.
The roll-ups are then built from those jobs by one INSERT ... SELECT ... GROUP BY per table
(what `printgate report rebuild` computes job by job from the recorded breakdowns, in bulk).
Days are UTC days (jobs finish at noon UTC): run with TZ unset or UTC.

    .venv/bin/python bench/reports.py [--db sqlite|postgresql] [--jobs N] [--users 300]
        [--rounds 5] [--pdf-rows 10000] [--xlsx-rows N] [--keep DIR]

Targets (issue 13): SQLite, 1,000,000 jobs: a year's summary < 300 ms, the users report
< 500 ms; PostgreSQL, 10,000,000 jobs: each < 1 s; a 10,000-row PDF < 5 s within 200 MB RSS;
an XLSX of 1,000,000 raw rows in constant memory (its peak RSS against one of a tenth).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, cast

from benchlib import PYTHON, REPO_ROOT, save_result, scratch_dir, table, warn_if_busy
from sqlalchemy import Table, text

from gateway.reports.by_name import by_name
from gateway.reports.period import Period
from gateway.reports.render import ReportRequest, write_report
from gateway.reports.summary import summary
from gateway.store.models import JobRow
from gateway.store.store import Store
from gateway.tasks import TaskKeeper

YEAR = Period(date(2025, 1, 1), date(2025, 12, 31))
CATEGORIES = ("mono_lines", "color_lines", "low_density", "high_density")
JOBS = cast(Table, JobRow.__table__)
ROLLUP_KEY = ("day", "printer", "queue", "user", "project", "department", "billable")
DAY_KEY = ("day", "printer", "queue", "billable")

# Each generated job n: its columns as SQL of n (both dialects but for the time arithmetic).
JOB_VALUES = {
    "id": "n",
    "uuid": "'b-' || n",
    "queue": "'q' || (n % 4)",
    "name": "'job ' || n",
    "user": "'user' || ((n * 7) % {users})",
    "project": "'project' || ((n * 13) % 40)",
    "department": "'dept' || (((n * 7) % {users}) % 12)",
    "printer": "'p' || (n % 4) || '-' || ((n / 4) % 2)",
    "billable": "{billable}",
    "state": "9",
    "analysis_status": "'done'",
    "measured_pages": "1 + n % 5",
    "measured_impressions": "1 + n % 5",
    "measured_sheets": "1 + n % 5",
    "color_impressions": "CASE WHEN n % 4 = 0 THEN 0 ELSE 1 + n % 5 END",
    "mono_impressions": "CASE WHEN n % 4 = 0 THEN 1 + n % 5 ELSE 0 END",
    "area_printed_m2": "(1 + n % 5) * 0.25",
    "area_used_m2": "(1 + n % 5) * 0.3",
    "length_used_m": "(1 + n % 5) * 0.2",
    "document_name": "'drawing-' || n || '.pdf'",
    "currency": "'EUR'",
    # Amounts in the store's ten-thousandths: 20 % tax, price twice the cost.
    "cost": "(1 + n % 5) * 2500 * (1 + n % 4) + (1 + n % 5) * 500 + 2500",
    "cost_tax": "((1 + n % 5) * 2500 * (1 + n % 4) + (1 + n % 5) * 500 + 2500) / 5",
    "cost_gross": "((1 + n % 5) * 2500 * (1 + n % 4) + (1 + n % 5) * 500 + 2500) * 6 / 5",
    "price": "((1 + n % 5) * 2500 * (1 + n % 4) + (1 + n % 5) * 500 + 2500) * 2",
    "price_tax": "((1 + n % 5) * 2500 * (1 + n % 4) + (1 + n % 5) * 500 + 2500) * 2 / 5",
    "price_gross": "((1 + n % 5) * 2500 * (1 + n % 4) + (1 + n % 5) * 500 + 2500) * 12 / 5",
}
MOMENT = {
    "sqlite": "datetime('2025-01-01 12:00:00', '+' || ((n - 1) * 365 / {jobs}) || ' days', "
    "'+' || (n % 3600) || ' seconds')",
    "postgresql": "timestamp '2025-01-01 12:00:00' + ((n - 1) * 365 / {jobs}) * interval '1 day'"
    " + (n % 3600) * interval '1 second'",
}
SERIES = {
    "sqlite": "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {jobs})"
    " INSERT INTO jobs ({columns}) SELECT {values} FROM seq",
    # bigint: (n - 1) * 365 passes 2^31 at 10,000,000 jobs
    "postgresql": "INSERT INTO jobs ({columns}) SELECT {values}"
    " FROM generate_series(1::bigint, {jobs}) n",
}
DAY = {
    "sqlite": "CAST(strftime('%Y%m%d', completed_at) AS INTEGER)",
    "postgresql": "CAST(to_char(completed_at, 'YYYYMMDD') AS INTEGER)",
}


def _default(column: Any) -> str:
    if column.nullable:
        return "NULL"
    kind = column.type.python_type if hasattr(column.type, "python_type") else str
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = bytes
    return {str: "''", int: "0", bool: "false", float: "0", bytes: "''"}.get(kind, "''")


def job_insert(dialect: str, jobs: int, users: int) -> str:
    moment = MOMENT[dialect].format(jobs=jobs)
    billable = "n % 5 <> 0"
    values = {
        **{c.name: _default(c) for c in JOBS.columns},
        **{k: v.format(users=users, billable=billable) for k, v in JOB_VALUES.items()},
        "created_at": moment,
        "completed_at": moment,
        "costed_at": moment,
    }
    if dialect == "sqlite":
        values["billable"] = f"CASE WHEN {billable} THEN 1 ELSE 0 END"
        values["template"] = "X''"
    else:
        values["template"] = "''::bytea"
    columns = ", ".join(f'"{name}"' for name in values)
    return SERIES[dialect].format(jobs=jobs, columns=columns, values=", ".join(values.values()))


def rollup_figures() -> dict[str, str]:
    """Each roll-up figure as an aggregate over the generated jobs (category = id % 4)."""
    imp, area = "measured_impressions", "area_printed_m2"
    figures = {
        "jobs": "count(*)",
        "pages": "sum(measured_pages)",
        "impressions": f"sum({imp})",
        "sheets": "sum(measured_sheets)",
        "color_impressions": "sum(color_impressions)",
        "mono_impressions": "sum(mono_impressions)",
        "area_printed_m2": f"sum({area})",
        "area_used_m2": "sum(area_used_m2)",
        "length_used_m": "sum(length_used_m)",
        "area_color": f"sum(CASE WHEN color_impressions > 0 THEN {area} ELSE 0 END)",
        "area_mono": f"sum(CASE WHEN color_impressions = 0 THEN {area} ELSE 0 END)",
    }
    for c in "cmyk":
        figures[f"ink_m2_{c}"] = f"sum({area} * 0.05)"
        figures[f"ink_ml_{c}"] = f"sum({area} * 0.5)"
    for index, line in enumerate(CATEGORIES):
        figures[f"imp_{line}"] = f"sum(CASE WHEN id % 4 = {index} THEN {imp} ELSE 0 END)"
        figures[f"area_{line}"] = f"sum(CASE WHEN id % 4 = {index} THEN {area} ELSE 0 END)"
    for kind, factor in (("cost", 1), ("price", 2)):
        ink = f"({kind} - ({imp} * 500 + 2500) * {factor})"
        parts = {
            "ink": ink,
            "paper": f"{imp} * 500 * {factor}",
            "service": f"2500 * {factor}",
            **{
                line: f"CASE WHEN id % 4 = {index} THEN {ink} ELSE 0 END"
                for index, line in enumerate(CATEGORIES)
            },
            "color": f"CASE WHEN id % 4 <> 0 THEN {ink} ELSE 0 END",
            "mono": f"CASE WHEN id % 4 = 0 THEN {ink} ELSE 0 END",
        }
        figures[f"{kind}_net"] = f"sum({kind})"
        figures[f"{kind}_tax"] = f"sum({kind}_tax)"
        figures[f"{kind}_gross"] = f"sum({kind}_gross)"
        for part, expression in parts.items():
            figures[f"{kind}_{part}"] = f"sum({expression})"
            figures[f"{kind}_{part}_gross"] = f"sum(({expression}) * 6 / 5)"
    return figures


def rollup_insert(dialect: str, table_name: str, keys: tuple[str, ...]) -> str:
    figures = rollup_figures()
    key_sql = [DAY[dialect] if k == "day" else f'"{k}"' for k in keys]
    columns = ", ".join([*(f'"{k}"' for k in keys), *figures])
    group = ", ".join(key_sql)
    return (
        f"INSERT INTO {table_name} ({columns}) SELECT {group}, {', '.join(figures.values())} "
        f"FROM jobs GROUP BY {group}"
    )


def month_insert(dialect: str, dimension: str) -> str:
    """report_months' rows of one dimension ("" for every job together)."""
    figures = rollup_figures()
    month = f"({DAY[dialect]} / 100)"
    name = f'"{dimension}"' if dimension else "''"
    group = f"{month}, printer, queue, {name + ', ' if dimension else ''}billable"
    columns = ", ".join(["month", "printer", "queue", "dimension", "name", "billable", *figures])
    return (
        f"INSERT INTO report_months ({columns}) SELECT {month}, printer, queue, '{dimension}', "
        f"{name}, billable, {', '.join(figures.values())} FROM jobs GROUP BY {group}"
    )


async def build(store: Store, jobs: int, users: int) -> float:
    dialect = store.engine.dialect.name
    started = time.perf_counter()
    async with store.engine.begin() as connection:
        await connection.execute(text(job_insert(dialect, jobs, users)))
        for name, keys in (("report_rollups", ROLLUP_KEY), ("report_days", DAY_KEY)):
            await connection.execute(text(rollup_insert(dialect, name, keys)))
        for dimension in ("", "user", "project", "department"):
            await connection.execute(text(month_insert(dialect, dimension)))
    if dialect == "postgresql":
        async with store.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    else:
        async with store.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


PEER_SUMMARY = (
    "SELECT count(*), sum(measured_pages), sum(measured_impressions), sum(measured_sheets), "
    "sum(color_impressions), sum(mono_impressions), sum(area_printed_m2), sum(area_used_m2), "
    "sum(cost), sum(cost_tax), sum(cost_gross), sum(price), sum(price_tax), sum(price_gross) "
    "FROM jobs WHERE state = 9 AND costed_at IS NOT NULL "
    "AND completed_at >= :start AND completed_at < :end"
)
PEER_USERS = (
    'SELECT "user", count(*), sum(measured_impressions), sum(area_printed_m2), '
    "sum(area_used_m2), sum(cost), sum(cost_gross) FROM jobs WHERE state = 9 "
    "AND costed_at IS NOT NULL AND completed_at >= :start AND completed_at < :end "
    'GROUP BY "user" ORDER BY sum(cost) DESC'
)


async def timed(call: Callable[[], Awaitable[Any]], rounds: int) -> tuple[float, Any]:
    """Median wall time in ms over `rounds` after one warm-up, and the last result."""
    result = await call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


async def peer(store: Store, query: str) -> list[Any]:
    start, end = YEAR.utc_bounds()
    # SQLite keeps naive UTC text; PostgreSQL a timestamp without zone: both naive UTC.
    bounds = {"start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None)}
    async with store.engine.connect() as connection:
        return list((await connection.execute(text(query), bounds)).all())


async def queries(store: Store, rounds: int) -> dict[str, Any]:
    ours_summary, found = await timed(lambda: summary(store, YEAR), rounds)
    peer_summary, peer_rows = await timed(lambda: peer(store, PEER_SUMMARY), rounds)
    ours_users, users = await timed(lambda: by_name(store, "user", YEAR), rounds)
    peer_users, peer_user_rows = await timed(lambda: peer(store, PEER_USERS), rounds)
    (row,) = peer_rows
    peer_totals = {name: float(cost) / 10_000 for name, _, _, _, _, cost, _ in peer_user_rows}
    ours_totals = {row.name: float(row.total) for row in users.rows}
    agree = (
        found.jobs == row[0]
        and found.impressions == row[2]
        and abs(float(found.cost.net) - float(row[8]) / 10_000) < 0.01
        and users.names == len(peer_user_rows)
        and all(abs(peer_totals[name] - total) < 0.01 for name, total in ours_totals.items())
    )
    return {
        "summary_ms": ours_summary,
        "summary_peer_ms": peer_summary,
        "users_ms": ours_users,
        "users_peer_ms": peer_users,
        "figures_agree": agree,
        "jobs_counted": found.jobs,
    }


# --- the files, each in a child process (its own peak RSS) -----------------------------------


async def child(url: str, kind: str, rows: int, out: Path) -> dict[str, Any]:
    tasks = TaskKeeper()
    store = await Store.open(url, tasks)
    try:
        # The raw export of the first days of the year that hold about `rows` jobs.
        days = min(365, max(1, round(rows / await _jobs_per_day(store))))
        last = date.fromordinal(YEAR.first.toordinal() + days - 1)
        request = ReportRequest("raw", Period(YEAR.first, last))
        started = time.perf_counter()
        with out.open("wb") as file:
            await write_report(store, request, kind, file)
        seconds = time.perf_counter() - started
    finally:
        await store.close()
        await tasks.cancel_all()
    return {
        "seconds": seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "bytes": out.stat().st_size,
        "period_days": days,
    }


async def _jobs_per_day(store: Store) -> float:
    async with store.engine.connect() as connection:
        total = (await connection.execute(text("SELECT count(*) FROM jobs"))).scalar_one()
    return max(1.0, total / 365)


def run_child(url: str, kind: str, rows: int, out: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            PYTHON,
            __file__,
            "--child",
            kind,
            "--url",
            url,
            "--child-rows",
            str(rows),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {kind} child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def count_rows(kind: str, path: Path) -> int:
    if kind == "pdf":
        text_out = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        return sum(
            1 for line in text_out.splitlines() if line.strip()[:1].isdigit() and "Page" not in line
        )
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    return sum(1 for _ in book["Jobs"].iter_rows()) - 1


# --- the run -----------------------------------------------------------------------------------


async def open_store(
    dialect: str, keep: Path | None, scratch: Path
) -> tuple[Store, str, Any, bool]:
    database: Any = None
    fresh = True
    if dialect == "sqlite":
        where = keep or scratch
        where.mkdir(parents=True, exist_ok=True)
        path = where / "reports.sqlite"
        fresh = not path.exists()
        url = f"sqlite+aiosqlite:///{path}"
    else:
        from tests.pg import PostgresDatabase

        database = PostgresDatabase().create()
        url = database.url
    store = await Store.open(url, TaskKeeper())
    return store, url, database, fresh


async def main(args: argparse.Namespace) -> int:
    warn_if_busy()
    with scratch_dir("printgate-bench-reports-") as scratch:
        store, url, database, fresh = await open_store(args.db, args.keep, scratch)
        try:
            try:
                built = await build(store, args.jobs, args.users) if fresh else 0.0
                figures = await queries(store, args.rounds)
            finally:
                await store.close()
            pdf = run_child(url, "pdf", args.pdf_rows, scratch / "raw.pdf")
            pdf["rows"] = count_rows("pdf", scratch / "raw.pdf")
            tenth = max(1, args.xlsx_rows // 10)
            xlsx_small = run_child(url, "xlsx", tenth, scratch / "small.xlsx")
            xlsx = run_child(url, "xlsx", args.xlsx_rows, scratch / "raw.xlsx")
            xlsx["rows"] = count_rows("xlsx", scratch / "raw.xlsx")
            xlsx_small["rows"] = count_rows("xlsx", scratch / "small.xlsx")
        finally:
            if database is not None:
                database.drop()
    limit_ms = 1000 if args.db == "postgresql" else None
    rows = [
        ("year's summary", figures["summary_ms"], figures["summary_peer_ms"],
         figures["summary_peer_ms"] / figures["summary_ms"], limit_ms or 300),
        ("users report", figures["users_ms"], figures["users_peer_ms"],
         figures["users_peer_ms"] / figures["users_ms"], limit_ms or 500),
    ]  # fmt: skip
    print(f"{args.db}: {args.jobs:,} jobs (built in {built:.1f} s), median of {args.rounds}")
    print(table(("query", "printgate ms", "SQL on jobs ms", "speed-up", "target ms"), rows))
    print(f"figures agree with the SQL aggregate: {figures['figures_agree']}")
    print(
        table(
            ("file", "rows", "seconds", "peak RSS MiB", "MiB"),
            [
                ("raw PDF", pdf["rows"], pdf["seconds"], pdf["peak_rss_mib"], pdf["bytes"] / 2**20),
                ("raw XLSX (a tenth)", xlsx_small["rows"], xlsx_small["seconds"],
                 xlsx_small["peak_rss_mib"], xlsx_small["bytes"] / 2**20),
                ("raw XLSX", xlsx["rows"], xlsx["seconds"], xlsx["peak_rss_mib"],
                 xlsx["bytes"] / 2**20),
            ],
        )
    )  # fmt: skip
    growth = xlsx["peak_rss_mib"] / xlsx_small["peak_rss_mib"]
    print(f"XLSX peak RSS, all rows / a tenth: {growth:.2f} (1.0 = constant memory)")
    save_result(
        f"reports-{args.db}",
        {"jobs": args.jobs, **figures, "pdf": pdf, "xlsx": xlsx, "xlsx_tenth": xlsx_small},
    )
    return 0


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--jobs", type=int, help="default: 1,000,000 (SQLite), 10,000,000 (PostgreSQL)"
    )
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pdf-rows", type=int, default=10_000)
    parser.add_argument("--xlsx-rows", type=int, help="default: every job")
    parser.add_argument("--keep", type=Path, help="SQLite: keep (and reuse) the database here")
    parser.add_argument("--child", choices=("pdf", "xlsx"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--child-rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.jobs is None:
        args.jobs = 10_000_000 if args.db == "postgresql" else 1_000_000
    if args.xlsx_rows is None:
        args.xlsx_rows = args.jobs
    return args


if __name__ == "__main__":
    arguments = parse()
    if arguments.child:
        outcome = asyncio.run(
            child(arguments.url, arguments.child, arguments.child_rows, arguments.out)
        )
        print(json.dumps(outcome))
        sys.exit(0)
    sys.exit(asyncio.run(main(arguments)))
