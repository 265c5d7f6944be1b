"""The jobs view's event streams under load: `streams` browsers' worth of open streams on
/console/jobs/events while Print-Jobs arrive at `rate` a second for `seconds` seconds. For every
job and every stream: the time from the Print-Job's answer (the job exists) to the stream's
first event naming it. Target (issue 12): every update within 1 s, printgate's own process
under one core (CPU from /proc, its threads included; the analysis worker processes, which
measure each document and are bounded by [analysis] workers, are counted apart).

The printer is one printgate never reached, so the jobs stay spooled and retried: the load is
intake plus the jobs' state changes, as in bench/intake.py's "unreachable" mode. Used by
bench/console.py (after the pages), or alone:

    .venv/bin/python bench/console_live.py [--streams 50] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import time
from pathlib import Path
from typing import Any

import aiohttp
import benchlib as bl
import uvloop
from benchlib import peers

from gateway.identity.accounts import Accounts
from gateway.store.audit import Actor
from tests.web_client import WebClient

ADMIN, PASSWORD = "bench", "a long benchmark password"
QUEUE = "live"
JOB_ID_MARKER = b"\x21\x00\x06job-id\x00\x04"
TARGET_S = 1.0


def _make_store(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"

    async def schema() -> None:
        from gateway.store.store import Store
        from gateway.tasks import TaskKeeper

        tasks = TaskKeeper()
        store = await Store.open(url, tasks)
        try:
            await Accounts(store).add(Actor.cli(), ADMIN, PASSWORD, "admin", "bench@example.org")
        finally:
            await store.close()
            await tasks.cancel_all()

    asyncio.run(schema())
    return url


def _family_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the process itself, and of its live child processes."""
    own = bl.cpu_seconds(pid)
    children = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                children += bl.cpu_seconds(int(child))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return own, children


async def _listen(
    session: aiohttp.ClientSession, url: str, seen: dict[int, float], ready: asyncio.Event
) -> bool:
    """Read one stream until cancelled; False if the server ended it (a dropped listener)."""
    async with session.get(url) as stream:
        assert stream.status == 200, stream.status
        ready.set()
        async for raw in stream.content:
            line = raw.decode()
            if not line.startswith("data: "):
                continue
            at = time.perf_counter()
            for job in json.loads(line[6:]):
                seen.setdefault(job["id"], at)
    return False


async def _send(
    session: aiohttp.ClientSession, url: str, body: bytes, accepted: dict[int, float]
) -> None:
    async with session.post(url, data=body, headers={"Content-Type": "application/ipp"}) as reply:
        data = await reply.read()
    at = data.find(JOB_ID_MARKER)
    if reply.status == 200 and at >= 0:
        job_id = struct.unpack(">i", data[at + len(JOB_ID_MARKER) :][:4])[0]
        accepted[job_id] = time.perf_counter()


async def _load(
    gateway: peers.Printgate, args: argparse.Namespace, document: bytes
) -> dict[str, Any]:
    async with WebClient(gateway.base_url) as client:
        reply = await client.sign_in(ADMIN, PASSWORD)
        assert reply.status == 303, reply
        streams = aiohttp.ClientSession(
            cookie_jar=client.session.cookie_jar,
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        )
        seen: list[dict[int, float]] = [{} for _ in range(args.streams)]
        ready = [asyncio.Event() for _ in range(args.streams)]
        events_url = gateway.base_url + "/console/jobs/events"
        readers = [
            asyncio.ensure_future(_listen(streams, events_url, seen[i], ready[i]))
            for i in range(args.streams)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 30)
        printer_uri = gateway.queue_uri(QUEUE)
        url = f"{gateway.base_url}/ipp/print/{QUEUE}"
        accepted: dict[int, float] = {}
        total = int(args.rate * args.seconds)
        senders = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16))
        assert gateway.pid is not None
        cpu_before = _family_cpu(gateway.pid)
        started = time.perf_counter()
        sending: set[asyncio.Task[None]] = set()
        for n in range(total):
            due = started + n / args.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = bl.print_job_head(printer_uri, "application/pdf", f"live-{n}", n + 1) + document
            task = asyncio.ensure_future(_send(senders, url, body, accepted))
            sending.add(task)
            task.add_done_callback(sending.discard)
        await asyncio.gather(*sending)
        elapsed = time.perf_counter() - started
        cpu_after = _family_cpu(gateway.pid)
        for _ in range(50):  # the last events: up to 5 s more
            if all(job in s for s in seen for job in accepted):
                break
            await asyncio.sleep(0.1)
        ended = sum(1 for r in readers if r.done())
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await streams.close()
        await senders.close()
    delays = sorted(max(0.0, s[job] - at) for s in seen for job, at in accepted.items() if job in s)
    missing = sum(1 for s in seen for job in accepted if job not in s)
    return {
        "streams": args.streams,
        "jobs_sent": total,
        "jobs_accepted": len(accepted),
        "arrival_per_s": len(accepted) / elapsed,
        "updates_expected": len(accepted) * args.streams,
        "updates_missing": missing,
        "streams_ended": ended,
        "delay_p50_ms": 1000 * delays[len(delays) // 2] if delays else None,
        "delay_p99_ms": 1000 * delays[int(len(delays) * 0.99)] if delays else None,
        "delay_max_ms": 1000 * delays[-1] if delays else None,
        "printgate_cpu_cores": (cpu_after[0] - cpu_before[0]) / elapsed,
        "analysis_workers_cpu_cores": (cpu_after[1] - cpu_before[1]) / elapsed,
    }


def _phase(args: argparse.Namespace, streams: int, work: Path) -> dict[str, Any]:
    """One printgate on a fresh store, loaded with `streams` open streams."""
    url = _make_store(work / "live.db")
    config = bl.printgate_config(
        {"nowhere": f"ipp://127.0.0.1:{peers.free_port()}/ipp/print"}, {QUEUE: ["nowhere"]}
    )
    config["database"] = {"url": url}
    document = peers.make_pdf(work / "doc.pdf", pages=1).read_bytes()
    with peers.Printgate(config, work / "printgate") as gateway:
        return uvloop.run(
            _load(gateway, argparse.Namespace(**{**vars(args), "streams": streams}), document)
        )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The load with the streams open, and the same load with none (the peer: what the
    streams add to printgate's CPU)."""
    with bl.scratch_dir("printgate-bench-live-") as work:
        alone = _phase(args, 0, work / "alone")
    with bl.scratch_dir("printgate-bench-live-") as work:
        result = _phase(args, args.streams, work / "streams")
    result["no_streams_cpu_cores"] = alone["printgate_cpu_cores"]
    result["no_streams_arrival_per_s"] = alone["arrival_per_s"]
    return result


def report(result: dict[str, Any]) -> str:
    within = (
        result["updates_missing"] == 0
        and result["delay_max_ms"] is not None
        and result["delay_max_ms"] < TARGET_S * 1000
    )
    return (
        f"Live jobs view: {result['streams']} event streams open while"
        f" {result['arrival_per_s']:.0f} jobs/s arrived ({result['jobs_accepted']} jobs):"
        f" first event for a job after p50 {result['delay_p50_ms']:.0f} ms,"
        f" p99 {result['delay_p99_ms']:.0f} ms, max {result['delay_max_ms']:.0f} ms;"
        f" {result['updates_missing']} of {result['updates_expected']} updates missing,"
        f" {result['streams_ended']} streams ended; printgate {result['printgate_cpu_cores']:.2f}"
        f" cores (analysis workers {result['analysis_workers_cpu_cores']:.2f}); the same load"
        f" with no stream: {result['no_streams_cpu_cores']:.2f} cores (ratio"
        f" {result['printgate_cpu_cores'] / max(result['no_streams_cpu_cores'], 1e-9):.2f});"
        f" every update within {TARGET_S:.0f} s and under one core:"
        f" {'yes' if within and result['printgate_cpu_cores'] < 1 else 'NO'}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--streams", type=int, default=50, help="open event streams")
    parser.add_argument("--rate", type=float, default=200.0, help="Print-Jobs per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long jobs arrive")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args()
    bl.warn_if_busy()
    result = run(args)
    print(report(result))
    bl.save_result("console_live", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
