"""Analysis off the event loop: worker processes with a memory limit, and a time limit per
document. A document that crashes, exhausts or outlasts its worker costs that worker, never the
gateway: the pool is rebuilt and the job is recorded with the reason."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import resource
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from . import AnalysisError, Page
from .document import analyze
from .figures import JobFigures, JobOptions, Thresholds, job_figures
from .ink import ConversionName, ProfileNotFound, converter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    path: Path
    mime: str | None = None
    options: JobOptions = field(default_factory=JobOptions)
    thresholds: Thresholds = field(default_factory=Thresholds)
    conversion: ConversionName = "icc"
    profile: str = ""
    dpi: float = 72.0


@dataclass(frozen=True)
class Measurement:
    """What analysis found, or why it found nothing."""

    pages: tuple[Page, ...] = ()
    figures: JobFigures | None = None
    error: str = ""


def measure(request: Request) -> Measurement:
    """Analyse one document; every failure becomes a reason, never an exception."""
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


def _limit_memory(memory_bytes: int) -> None:
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def default_workers() -> int:
    """Leave a core to the event loop."""
    return max(1, (os.cpu_count() or 2) - 1)


class Analyzer:
    def __init__(self, workers: int = 0, timeout: float = 120.0, memory_bytes: int = 1 << 30):
        self.workers = workers or default_workers()
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: workers never inherit the event loop's threads and sockets.
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_limit_memory,
                initargs=(self.memory_bytes,),
            )
        return self._pool

    async def measure(self, request: Request) -> Measurement:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor(), measure, request)
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
