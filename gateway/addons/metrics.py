"""GET /metrics in the Prometheus text format (version 0.0.4): jobs by state, held jobs, bytes
spooled, forward latency, printers up or down, and whether the store and the directory answer.

Job counts by state come from the store (every printgate sharing it sees the same totals);
latency is measured here as jobs end; health is probed on each scrape, the directory at most
every DIRECTORY_PROBE_SECONDS (a bind is not free)."""

from __future__ import annotations

import asyncio
import bisect
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..identity.protocol import Directory
from ..ipp import JobState
from ..jobs.events import JobEnded
from ..jobs.manager import JobManager
from ..printers.state import Printer
from ..store.models import JobRow
from ..store.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
PROBE_SECONDS = 2.0
DIRECTORY_PROBE_SECONDS = 30.0


def state_name(state: JobState) -> str:
    return state.name.lower().replace("_", "-")


@dataclass
class Histogram:
    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, seconds)] += 1
        self.total += seconds

    def lines(self, name: str) -> list[str]:
        out, running = [], 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            running += count
            label = "+Inf" if bound == float("inf") else f"{bound:g}"
            out.append(f'{name}_bucket{{le="{label}"}} {running}')
        return [*out, f"{name}_sum {self.total:.6f}", f"{name}_count {running}"]


class Metrics:
    def __init__(
        self,
        store: Store,
        jobs: JobManager,
        printers: Mapping[str, Printer],
        directory: Callable[[], Directory | None],
    ):
        """`directory`: the one in force now (the console can switch it while running)."""
        self.store = store
        self.jobs = jobs
        self.printers = printers
        self.directory = directory
        self.latency = Histogram()
        self._directory_up: tuple[float, bool] = (0.0, False)

    def job_ended(self, event: JobEnded) -> None:
        """An addon of the job manager: each completed job's forward latency."""
        job = event.job
        if job.state == JobState.COMPLETED and job.processing_at and job.completed_at:
            self.latency.observe((job.completed_at - job.processing_at).total_seconds())

    async def render(self) -> str:
        by_state, store_up = await self._job_counts()
        directory_up = await self._directory_health()
        active = list(self.jobs.active.values())
        held = sum(1 for j in active if j.state == JobState.PENDING_HELD)
        spooled = sum(j.document_bytes for j in active)
        lines: list[str] = []
        _family(lines, "printgate_jobs", "gauge", "Jobs recorded in the store, by state.")
        for state in JobState:
            lines.append(f'printgate_jobs{{state="{state_name(state)}"}} {by_state.get(state, 0)}')
        _family(lines, "printgate_held_jobs", "gauge", "Jobs of this printgate waiting, held.")
        lines.append(f"printgate_held_jobs {held}")
        _family(lines, "printgate_spooled_bytes", "gauge", "Bytes of unfinished jobs in the spool.")
        lines.append(f"printgate_spooled_bytes {spooled}")
        _family(
            lines,
            "printgate_forward_latency_seconds",
            "histogram",
            "From forwarding's start to the printer's completion, per completed job.",
        )
        lines += self.latency.lines("printgate_forward_latency_seconds")
        _family(lines, "printgate_printer_up", "gauge", "1 when the printer answers IPP.")
        for name, printer in sorted(self.printers.items()):
            lines.append(f'printgate_printer_up{{printer="{_escape(name)}"}} {int(printer.up)}')
        _family(lines, "printgate_store_up", "gauge", "1 when the accounting store answers.")
        lines.append(f"printgate_store_up {int(store_up)}")
        if directory_up is not None:
            _family(lines, "printgate_directory_up", "gauge", "1 when the directory answers.")
            lines.append(f"printgate_directory_up {int(directory_up)}")
        return "\n".join(lines) + "\n"

    async def _job_counts(self) -> tuple[dict[JobState, int], bool]:
        async def fn(session: AsyncSession) -> dict[JobState, int]:
            await session.execute(text("SELECT 1"))
            rows = await session.execute(select(JobRow.state, func.count()).group_by(JobRow.state))
            return {JobState(state): int(count) for state, count in _known(rows)}

        try:
            async with asyncio.timeout(PROBE_SECONDS):
                return await self.store.read(fn), True
        except Exception:  # any failure to answer is "store down" to a monitor
            return {}, False

    async def _directory_health(self) -> bool | None:
        directory = self.directory()
        if directory is None:
            return None
        checked, up = self._directory_up
        if time.monotonic() - checked >= DIRECTORY_PROBE_SECONDS:
            up, _ = await directory.test_connection()
            self._directory_up = (time.monotonic(), up)
        return up


def _known(rows: Iterable[tuple[int, int]]) -> Iterable[tuple[int, int]]:
    values = {int(s) for s in JobState}
    return ((state, count) for state, count in rows if state in values)


def _family(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True)
class Access:
    """Who may scrape: a bearer token (read from its file at each request, so a new secret
    needs no restart) or an allowed source address."""

    token_file: str
    allow: tuple[str, ...]

    def permits(self, request: web.Request) -> bool:
        if request.remote in self.allow:
            return True
        if not self.token_file:
            return False
        try:
            token = Path(self.token_file).read_text().strip()
        except OSError:
            return False
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return bool(token) and hmac.compare_digest(offered.encode(), token.encode())


METRICS_KEY = web.AppKey("metrics", Metrics)
ACCESS_KEY = web.AppKey("metrics-access", Access)


async def handle_metrics(request: web.Request) -> web.Response:
    if not request.app[ACCESS_KEY].permits(request):
        raise web.HTTPForbidden(text="/metrics: a bearer token or an allowed address is needed")
    body = await request.app[METRICS_KEY].render()
    return web.Response(text=body, headers={"Content-Type": CONTENT_TYPE})


def setup(app: web.Application, metrics: Metrics, access: Access) -> None:
    app[METRICS_KEY] = metrics
    app[ACCESS_KEY] = access
    app.router.add_get("/metrics", handle_metrics)
