"""Job intake: small PDF Print-Jobs accepted per second, printgate vs cupsd.

Both servers only take jobs in: the cupsd queue is stopped (cupsdisable) so its jobs queue up,
and printgate's queue has a printer that is offline (an ippeveprinter printgate saw at start-up,
then stopped), so its jobs stay spooled while the dispatcher retries. Every job is spooled (and
on printgate synced to disk, in the spool's intake log, with its record committed to SQLite with
synchronous=FULL) before the response. cupsd is measured twice: as shipped (SyncOnClose No: no
fsync) and with SyncOnClose Yes, the nearest it comes to printgate's durability (it syncs its
state files, not the documents: no sync call while it takes jobs in, see README.md).
--measure-catch-up also reports how long printgate's measuring of the documents, which waits
while jobs come in, takes to catch up after each run.

The load generator is the same for all: an asyncio + aiohttp client on uvloop with 8 keep-alive
connections sending Print-Job (document-format application/pdf, a 2.5 KB reportlab PDF), each
response checked for successful-ok and a job-id. Its own ceiling is measured against a trivial
aiohttp server that reads the request and answers a fixed successful-ok.

    .venv/bin/python bench/intake.py [--jobs 2000] [--warmup 100] [--connections 8]
        [--rounds 5] [--document-format F] [--no-sync-cupsd] [--profile]
        [--printgate-printer offline|unreachable|virtual] [--measure-catch-up]

--printgate-printer unreachable: a printer printgate never reached (nothing listens on its port);
virtual: a file:// printer, so jobs are forwarded while others arrive (that measures intake +
forwarding, not intake alone). --document-format application/octet-stream makes printgate sniff
the format (and cupsd auto-type it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import sqlite3
import struct
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import benchlib as bl
import uvloop
from benchlib import peers

QUEUE = "bench"
JOB_ID_MARKER = b"\x21\x00\x06job-id\x00\x04"


# --------------------------------------------------------------------------------------------
# The load generator


async def _send_all(url: str, bodies: list[bytes], connections: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    headers = {"Content-Type": "application/ipp"}
    next_index = 0
    failures: list[str] = []
    job_ids: list[int] = []
    latencies: list[float] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < len(bodies):
            body = bodies[next_index]
            next_index += 1
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as reply:
                data = await reply.read()
            latencies.append(time.perf_counter() - started)
            if reply.status != 200 or len(data) < 8 or data[2:4] != b"\x00\x00":
                status = data[2:4].hex() if len(data) >= 4 else "?"
                failures.append(f"HTTP {reply.status} IPP 0x{status}")
                continue
            at = data.find(JOB_ID_MARKER)
            if at < 0:
                failures.append("no job-id")
                continue
            job_ids.append(struct.unpack(">i", data[at + len(JOB_ID_MARKER) :][:4])[0])

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
    latencies.sort()
    return {
        "jobs": len(bodies),
        "accepted": len(job_ids),
        "unique_job_ids": len(set(job_ids)),
        "failures": len(failures),
        "failure_examples": sorted(set(failures))[:5],
        "elapsed_s": elapsed,
        "jobs_per_s": len(job_ids) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else None,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else None,
        "client_cpu_pct": 100
        * ((after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime))
        / elapsed,
    }


def send_jobs(
    url: str,
    printer_uri: str,
    document: bytes,
    count: int,
    connections: int,
    document_format: str = "application/pdf",
) -> dict[str, Any]:
    bodies = [
        bl.print_job_head(printer_uri, document_format, f"bench-{i}", request_id=i + 1) + document
        for i in range(count)
    ]
    return uvloop.run(_send_all(url, bodies, connections))


ECHO_SERVER = r"""
import sys, uvloop
from aiohttp import web
REPLY = bytes.fromhex(sys.argv[2])
async def ipp(request):
    await request.read()
    return web.Response(body=REPLY, content_type="application/ipp")
async def health(request):
    return web.Response(text="ok")
app = web.Application()
app.router.add_post("/{tail:.*}", ipp)
app.router.add_get("/healthz", health)
uvloop.install()
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def echo_reply() -> bytes:
    from gateway.ipp import Message, Status, Tag, encode
    from gateway.ipp import model as m

    return encode(
        Message(
            (2, 0),
            Status.OK,
            1,
            (
                m.group(
                    Tag.OPERATION,
                    [
                        m.charset("attributes-charset", "utf-8"),
                        m.language("attributes-natural-language", "en"),
                    ],
                ),
                m.group(Tag.JOB, [m.integer("job-id", 1), m.enum("job-state", 3)]),
            ),
        )
    )


# --------------------------------------------------------------------------------------------
# The servers


def queued_cupsd(cupsd: peers.Cupsd) -> int:
    result = cupsd.run(["lpstat", "-o", QUEUE])
    return len([line for line in result.stdout.splitlines() if line.strip()])


def queued_printgate(gateway: peers.Printgate) -> int:
    uri = gateway.queue_uri(QUEUE)
    reply = peers.ipp_request(
        uri,
        "Get-Printer-Attributes",
        [(0x45, "printer-uri", uri), (0x44, "requested-attributes", "queued-job-count")],
    )
    return int(reply.first("queued-job-count", -1))


def measure(
    name: str,
    pid: int,
    url: str,
    printer_uri: str,
    document: bytes,
    args: argparse.Namespace,
    document_format: str | None = None,
    profile: Path | None = None,
) -> dict[str, Any]:
    document_format = document_format or args.document_format
    send_jobs(url, printer_uri, document, args.warmup, args.connections, document_format)
    cpu_before = bl.cpu_seconds(pid)
    spy = bl.PySpy(pid if profile else None, profile or Path("/dev/null"))
    with spy:
        stats = send_jobs(url, printer_uri, document, args.jobs, args.connections, document_format)
    stats["server_cpu_pct"] = 100 * (bl.cpu_seconds(pid) - cpu_before) / stats["elapsed_s"]
    stats["name"] = name
    if profile:
        stats["profile"] = spy.summary()
    if stats["failures"]:
        print(
            f"WARNING {name}: {stats['failures']} failed: {stats['failure_examples']}",
            file=sys.stderr,
        )
    return stats


def bench_cupsd(name: str, sync: bool, document: bytes, args: argparse.Namespace) -> dict[str, Any]:
    with bl.BenchCupsd(sync_on_close=sync) as cupsd:
        cupsd.add_raw_queue(QUEUE, "file:///dev/null", stopped=True)
        assert cupsd.pid is not None
        stats = measure(
            name,
            cupsd.pid,
            f"http://127.0.0.1:{cupsd.port}/printers/{QUEUE}",
            cupsd.printer_uri(QUEUE),
            document,
            args,
        )
        stats["queued_after"] = queued_cupsd(cupsd)
        return stats


def bench_printgate(
    work: Path, document: bytes, args: argparse.Namespace, profile: bool = False
) -> dict[str, Any]:
    document_format = args.document_format
    eve: peers.IppEvePrinter | None = None
    if args.printgate_printer == "virtual":
        printer_uri = (work / "virtual-out").as_uri()
    elif args.printgate_printer == "unreachable":
        printer_uri = f"ipp://127.0.0.1:{peers.free_port()}/ipp/print"
    else:
        eve = peers.IppEvePrinter("bench-offline", base_dir=work / "ippeve").start()
        printer_uri = eve.uri
    config = bl.printgate_config({"printer": printer_uri}, {QUEUE: ["printer"]})
    try:
        with peers.Printgate(config, work / "printgate") as gateway:
            if eve is not None:
                eve.close()  # printgate knows its capabilities; now it is offline
            assert gateway.pid is not None
            stats = measure(
                "printgate",
                gateway.pid,
                f"{gateway.base_url}/ipp/print/{QUEUE}",
                gateway.queue_uri(QUEUE),
                document,
                args,
                document_format,
                work / "intake.pyspy.txt" if profile else None,
            )
            stats["queued_after"] = queued_printgate(gateway)
            if args.measure_catch_up:
                stats["measured_after_s"] = measuring_catch_up(
                    work / "printgate" / "printgate.db", args.warmup + args.jobs
                )
            stats["spool_files"] = len(list((work / "printgate" / "spool").glob("*.doc")))
            stats["log_warnings"] = [
                line
                for line in gateway.log().splitlines()
                if " ERROR " in line or "Traceback" in line
            ][:5]
            return stats
    finally:
        if eve is not None:
            eve.close()


def measuring_catch_up(database: Path, jobs: int, limit: float = 300.0) -> float | None:
    """Seconds from the end of the timed run until every job is measured: measuring waits
    while jobs come in, and catches up once intake is quiet. None if it took over `limit`."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            (measured,) = db.execute(
                "SELECT count(*) FROM jobs WHERE analysis_status IN ('done', 'failed')"
            ).fetchone()
        if measured >= jobs:
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def bench_echo(work: Path, document: bytes, args: argparse.Namespace) -> dict[str, Any]:
    port = peers.free_port()
    script = work / "echo_server.py"
    script.write_text(ECHO_SERVER)
    with bl.BenchProcess(
        [bl.PYTHON, str(script), str(port), echo_reply().hex()], work / "echo.log"
    ) as echo:
        bl.wait_http_ok(f"http://127.0.0.1:{port}/healthz", proc=echo)
        uri = f"ipp://127.0.0.1:{port}/ipp/print/echo"
        return measure(
            "echo (client ceiling)",
            echo.pid,
            f"http://127.0.0.1:{port}/ipp/print/echo",
            uri,
            document,
            args,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--printgate-printer", choices=("offline", "unreachable", "virtual"), default="offline"
    )
    parser.add_argument(
        "--no-sync-cupsd", action="store_true", help="skip the cupsd SyncOnClose Yes run"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--document-format",
        default="application/pdf",
        choices=("application/pdf", "application/octet-stream"),
    )
    parser.add_argument(
        "--measure-catch-up",
        action="store_true",
        help="after each printgate run, time how long measuring takes to catch up",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="one extra printgate round under py-spy (not in the figures)",
    )
    args = parser.parse_args()
    bl.warn_if_busy()

    runs: dict[str, list[dict[str, Any]]] = {}
    profile = ""
    with bl.scratch_dir("printgate-bench-intake-") as work:
        document = peers.make_pdf(work / "doc.pdf", pages=3, color=True).read_bytes()
        for round_no in range(args.rounds):
            # Fresh servers each round: the queues start empty every time.
            round_dir = work / f"round{round_no}"
            round_dir.mkdir()
            results = [bench_echo(round_dir, document, args)]
            results.append(bench_cupsd("cupsd", False, document, args))
            if not args.no_sync_cupsd:
                results.append(bench_cupsd("cupsd SyncOnClose", True, document, args))
            results.append(bench_printgate(round_dir, document, args))
            for result in results:
                runs.setdefault(result["name"], []).append(result)
        if args.profile:
            (work / "profile").mkdir()
            profile = bench_printgate(work / "profile", document, args, profile=True)["profile"]

    # Per server, the round with the median rate.
    by_name = {
        name: sorted(rs, key=lambda r: r["jobs_per_s"])[len(rs) // 2] for name, rs in runs.items()
    }
    expected = args.warmup + args.jobs
    rows = [
        [
            r["name"],
            r["jobs_per_s"],
            ", ".join(f"{x['jobs_per_s']:,.0f}" for x in runs[n]),
            r["accepted"],
            sum(x["failures"] for x in runs[n]),
            r["p50_ms"],
            r["p99_ms"],
            r["server_cpu_pct"],
            r["client_cpu_pct"],
            r.get("queued_after", "-"),
        ]
        for n, r in by_name.items()
    ]
    print(
        f"\nPrint-Job intake: {args.jobs} jobs of {len(document):,} bytes (PDF) sent as "
        f"{args.document_format}, "
        f"{args.connections} keep-alive connections, after {args.warmup} warm-up jobs, "
        f"{args.rounds} round(s) on fresh servers (median shown); printgate printer: "
        f"{args.printgate_printer}"
    )
    print(
        bl.table(
            [
                "server",
                "jobs/s",
                "all rounds",
                "accepted",
                "failed",
                "p50 ms",
                "p99 ms",
                "server CPU %",
                "client CPU %",
                "queued after",
            ],
            rows,
        )
    )
    printgate = by_name["printgate"]
    ratios = {
        name: printgate["jobs_per_s"] / r["jobs_per_s"]
        for name, r in by_name.items()
        if name.startswith("cupsd")
    }
    for name, ratio in ratios.items():
        print(f"ratio printgate/{name}: {ratio:.2f}x")
    echo = by_name["echo (client ceiling)"]
    fastest = max(r["jobs_per_s"] for n, r in by_name.items() if n != echo["name"])
    print(
        f"load generator ceiling (trivial aiohttp server): {echo['jobs_per_s']:,.0f} req/s "
        f"= {echo['jobs_per_s'] / fastest:.1f}x the fastest server's rate"
    )
    for name, rs in runs.items():
        for r in rs:
            if r.get("queued_after") in (None, "-", expected) or name == echo["name"]:
                continue
            if name == "printgate" and args.printgate_printer == "virtual":
                print(f"printgate forwarded {expected - r['queued_after']} jobs during a run")
            else:
                print(f"NOTE {name}: {r['queued_after']} jobs queued after a run, not {expected}")
    if args.measure_catch_up:
        catch_up = [r.get("measured_after_s") for r in runs["printgate"]]
        print(
            "printgate measured every job this long after each run: "
            + ", ".join("over 300 s" if t is None else f"{t:.1f} s" for t in catch_up)
        )
    warnings = [w for r in runs["printgate"] for w in r.get("log_warnings", [])]
    if warnings:
        print("printgate log errors:\n  " + "\n  ".join(warnings[:5]))
    if profile:
        print("\nprintgate profile during an extra (untimed) round:\n" + profile)
    default = args.printgate_printer == "offline" and args.document_format == "application/pdf"
    variant = f"_{args.printgate_printer}_{args.document_format.split('/')[1]}"
    bl.save_result(
        "intake" if default else "intake" + variant,
        {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "jobs": args.jobs,
            "connections": args.connections,
            "document_bytes": len(document),
            "printgate_printer": args.printgate_printer,
            "document_format": args.document_format,
            "rounds": args.rounds,
            "servers": by_name,
            "ratios": ratios,
            "profile": profile,
            "all_rounds_jobs_per_s": {n: [r["jobs_per_s"] for r in rs] for n, rs in runs.items()},
        },
    )
    return 0 if all(not r["failures"] for rs in runs.values() for r in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
