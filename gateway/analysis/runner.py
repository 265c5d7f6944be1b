"""Analysis off the event loop: worker processes with a memory limit, and a time limit per
document. A document that crashes, exhausts or outlasts its worker costs that worker, never the
gateway: the pool is rebuilt and the job is recorded with the reason.

Workers never outlive the gateway: each watches the gateway's process (a pidfd, readable once
it has ended) and leaves the moment it is gone, killed or crashed; the fork server and
multiprocessing's resource tracker, which live as long as a worker holds their pipes, follow.

The readers (numpy, Pillow, PDFium) are imported by `measure`, in the worker, not with this
module: the gateway and `printgate analyze` start without them.
"""

from __future__ import annotations

import logging
import os
import resource
import select
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import AnalysisError, ConversionName, Page
from .figures import JobFigures, JobOptions, Thresholds, job_figures

if TYPE_CHECKING:
    import asyncio
    import concurrent.futures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    path: Path
    mime: str | None = None
    options: JobOptions = field(default_factory=JobOptions)
    thresholds: Thresholds = field(default_factory=Thresholds)
    conversion: ConversionName = "icc"
    profile: str = ""
    dpi: float = 0.0  # PDF and PostScript rendering resolution; 0: chosen per page size


@dataclass(frozen=True)
class Measurement:
    """What analysis found, or why it found nothing."""

    pages: tuple[Page, ...] = ()
    figures: JobFigures | None = None
    error: str = ""


def measure(request: Request) -> Measurement:
    """Analyse one document; every failure becomes a reason, never an exception."""
    from .document import analyze
    from .ink import ProfileNotFound, converter

    try:
        ink = converter(request.conversion, request.profile)
        pages = analyze(request.path, ink, request.mime, request.dpi)
        return Measurement(tuple(pages), job_figures(pages, request.options, request.thresholds))
    except AnalysisError as exc:
        return Measurement(error=str(exc))
    except ProfileNotFound as exc:
        return Measurement(error=str(exc))
    except MemoryError:
        return Measurement(error="the document needs more memory than analysis may use")
    except Exception as exc:  # a reader's bug must not lose the job's record
        log.exception("analysis of %s failed", request.path)
        return Measurement(error=f"analysis failed: {type(exc).__name__}: {exc}")


# Measuring is bookkeeping: taking jobs in and forwarding them come first.
WORKER_NICENESS = 10


# Without pidfds (Linux before 5.3), how often a worker looks for its gateway.
GATEWAY_POLL_SECONDS = 1.0
GATEWAY_GONE_STATUS = 70  # EX_SOFTWARE


def _worker_setup(memory_bytes: int, gateway: int = 0) -> None:
    os.nice(WORKER_NICENESS)
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    if gateway:
        watch_gateway(gateway)


def watch_gateway(pid: int) -> threading.Thread:
    """A daemon thread that ends this process as soon as process `pid` has ended. A worker's
    parent is the fork server, not the gateway, and a worker blocked reading its next task from
    a pipe the other workers also hold would wait for ever."""
    try:
        handle: int | None = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(GATEWAY_GONE_STATUS)  # gone before we looked
    except (AttributeError, OSError):
        handle = None
    watcher = threading.Thread(
        target=_exit_when_gone, args=(pid, handle), name="gateway-watch", daemon=True
    )
    watcher.start()
    return watcher


def _exit_when_gone(pid: int, handle: int | None) -> None:
    if handle is not None:
        while not select.select([handle], [], [])[0]:
            pass
    else:
        while _alive(pid):
            time.sleep(GATEWAY_POLL_SECONDS)
    # No clean-up to wait for: the task in hand was the gateway's, and it is gone.
    os._exit(GATEWAY_GONE_STATUS)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_workers() -> int:
    """Leave a core to the event loop."""
    return max(1, (os.cpu_count() or 2) - 1)


class Analyzer:
    def __init__(self, workers: int = 0, timeout: float = 120.0, memory_bytes: int = 1 << 30):
        self.workers = workers or default_workers()
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._starting: asyncio.Lock | None = None

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        import concurrent.futures
        import multiprocessing

        # forkserver: workers never inherit the event loop's threads and sockets.
        pool = concurrent.futures.ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_worker_setup,
            initargs=(self.memory_bytes, os.getpid()),
        )
        # Starting the fork server and a worker takes a second or more on a busy machine:
        # it happens here, in a thread, not on the event loop at the first job's submit.
        pool.submit(os.getpid).result()
        return pool

    async def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        import asyncio

        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._pool is None:
                self._pool = await asyncio.to_thread(self._new_pool)
            return self._pool

    async def measure(self, request: Request) -> Measurement:
        import asyncio
        from concurrent.futures.process import BrokenProcessPool

        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(await self._executor(), measure, request)
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            self._kill_workers()
            return Measurement(error=f"analysis took longer than {self.timeout:g} s")
        except BrokenProcessPool:
            self._kill_workers()
            return Measurement(error="the analysis worker died reading the document")

    def _kill_workers(self) -> None:
        """The only way to stop a document that hangs a worker is to end the worker; the other
        analyses under way then fail too, and say so."""
        self.close()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor has no public way to stop a running task before Python 3.14.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()
