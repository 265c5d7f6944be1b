"""A job as printgate knows it: the record the manager keeps in memory and mirrors to the
store's JobRow, field for field."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..ipp.enums import JobState
from ..store.models import JobRow
from .state import TERMINAL_STATES, AnalysisStatus, ForwardPhase


@dataclass
class Job:
    """A job as printgate knows it; mirrors store.models.JobRow."""

    id: int
    uuid: str
    queue: str
    state: JobState
    created_at: datetime
    name: str = ""
    user: str = ""
    origin_host: str = ""
    reasons: tuple[str, ...] = ()
    message: str = ""
    document_format: str = ""
    document_name: str = ""
    document_path: str = ""
    document_bytes: int = 0
    template: bytes = b""
    hold_until: str = ""
    copies: int = 1
    sides: str = ""
    color_mode: str = ""
    media: str = ""
    processing_at: datetime | None = None
    completed_at: datetime | None = None
    printer: str = ""
    upstream_uri: str = ""
    upstream_job_id: int = 0
    forward_phase: ForwardPhase = ForwardPhase.NONE
    attempts: int = 0
    impressions: int | None = None
    media_sheets: int | None = None
    pages: int | None = None
    failure_reason: str = ""
    project: str = ""
    department: str = ""
    billable: bool = True
    comment: str = ""
    released_at: datetime | None = None
    instance: str = ""
    analysis_status: AnalysisStatus = AnalysisStatus.PENDING
    analysis_error: str = ""
    measured_pages: int | None = None
    measured_impressions: int | None = None
    measured_sheets: int | None = None
    color_impressions: int | None = None
    mono_impressions: int | None = None
    coverage_c: float | None = None
    coverage_m: float | None = None
    coverage_y: float | None = None
    coverage_k: float | None = None
    area_printed_m2: float | None = None
    area_used_m2: float | None = None
    length_used_m: float | None = None
    measurement: str = ""
    media_type: str = ""
    printer_model: str = ""
    currency: str = ""
    cost: Decimal | None = None
    cost_tax: Decimal | None = None
    cost_gross: Decimal | None = None
    price: Decimal | None = None
    price_tax: Decimal | None = None
    price_gross: Decimal | None = None
    cost_breakdown: str = ""
    price_breakdown: str = ""
    costed_at: datetime | None = None
    meter_delta: int | None = None
    meter_mismatch: bool = False

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @classmethod
    def from_row(cls, row: JobRow) -> Job:
        values = {name: getattr(row, name) for name in _FIELD_NAMES}
        values["state"] = JobState(row.state)
        values["reasons"] = tuple(r for r in row.reasons.split(",") if r)
        values["forward_phase"] = ForwardPhase(row.forward_phase)
        values["analysis_status"] = AnalysisStatus(row.analysis_status)
        return cls(**values)

    def row_fields(self) -> dict[str, Any]:
        # Every new job pays for this: the few fields stored differently are converted by
        # name, the rest copied as they are.
        values = vars(self)
        fields = {name: values[name] for name in _FIELD_NAMES}
        for name in _CONVERTED_FIELDS:
            fields[name] = stored_value(name, fields[name])
        return fields


# dataclasses.fields() builds its answer anew on each call: a new job's row would pay for it.
_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Job))
# The fields stored_value changes: the state, the reasons and the str enums.
_CONVERTED_FIELDS = ("state", "reasons", "forward_phase", "analysis_status")


def stored_value(name: str, value: Any) -> Any:
    if name == "state":
        return int(value)
    if name == "reasons":
        return ",".join(value)
    if isinstance(value, enum.StrEnum):
        return str(value)
    return value
