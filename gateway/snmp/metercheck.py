"""The per-job meter check, as policy: the printer's own life count read just before a job is
sent and again once it has printed, while nothing else printed on it; the difference is what
the printer says the job cost, compared with the impressions printgate charged. No IO: the
reading is done by gateway/snmp/meter.py behind the `Meter` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class MeterSample:
    count: int
    status: str  # hrPrinterStatus name

    @property
    def idle(self) -> bool:
        return self.status == "idle"


class Meter(Protocol):
    def covers(self, printer: str) -> bool: ...

    async def sample(self, printer: str) -> MeterSample | None: ...

    async def settled(self, printer: str) -> MeterSample | None: ...


def mismatch(delta: int, impressions: int | None) -> bool:
    """Does the printer's count disagree with the impressions charged (when they are known)?"""
    return impressions is not None and delta != impressions
