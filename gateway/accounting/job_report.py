"""A job's measurement, what its printer reported and its charge as plain data, for `printgate
jobs --json` and the web UI. Each count says whose it is: printgate's measurement (what is
charged) apart from the printer's own report, so the two never pass for one another."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ..jobs.record import Job
from ..jobs.state import AnalysisStatus
from .costing import quantum


def _amount(value: Decimal | None, currency: str) -> str | None:
    return None if value is None else str(value.quantize(quantum(currency)))


def measured(job: Job) -> dict[str, Any]:
    if job.analysis_status is not AnalysisStatus.DONE:
        status = job.analysis_status.value or "pending"
        return {"status": status, "error": job.analysis_error}
    details = json.loads(job.measurement) if job.measurement else {}
    return {
        "status": "done",
        "pages": job.measured_pages,
        "impressions": job.measured_impressions,
        "sheets": job.measured_sheets,
        "color_impressions": job.color_impressions,
        "mono_impressions": job.mono_impressions,
        "coverage": {
            "c": job.coverage_c,
            "m": job.coverage_m,
            "y": job.coverage_y,
            "k": job.coverage_k,
        },
        "area_printed_m2": job.area_printed_m2,
        "area_used_m2": job.area_used_m2,
        "length_used_m": job.length_used_m,
        "categories": details.get("categories", {}),
        # Each page as the document describes it; jobs measured before they were kept have none.
        "per_page": details.get("per_page", []),
        "per_page_truncated": details.get("per_page_truncated", 0),
        "media_type": job.media_type,
    }


def output_name(job: Job) -> str:
    """The job's uuid as its output is named: `UUID.pdf` in a virtual printer's directory."""
    return job.uuid.removeprefix("urn:uuid:")


def reported(job: Job) -> dict[str, Any] | None:
    """The counts the printer itself reported at the end of the job (job-impressions-completed
    and the like), or None when it reported none (a virtual printer, ippeveprinter)."""
    counts = {
        "impressions": job.impressions,
        "sheets": job.media_sheets,
        "pages": job.pages,
    }
    if all(value is None for value in counts.values()):
        return None
    return counts


def charged(job: Job) -> dict[str, Any] | None:
    if job.costed_at is None:
        return None
    result: dict[str, Any] = {
        "printer_model": job.printer_model,
        "currency": job.currency,
        "recorded": job.costed_at.isoformat(timespec="seconds"),
    }
    for kind, net, tax, gross, breakdown in (
        ("cost", job.cost, job.cost_tax, job.cost_gross, job.cost_breakdown),
        ("price", job.price, job.price_tax, job.price_gross, job.price_breakdown),
    ):
        result[kind] = (
            None
            if net is None
            else {
                "net": _amount(net, job.currency),
                "tax": _amount(tax, job.currency),
                "gross": _amount(gross, job.currency),
                "breakdown": json.loads(breakdown) if breakdown else {},
            }
        )
    return result
