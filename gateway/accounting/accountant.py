"""Each job's measurement and charge. A job's document is measured as soon as it is complete,
side by side with its printing (analysis never holds up forwarding); once the job has printed and
been measured, its cost and price are computed from the tables in force then and kept on its
record. The spool file goes when both the printer and the analysis are done with it.

An addon of the job manager: it hears of a spooled document (document_spooled) and of a job's end
(job_ended), and tells of each measurement (JobMeasured)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..analysis.figures import JobFigures, Thresholds
from ..analysis.job_options import job_options
from ..analysis.runner import Analyzer, Measurement, Request
from ..config import AnalysisConfig
from ..ipp import JobState
from ..ipp.supported import decode_template
from ..jobs.events import DocumentSpooled, JobEnded, JobMeasured
from ..jobs.manager import JobManager
from ..jobs.record import Job
from ..jobs.spool import Spool
from ..jobs.state import AnalysisStatus
from ..store.store import StoreUnavailable
from ..tasks import TaskKeeper
from .costing import RateError, charge
from .rates import InForce, Rates

log = logging.getLogger(__name__)


def measured_fields(measurement: Measurement) -> dict[str, Any]:
    """The job record's columns for what analysis found, or why it found nothing."""
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
        "measurement": json.dumps(figures.as_dict(), sort_keys=True),
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
        self._measuring: set[int] = set()
        self._ended: set[int] = set()

    def document_spooled(self, event: DocumentSpooled) -> None:
        self.document_complete(event.job)

    def document_complete(self, job: Job) -> None:
        """Measure the job's document, in the background."""
        if job.id in self._measuring or job.analysis_status or not job.document_path:
            return
        self._measuring.add(job.id)
        self.tasks.spawn(self._measure(job), name=f"analysis-{job.id}")

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

    async def _measure(self, job: Job) -> None:
        try:
            measurement = await self.analyzer.measure(await self._request(job))
            fields = measured_fields(measurement)
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
            await self.jobs.update(job, **fields)
        except Exception:
            log.exception("job %d: its measurement could not be recorded", job.id)
        else:
            await self.jobs.hooks.emit(JobMeasured(job))
        finally:
            self._measuring.discard(job.id)
        if job.id in self._ended:
            await self._settle(job)

    async def _request(self, job: Job) -> Request:
        options = job_options(decode_template(job.template))
        if options.media_type and not job.media_type:
            await self.jobs.update(job, media_type=options.media_type)
        profile_conversion, profile_path = "icc", ""
        try:
            in_force = await self.rates.in_force(self.queue_model(job.queue))
            profile_conversion = in_force.profile.conversion
            profile_path = in_force.profile.icc_profile
        except (StoreUnavailable, RateError) as exc:
            log.warning("job %d: measured with the default ink conversion: %s", job.id, exc)
        return Request(
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
        await self.jobs.update(job, **fields)
        currency = in_force.settings.currency
        log.info(
            "job %d recorded on %r: cost %s, price %s",
            job.id,
            model,
            f"{fields['cost_gross']} {currency}" if "cost_gross" in fields else "(no table)",
            f"{fields['price_gross']} {currency}" if "price_gross" in fields else "(no table)",
        )
