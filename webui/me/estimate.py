"""What a held job will cost and be charged, before it is released: its measured document
under the rate tables of its group's first printer, through accountant.charged_fields, the very
function that charges it once printed. Released unchanged to that printer, the recorded price
is the estimate."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from gateway.accounting.accountant import charged_fields
from gateway.accounting.costing import RateError
from gateway.accounting.rates import Rates
from gateway.analysis.figures import JobFigures
from gateway.jobs.record import Job
from gateway.jobs.state import AnalysisStatus
from gateway.store.store import Store, StoreUnavailable


@dataclass(frozen=True)
class Estimate:
    measured: bool  # False: the document is still being measured (or could not be)
    pages: int | None = None  # printed sides, every copy
    color_pages: int | None = None
    currency: str = ""
    cost: Decimal | None = None  # gross; None: no cost table for this printer
    price: Decimal | None = None


async def estimate(store: Store, job: Job, model: str) -> Estimate:
    """model: the printer-make-and-model of the job's group's first printer."""
    if job.analysis_status is not AnalysisStatus.DONE or not job.measurement:
        return Estimate(measured=False)
    pages, colour = job.measured_impressions, job.color_impressions  # copies included
    figures = JobFigures.from_dict(json.loads(job.measurement))
    try:
        fields = charged_fields(await Rates(store).in_force(model), figures, job, model)
    except (RateError, StoreUnavailable):
        return Estimate(True, pages, colour)
    return Estimate(
        True,
        pages,
        colour,
        str(fields["currency"]),
        fields.get("cost_gross"),
        fields.get("price_gross"),
    )
