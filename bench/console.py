"""Console pages on a big store: every console GET page's p50/p95 with 1,000,000 jobs and
1,000 users per queue in SQLite, against a plain SQL aggregate on the same file.

The store is built once per run (or kept with --keep DIR and reused): the schema by printgate's
own migrations, then rows inserted in bulk with sqlite3's executemany: 4 queues, 1,000 users
and 50 projects and departments per queue (each with its audit entry, as the CLI would have
written), 1,000,000 jobs over three years (92 % printed, measured and charged; the rest
canceled or aborted), and four printers read over SNMP every hour for those three years.
`printgate serve` runs on it as a subprocess; an administrator signs in; every GET route of
the console areas (webui.app.AREAS and the sub-applications inside them, walked like
tests/test_console_routes.py; a saved custom report and raw data export for the {id} routes)
and /release (the old release page's address) is fetched N times in turn, one request at a
time on a keep-alive connection. The peer:
`SELECT queue, count(*), sum(price_gross) FROM jobs GROUP BY queue` with sqlite3 on the
same file, N times. The target (issue 11): every page's p95 under 150 ms.

    .venv/bin/python bench/console.py [--jobs 1000000] [--users 1000] [--rounds 50]
        [--keep DIR] [--explain] [--streams 50] [--rate 200] [--seconds 10] [--quick]

--keep DIR keeps (and reuses) the built database in DIR; --explain prints SQLite's query plan
of the queries behind the slowest pages' reads (EXPLAIN QUERY PLAN of what printgate logged).
The jobs view is also timed filtered and paged (JOB_VIEWS). Then bench/console_live.py opens
--streams event streams on the jobs view while Print-Jobs arrive at --rate a second, and
reports how soon each stream shows each job and printgate's CPU (--streams 0: left out).
--quick is a smoke run on a small store (QUICK; arguments given still win): it walks every page
but its figures say nothing of the target, so they are printed and not saved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import benchlib as bl
import console_live
from aiohttp import web
from benchlib import peers

from gateway.identity.accounts import Accounts
from gateway.store.audit import Actor
from gateway.store.models import (
    AuditRow,
    DepartmentRow,
    JobRow,
    MeterReadingRow,
    ProjectRow,
    QueueUserRow,
    SnmpDeviceRow,
)
from gateway.store.report_models import ReportDesignRow
from tests.web_client import WebClient
from webui import app as webui_app
from webui.console.reports.custom import FAMILIES, Panel, body_of
from webui.security.areas import AREA_KEY

QUEUES = ("plotters", "office", "cad", "students")
PRINTER_MODEL = "HP DesignJet T1700"
ADMIN, PASSWORD = "bench", "a long benchmark password"
TARGET_P95_MS = 150.0
AGGREGATE = "SELECT queue, count(*), sum(price_gross) FROM jobs GROUP BY queue"
SCALE = 10_000  # Money's stored unit: ten-thousandths
YEARS = 3
COMPLETED, CANCELED, ABORTED = 9, 7, 8
# Path parameters: what exists in the built store. {name} is an account under permissions,
# a printer under printers, a queue elsewhere.
SAMPLES = {
    "name": QUEUES[0],
    "queue": QUEUES[0],
    "printer": "p-plotters",
    "job_id": "1",
    "token": "not-a-real-token",
    "username": ADMIN,
    "model": "*",
    "device_id": "1",
    "kind": "users",  # a queue's grid, a report by name
    "format": "csv",
    "id": "1",  # a saved design: DESIGNS sets it per route from the store
}
# Pages as people open them with a querystring: a clean-up plan, a filtered audit log.
WITH_QUERIES = ("/preferences/database/cleanup?years=2", "/audit/?action=user.add&target=cad")
# The jobs view as people filter and page it (the dates are a day a year before the run).
JOB_VIEWS = (
    "/console/jobs?queue=cad",
    "/console/jobs?user=user0042",
    "/console/jobs?state=failed",
    "/console/jobs?queue=office&user=user0007&state=done",
    "/console/jobs?user=user0042&state=canceled",
    "/console/jobs?from={day}&to={day}",
    "/console/jobs?queue=students&from={day}",
    "/console/jobs?before=500000",
    "/console/jobs?state=done&before=1000",
    "/console/jobs?after=900000",
)
# Routes whose GET never ends (event streams): timed apart, not as pages (bench/console_live).
STREAMS = ("/console/jobs/events",)
ROUTE_SAMPLES = {
    "/preferences/permissions/": {"name": ADMIN},
    "/preferences/printers/": {"name": "p-plotters"},
}
# The saved designs the {id} routes show: one custom report (the usage of every user, as a table)
# and one custom raw data export, the administrator's, by route prefix and design kind.
DESIGNS = {"/reports/custom/": "custom", "/reports/raw/": "raw"}
RAW_COLUMNS = (("user", "User"), ("project", "Project"), ("pages", "Pages"), ("price", "Price"))
# Pages that answer something else than 200 on purpose.
ANSWERS = {
    "/release": 303,  # the old public release page's address, now sent on to My printing
    "/preferences/options/logo.png": 404,  # the bench's store has no logo
}
QUICK = {"jobs": 20_000, "users": 100, "rounds": 5, "streams": 5, "rate": 20.0, "seconds": 3.0}


# --------------------------------------------------------------------------------------------
# The store


def _stamp(when: datetime) -> str:
    """A datetime as SQLAlchemy's SQLite DateTime stores it (naive UTC)."""
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _insert(
    db: sqlite3.Connection, table: Any, rows: Iterator[dict[str, Any]], batch: int = 20_000
) -> int:
    """Bulk insert; columns not in a row get their model default (or NULL)."""
    columns = [c for c in table.columns if c.name != "id"]  # the database numbers them
    defaults = {}
    for column in columns:
        default = column.default.arg if column.default is not None else None
        defaults[column.name] = default if not callable(default) else None
    names = [c.name for c in columns]
    quoted = ", ".join(f'"{n}"' for n in names)
    sql = f"INSERT INTO {table.name} ({quoted}) VALUES ({', '.join('?' * len(names))})"
    count = 0
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(tuple(row.get(n, defaults[n]) for n in names))
        if len(chunk) >= batch:
            db.executemany(sql, chunk)
            count += len(chunk)
            chunk.clear()
    if chunk:
        db.executemany(sql, chunk)
        count += len(chunk)
    return count


def _lists(users: int, start: datetime) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(table, row) of every queue's users, projects and departments."""
    for queue in QUEUES:
        for i in range(users):
            yield (
                QueueUserRow.__table__,
                {
                    "queue": queue,
                    "name": f"user{i:04d}",
                    "status": "enabled" if i % 50 else "disabled",
                    "password_hash": None,
                    "created_at": _stamp(start),
                    "first_name": f"First{i}",
                    "last_name": f"Last{i}",
                    "email": f"user{i:04d}@example.org",
                    "address": "",
                },
            )
        for kind, table in (
            ("project", ProjectRow.__table__),
            ("department", DepartmentRow.__table__),
        ):
            for i in range(50):
                yield (
                    table,
                    {
                        "queue": queue,
                        "name": f"{kind.title()}{i:02d}",
                        "status": "enabled",
                        "password_hash": None,
                        "created_at": _stamp(start),
                    },
                )


def _jobs(count: int, users: int, start: datetime, span: timedelta) -> Iterator[dict[str, Any]]:
    rng = random.Random(11)
    step = span / count
    for n in range(count):
        queue = QUEUES[n % len(QUEUES)]
        created = start + step * n
        roll = rng.random()
        state = COMPLETED if roll < 0.92 else (CANCELED if roll < 0.97 else ABORTED)
        row: dict[str, Any] = {
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "queue": queue,
            "name": f"drawing-{n}.pdf",
            "user": f"user{rng.randrange(users):04d}",
            "origin_host": f"10.0.0.{rng.randrange(1, 250)}",
            "state": state,
            "reasons": "job-completed-successfully"
            if state == COMPLETED
            else "job-canceled-by-user",
            "message": "",
            "document_format": "application/pdf",
            "document_name": f"drawing-{n}.pdf",
            "template": b"",
            "created_at": _stamp(created),
            "processing_at": _stamp(created + timedelta(seconds=2)),
            "completed_at": _stamp(created + timedelta(seconds=40)),
            "printer": f"p-{queue}",
            "project": f"Project{rng.randrange(50):02d}",
            "department": f"Department{rng.randrange(50):02d}",
            "billable": rng.random() < 0.8,
            "instance": "bench",
        }
        if state == COMPLETED:
            pages = rng.randrange(1, 21)
            color = rng.randrange(0, pages + 1)
            area = round(pages * 0.5 * rng.uniform(0.2, 1.0), 4)
            cost = rng.randrange(1_000, 200_000)  # 0.10 to 20.00 in ten-thousandths
            price = cost * 2
            row.update(
                impressions=pages,
                pages=pages,
                media_sheets=pages,
                analysis_status="done",
                measured_pages=pages,
                measured_impressions=pages,
                measured_sheets=pages,
                color_impressions=color,
                mono_impressions=pages - color,
                coverage_c=rng.uniform(0, 30),
                coverage_m=rng.uniform(0, 30),
                coverage_y=rng.uniform(0, 30),
                coverage_k=rng.uniform(0, 60),
                area_printed_m2=area,
                area_used_m2=round(area * 1.1, 4),
                length_used_m=round(area / 0.914, 4),
                measurement=json.dumps({"categories": {"line": pages}}),
                media_type="plain",
                printer_model=PRINTER_MODEL,
                currency="EUR",
                cost=cost,
                cost_tax=cost // 5,
                cost_gross=cost + cost // 5,
                price=price,
                price_tax=price // 5,
                price_gross=price + price // 5,
                cost_breakdown='{"ink": 1}',
                price_breakdown='{"ink": 1}',
                costed_at=_stamp(created + timedelta(seconds=41)),
            )
        yield row


def _devices(start: datetime, hours: int) -> Iterator[dict[str, Any]]:
    for device_id, queue in enumerate(QUEUES, start=1):
        yield {
            "address": f"10.0.1.{device_id}:161",
            "printer": f"p-{queue}",
            "origin": "config",
            "model": PRINTER_MODEL,
            "serial": f"SG{device_id:06d}",
            "sys_name": f"p-{queue}",
            "location": "building A",
            "sys_object_id": "1.3.6.1.4.1.11.2.3.9.1",
            "first_seen": _stamp(start),
            "last_read": _stamp(start + timedelta(hours=hours)),
            "last_error": "",
            "reported": True,
        }


def _readings(start: datetime, hours: int) -> Iterator[dict[str, Any]]:
    """Each device read every hour (ids 1..4 as _devices inserts them into an empty table)."""
    for device_id in range(1, len(QUEUES) + 1):
        for h in range(hours):
            yield {
                "device_id": device_id,
                "read_at": _stamp(start + timedelta(hours=h)),
                "total": 1_000 + h * 3,
                "mono": 600 + h * 2,
                "color": 400 + h,
                "unit": "impressions",
                "status": "idle",
                "errors": "",
                "supplies": '[{"name": "black", "level": 70, "max": 100}]',
            }


def _audit(rows: list[tuple[Any, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """The audit entry `printgate user|project|department add` wrote for each list entry."""
    kinds = {"queue_users": "user", "projects": "project", "departments": "department"}
    for table, row in rows:
        yield {
            "at": row["created_at"],
            "actor": "root",
            "source": "cli",
            "action": f"{kinds[table.name]}.add",
            "target": f"{row['queue']}/{row['name']}",
            "before": "",
            "after": json.dumps({"status": row["status"], "password": "(none)"}),
        }


def build_store(path: Path, jobs: int, users: int) -> dict[str, float]:
    """Migrate a fresh SQLite file with printgate's own migrations, add the administrator,
    then insert the rows in bulk. Seconds per step. No ANALYZE: printgate does not run it,
    so the planner sees what it sees in the field."""
    url = f"sqlite+aiosqlite:///{path}"
    times: dict[str, float] = {}

    async def schema() -> None:
        from gateway.store.store import Store
        from gateway.tasks import TaskKeeper

        tasks = TaskKeeper()
        store = await Store.open(url, tasks)  # migrates
        try:
            await Accounts(store).add(Actor.cli(), ADMIN, PASSWORD, "admin", "bench@example.org")
        finally:
            await store.close()
            await tasks.cancel_all()

    started = time.perf_counter()
    asyncio.run(schema())
    times["migrate + admin"] = time.perf_counter() - started
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=365 * YEARS)
    hours = 24 * 365 * YEARS
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    with db:
        started = time.perf_counter()
        listed = list(_lists(users, start))
        for table in (QueueUserRow.__table__, ProjectRow.__table__, DepartmentRow.__table__):
            _insert(db, table, (row for t, row in listed if t is table))
        _insert(db, AuditRow.__table__, _audit(listed))
        times["lists + audit"] = time.perf_counter() - started
    with db:
        started = time.perf_counter()
        _insert(db, JobRow.__table__, _jobs(jobs, users, start, now - start - timedelta(hours=1)))
        times["jobs"] = time.perf_counter() - started
    with db:
        started = time.perf_counter()
        _insert(db, SnmpDeviceRow.__table__, _devices(start, hours))
        _insert(db, MeterReadingRow.__table__, _readings(start, hours))
        times["fleet"] = time.perf_counter() - started
    db.close()
    return times


def add_designs(path: Path) -> dict[str, dict[str, str]]:
    """The administrator's saved custom report and raw data (added once, a kept store may be
    older than them), as the samples of the routes that show them."""
    bodies = {
        "custom": body_of("users", [], [Panel("table", "usage", FAMILIES["usage"])]),
        "raw": {"columns": [list(pair) for pair in RAW_COLUMNS]},
    }
    db = sqlite3.connect(path)
    try:
        with db:
            for kind, body in bodies.items():
                found = db.execute(
                    "SELECT id FROM report_designs WHERE owner = ? AND kind = ?", (ADMIN, kind)
                ).fetchone()
                if found is None:
                    row = {
                        "owner": ADMIN,
                        "kind": kind,
                        "name": f"bench {kind}",
                        "body": json.dumps(body, sort_keys=True),
                        "saved_at": _stamp(datetime.now(UTC)),
                    }
                    _insert(db, ReportDesignRow.__table__, iter([row]))
        ids = dict(db.execute("SELECT kind, id FROM report_designs WHERE owner = ?", (ADMIN,)))
    finally:
        db.close()
    return {prefix: {"id": str(ids[kind])} for prefix, kind in DESIGNS.items()}


# --------------------------------------------------------------------------------------------
# The pages


def get_patterns(app: web.Application) -> Iterator[str]:
    """The path patterns of an application's GET routes, its sub-applications' included (their
    patterns carry their prefix already)."""
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            yield from get_patterns(resource._app)
        elif any(route.method == "GET" for route in resource):
            yield resource.canonical


def console_routes(route_samples: dict[str, dict[str, str]]) -> list[str]:
    """Every GET route of the console areas (each area's sub-application, as webui.app mounts
    it, and the sub-applications inside it) filled with samples (and `route_samples` by route
    prefix), and the old release page's address."""
    paths = ["/release"]
    for prefix, make in webui_app.AREAS.items():
        sub = make()
        assert AREA_KEY in sub, prefix
        for pattern in (prefix + canonical for canonical in get_patterns(sub)):
            if pattern in STREAMS:
                continue
            chosen = dict(SAMPLES)
            for start, override in {**ROUTE_SAMPLES, **route_samples}.items():
                if pattern.startswith(start):
                    chosen.update(override)

            def sample(
                match: re.Match[str], chosen: dict[str, str] = chosen, pattern: str = pattern
            ) -> str:
                name = match.group(1).split(":")[0]
                assert name in chosen, f"{pattern}: add a sample value for {{{name}}} to SAMPLES"
                return quote(chosen[name], safe="")

            paths.append(re.sub(r"\{([^}]+)\}", sample, pattern))
    day = (datetime.now(UTC) - timedelta(days=365)).strftime("%Y-%m-%d")
    views = [view.format(day=day) for view in JOB_VIEWS]
    return paths + [path for path in WITH_QUERIES + tuple(views) if path.split("?")[0] in paths]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def time_pages(base_url: str, paths: list[str], rounds: int) -> dict[str, dict[str, Any]]:
    """Each page `rounds` times after two warm-up fetches, one request at a time."""
    results: dict[str, dict[str, Any]] = {}
    async with WebClient(base_url) as client:
        reply = await client.sign_in(ADMIN, PASSWORD)
        assert reply.status == 303 and "/signin" not in reply.location, reply
        for path in paths:
            times: list[float] = []
            status, size, kind = 0, 0, ""
            for n in range(rounds + 2):
                started = time.perf_counter()
                async with client.session.get(base_url + path, allow_redirects=False) as response:
                    body = await response.read()
                elapsed = time.perf_counter() - started
                status, size = response.status, len(body)
                kind = response.headers.get("Content-Type", "").split(";")[0]
                if n >= 2:
                    times.append(elapsed * 1000)
            results[path] = {
                "status": status,
                "bytes": size,
                "type": kind,
                "p50_ms": percentile(times, 0.5),
                "p95_ms": percentile(times, 0.95),
                "max_ms": max(times),
            }
    return results


def time_aggregate(path: Path, rounds: int) -> dict[str, float]:
    db = sqlite3.connect(path)
    try:
        times = []
        for _ in range(rounds + 2):
            started = time.perf_counter()
            db.execute(AGGREGATE).fetchall()
            times.append((time.perf_counter() - started) * 1000)
        times = times[2:]
    finally:
        db.close()
    return {"p50_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95)}


# SQL logging in the printgate process, for --explain: the engine's statements and parameters.
SQL_LOGGING = """
import logging, sys
logging.basicConfig(level=logging.WARNING)
logging.getLogger("sqlalchemy.engine.Engine").setLevel(logging.INFO)
from gateway.__main__ import main
sys.exit(main())
"""


def explain(db_path: Path, log: str) -> list[str]:
    """EXPLAIN QUERY PLAN of each SELECT in a slice of printgate's SQL log."""
    import ast

    lines = log.splitlines()
    out = []
    db = sqlite3.connect(db_path)
    try:
        for i, line in enumerate(lines):
            at = line.find("SELECT ")
            if at < 0 or "sqlalchemy" not in line:
                continue
            sql = [line[at:]]
            j = i + 1
            while j < len(lines) and "sqlalchemy" not in lines[j]:
                sql.append(lines[j])
                j += 1
            params: Any = ()
            if j < len(lines):
                found = re.search(r"\] (\(.*\)|\{.*\})$", lines[j])
                if found:
                    try:
                        params = ast.literal_eval(found.group(1))
                    except (ValueError, SyntaxError):
                        params = ()
            statement = " ".join(s.strip() for s in sql)
            try:
                plan = db.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
                shown = "; ".join(row[-1] for row in plan)
            except sqlite3.Error as exc:
                shown = f"(not explained: {exc})"
            out.append(f"  {statement[:300]}\n    -> {shown}")
    finally:
        db.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1_000, help="per queue")
    parser.add_argument("--rounds", type=int, default=50, help="fetches of each page")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the database in this folder")
    parser.add_argument("--explain", action="store_true", help="query plans of the slow pages")
    console_live.add_arguments(parser)  # --streams 0 leaves the live view's load out
    parser.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    args = parser.parse_args()
    if args.quick:
        parser.set_defaults(**QUICK)
        args = parser.parse_args()  # what the command line gives still wins
    bl.warn_if_busy()

    with bl.scratch_dir("printgate-bench-console-") as work:
        folder = args.keep or work
        folder.mkdir(parents=True, exist_ok=True)
        db_path = folder / "console.db"
        build: dict[str, float] = {}
        if not db_path.exists():
            build = build_store(db_path, args.jobs, args.users)
            print("built the store: " + ", ".join(f"{k} {v:.1f} s" for k, v in build.items()))
        designs = add_designs(db_path)
        size_mib = db_path.stat().st_size / 2**20
        config = {
            "database": {"url": f"sqlite+aiosqlite:///{db_path}"},
            "printers": [{"name": f"p-{q}", "uri": (work / "out").as_uri()} for q in QUEUES],
            "queues": [{"name": q, "printers": [f"p-{q}"]} for q in QUEUES],
        }
        command = [bl.PYTHON, "-c", SQL_LOGGING] if args.explain else None
        with peers.Printgate(config, work / "printgate", command=command) as gateway:
            paths = console_routes(designs)
            pages = asyncio.run(time_pages(gateway.base_url, paths, args.rounds))
            aggregate = time_aggregate(db_path, args.rounds)
            plans: dict[str, list[str]] = {}
            if args.explain:
                for path, page in pages.items():
                    if page["p95_ms"] < TARGET_P95_MS:
                        continue
                    before = len(gateway.log())
                    asyncio.run(time_pages(gateway.base_url, [path], 0))
                    plans[path] = explain(db_path, gateway.log()[before:])

    print(
        f"\nConsole pages on SQLite ({size_mib:,.0f} MiB): {args.jobs:,} jobs, {len(QUEUES)}"
        f" queues, {args.users:,} users per queue; {args.rounds} fetches per page after 2"
        f" warm-ups, one at a time"
    )
    rows = [
        [
            path,
            page["status"],
            page["type"],
            page["bytes"],
            page["p50_ms"],
            page["p95_ms"],
            page["p95_ms"] / aggregate["p95_ms"],
            "yes" if page["p95_ms"] < TARGET_P95_MS else "NO",
        ]
        for path, page in pages.items()
    ]
    print(
        bl.table(
            ["page", "status", "type", "bytes", "p50 ms", "p95 ms", "p95 / aggregate", "< 150 ms"],
            rows,
        )
    )
    print(
        f"peer: plain SQL aggregate ({AGGREGATE}) p50 {aggregate['p50_ms']:.1f} ms,"
        f" p95 {aggregate['p95_ms']:.1f} ms"
    )
    slow = [path for path, page in pages.items() if page["p95_ms"] >= TARGET_P95_MS]
    print(f"pages over {TARGET_P95_MS:.0f} ms at p95: {slow or 'none'}")
    for path, plan in plans.items():
        print(f"\n{path}:\n" + "\n".join(plan))
    live = console_live.run(args) if args.streams else None
    if live is not None:
        print("\n" + console_live.report(live))
    if not args.quick:  # a smoke run's figures must not replace the real ones
        bl.save_result(
            "console",
            {
                "command": " ".join([Path(sys.executable).name, *sys.argv]),
                "jobs": args.jobs,
                "users_per_queue": args.users,
                "rounds": args.rounds,
                "database_mib": size_mib,
                "build_seconds": build,
                "pages": pages,
                "aggregate": aggregate,
                "over_target": slow,
                "live": live,
            },
        )
    bad = [path for path, page in pages.items() if page["status"] != ANSWERS.get(path, 200)]
    if bad:
        print(f"WARNING: pages that did not answer as expected: {bad}", file=sys.stderr)
    # A smoke run fails on a page that answers wrong, not on a target it cannot judge.
    return 0 if not bad and (args.quick or not slow) else 1


if __name__ == "__main__":
    sys.exit(main())
