"""Each job's measurement and charge. A job's document is measured once it is complete, side by
side with its printing (analysis never holds up forwarding); once the job has printed and been
measured, its cost and price are computed from the tables in force then and kept on its record.
The spool file goes when both the printer and the analysis are done with it.

Measuring is bookkeeping and must not slow intake down: complete documents wait in a queue while
jobs are arriving, and are measured in batches (one rate lookup and one store write a batch)
once intake is quiet. Under a steady stream of jobs a document waits a few seconds at most, then
small batches go now and then, so the queue never stalls.

An addon of the job manager: it hears of a spooled document (document_spooled) and of a job's end
(job_ended), and tells of each measurement (JobMeasured)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..analysis.figures import JobFigures, Thresholds, page_figures
from ..analysis.job_options import job_options
from ..analysis.runner import Analyzer, Measurement, Request
from ..config import AnalysisConfig
from ..ipp import JobState
from ..ipp.supported import decode_template
from ..jobs.events import DocumentSpooled, JobAccepted, JobEnded, JobMeasured
from ..jobs.manager import JobManager
from ..jobs.record import Job
from ..jobs.spool import Spool
from ..jobs.state import AnalysisStatus
from ..store.store import StoreUnavailable
from ..tasks import TaskKeeper
from .costing import RateError, charge
from .rates import InForce, Rates
from .rollups import record_charge

log = logging.getLogger(__name__)

# Intake counts as busy this long after the last job came in.
INTAKE_QUIET_SECONDS = 0.25
# While intake is busy, a document waits at most this long; then one batch of one document
# per analysis worker goes at most this often.
BUSY_MAX_WAIT = 5.0
BUSY_BATCH_INTERVAL = 1.0
# Once intake is quiet, a batch holds this many documents per analysis worker.
QUIET_BATCH_PER_WORKER = 4


def measured_fields(measurement: Measurement, thresholds: Thresholds) -> dict[str, Any]:
    """The job record's columns for what analysis found, or why it found nothing. The
    measurement column also keeps each page's figures, for the job's page and `jobs --json`."""
    figures = measurement.figures
    if figures is None:
        return {
            "analysis_status": AnalysisStatus.FAILED,
            "analysis_error": measurement.error or "unknown",
        }
    return {
        "analysis_status": AnalysisStatus.DONE,
        "analysis_error": "",
        "measured_pages": figures.pages,
        "measured_impressions": figures.impressions,
        "measured_sheets": figures.sheets,
        "color_impressions": figures.color_impressions,
        "mono_impressions": figures.mono_impressions,
        "coverage_c": figures.coverage.c,
        "coverage_m": figures.coverage.m,
        "coverage_y": figures.coverage.y,
        "coverage_k": figures.coverage.k,
        "area_printed_m2": figures.area_printed_m2,
        "area_used_m2": figures.area_used_m2,
        "length_used_m": figures.length_used_m,
        "measurement": json.dumps(
            {**figures.as_dict(), **page_figures(measurement.pages, thresholds)}, sort_keys=True
        ),
    }


def charged_fields(in_force: InForce, figures: JobFigures, job: Job, model: str) -> dict[str, Any]:
    """The job record's columns for its cost and price under the tables in force."""
    fields: dict[str, Any] = {
        "printer_model": model,
        "currency": in_force.settings.currency,
        "costed_at": datetime.now(UTC),
    }
    for kind, table in (("cost", in_force.cost), ("price", in_force.price)):
        if table is None:
            continue
        amounts = charge(figures, table, in_force.settings, in_force.profile, job.media_type)
        fields[kind] = amounts.net
        fields[f"{kind}_tax"] = amounts.tax
        fields[f"{kind}_gross"] = amounts.gross
        fields[f"{kind}_breakdown"] = json.dumps(amounts.breakdown, sort_keys=True)
    return fields


class Accountant:
    def __init__(
        self,
        jobs: JobManager,
        spool: Spool,
        analyzer: Analyzer,
        rates: Rates,
        tasks: TaskKeeper,
        config: AnalysisConfig,
        model_of: Callable[[str], str],
        queue_model: Callable[[str], str],
    ):
        self.jobs = jobs
        self.spool = spool
        self.analyzer = analyzer
        self.rates = rates
        self.tasks = tasks
        self.config = config
        self.model_of = model_of  # printer name -> printer-make-and-model
        self.queue_model = queue_model  # queue name -> the model its first printer is
        self.thresholds = Thresholds(config.lines_max_coverage, config.low_density_max_coverage)
        self._measuring: set[int] = set()  # waiting in the queue or being measured
        self._ended: set[int] = set()
        self._waiting: deque[tuple[Job, float]] = deque()  # and the loop time it came
        self._measurer: asyncio.Task[None] | None = None
        self._last_intake = 0.0  # loop time of the last job taken in
        self._last_batch = 0.0

    def job_accepted(self, event: JobAccepted) -> None:
        self._last_intake = asyncio.get_running_loop().time()

    def document_spooled(self, event: DocumentSpooled) -> None:
        self._last_intake = asyncio.get_running_loop().time()
        self.document_complete(event.job)

    def document_complete(self, job: Job) -> None:
        """Measure the job's document, in the background."""
        if job.id in self._measuring or job.analysis_status or not job.document_path:
            return
        self._measuring.add(job.id)
        self._waiting.append((job, asyncio.get_running_loop().time()))
        if self._measurer is None or self._measurer.done():
            self._measurer = self.tasks.spawn(self._measure_waiting(), name="analysis")

    def resume(self, jobs: list[Job]) -> None:
        """After a restart: measure the unfinished jobs whose measurement was cut short, and
        charge the printed ones whose charge was."""
        for job in jobs:
            if "job-incoming" not in job.reasons:
                self.document_complete(job)
        self.tasks.spawn(self._charge_uncharged(), name="charge-after-restart")

    async def _charge_uncharged(self) -> None:
        try:
            rows = await self.jobs.store.uncharged_jobs(self.jobs.instance, JobState.COMPLETED)
        except StoreUnavailable:
            return  # they stay uncharged until the next start; nothing is lost
        for row in rows:
            job = Job.from_row(row)
            try:
                await self._charge(job)
            except Exception:
                log.exception("job %d: its cost and price could not be recorded", job.id)

    async def job_ended(self, event: JobEnded) -> None:
        """The job printed, was canceled or aborted: charge it once it is measured."""
        job = event.job
        self._ended.add(job.id)
        if job.id not in self._measuring:
            await self._settle(job)

    async def _measure_waiting(self) -> None:
        """Measure the queued documents, a batch at a time, giving way to intake."""
        loop = asyncio.get_running_loop()
        while self._waiting:
            quiet_at = self._last_intake + INTAKE_QUIET_SECONDS
            overdue_at = max(
                self._waiting[0][1] + BUSY_MAX_WAIT, self._last_batch + BUSY_BATCH_INTERVAL
            )
            if loop.time() < min(quiet_at, overdue_at):
                await asyncio.sleep(min(quiet_at, overdue_at) - loop.time())
                continue
            busy = loop.time() < quiet_at
            size = self.analyzer.workers * (1 if busy else QUIET_BATCH_PER_WORKER)
            count = min(size, len(self._waiting))
            batch = [self._waiting.popleft()[0] for _ in range(count)]
            self._last_batch = loop.time()
            await self._measure_batch(batch)

    async def _measure_batch(self, jobs: list[Job]) -> None:
        rates: dict[str, InForce | None] = {}  # one lookup a model for the batch
        measured: list[tuple[Job, dict[str, Any]]] = []
        try:
            requests: list[tuple[Job, dict[str, Any], Request]] = []
            for job in jobs:
                try:
                    requests.append((job, *await self._request(job, rates)))
                except Exception:
                    log.exception("job %d: its document could not be measured", job.id)
            results = await asyncio.gather(*(self.analyzer.measure(r) for _, _, r in requests))
            for (job, extra, _), measurement in zip(requests, results, strict=True):
                fields = measured_fields(measurement, self.thresholds)
                _log_measurement(job, measurement, fields)
                measured.append((job, {**extra, **fields}))
            await self.jobs.update_many(measured)
        except Exception:
            log.exception("jobs %s: their measurement could not be recorded", [j.id for j in jobs])
            measured = []
        finally:
            for job in jobs:
                self._measuring.discard(job.id)
        for job, _ in measured:
            await self.jobs.hooks.emit(JobMeasured(job))
        for job in jobs:
            if job.id in self._ended:
                await self._settle(job)

    async def _request(
        self, job: Job, rates: dict[str, InForce | None]
    ) -> tuple[dict[str, Any], Request]:
        """The analysis request, and the fields to record with its result."""
        extra: dict[str, Any] = {}
        options = job_options(decode_template(job.template))
        if options.media_type and not job.media_type:
            extra["media_type"] = options.media_type
        model = self.queue_model(job.queue)
        if model not in rates:
            try:
                rates[model] = await self.rates.in_force(model)
            except (StoreUnavailable, RateError) as exc:
                log.warning("measuring with the default ink conversion: %s", exc)
                rates[model] = None
        in_force = rates[model]
        profile_conversion, profile_path = "icc", ""
        if in_force is not None:
            profile_conversion = in_force.profile.conversion
            profile_path = in_force.profile.icc_profile
        await self.spool.ensure(self.spool.root / job.document_path)
        return extra, Request(
            self.spool.root / job.document_path,
            job.document_format,
            options,
            self.thresholds,
            conversion="fast" if profile_conversion == "fast" else "icc",
            profile=profile_path,
            dpi=self.config.resolution,
        )

    async def _settle(self, job: Job) -> None:
        self._ended.discard(job.id)
        try:
            if job.state == JobState.COMPLETED and job.analysis_status is AnalysisStatus.DONE:
                await self._charge(job)
        except Exception:
            log.exception("job %d: its cost and price could not be recorded", job.id)
        finally:
            if job.document_path:
                await self.spool.remove(self.spool.root / job.document_path)

    async def _charge(self, job: Job) -> None:
        model = self.model_of(job.printer)
        in_force = await self.rates.in_force(model)
        figures = JobFigures.from_dict(json.loads(job.measurement))
        fields = charged_fields(in_force, figures, job, model)
        await record_charge(self.jobs, job, fields)  # the charge and its report roll-ups
        currency = in_force.settings.currency
        log.info(
            "job %d recorded on %r: cost %s, price %s",
            job.id,
            model,
            f"{fields['cost_gross']} {currency}" if "cost_gross" in fields else "(no table)",
            f"{fields['price_gross']} {currency}" if "price_gross" in fields else "(no table)",
        )


def _log_measurement(job: Job, measurement: Measurement, fields: dict[str, Any]) -> None:
    if measurement.error:
        log.warning("job %d: not measured: %s", job.id, measurement.error)
    else:
        log.info(
            "job %d measured: %d pages, %d impressions (%d colour)",
            job.id,
            fields["measured_pages"],
            fields["measured_impressions"],
            fields["color_impressions"],
        )
