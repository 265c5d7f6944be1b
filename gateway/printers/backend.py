"""What printgate needs of a printer, whatever it is (the protocol the IPP and virtual backends
keep), and the errors and job status it reports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..ipp import Group, JobState, Message, Status
from ..ipp import model as m

TRANSIENT_STATUSES = frozenset(
    {
        Status.BUSY,
        Status.SERVICE_UNAVAILABLE,
        Status.NOT_ACCEPTING_JOBS,
        Status.TEMPORARY_ERROR,
        Status.DEVICE_ERROR,
        Status.INTERNAL_ERROR,
        Status.TIMEOUT,
    }
)


class PrinterRefused(Exception):
    """The printer answered with an error status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT_STATUSES


@dataclass(frozen=True)
class UpstreamStatus:
    state: JobState
    reasons: tuple[str, ...] = ()
    message: str = ""
    impressions: int | None = None
    media_sheets: int | None = None
    pages: int | None = None


class PrinterBackend(Protocol):
    uri: str

    async def fetch_attributes(self) -> Group: ...

    async def submit(
        self,
        attributes: Sequence[m.Attribute],
        document: Path,
        document_format: str,
        job_name: str,
        job_key: str,
        on_created: Callable[[int], Awaitable[None]],
    ) -> int:
        """Send the job; call on_created with the printer's job id before the document goes
        out (where the protocol allows), return that id once the printer has the document.
        Canceled at any moment, it leaves no job open at the printer: one the printer made is
        canceled there before the cancel goes on."""
        ...

    async def job_status(self, upstream_id: int) -> UpstreamStatus | None: ...

    async def cancel(self, upstream_id: int) -> None: ...

    async def identify(self, actions: Sequence[str]) -> None:
        """Make the device show itself (flash, sound...), where it can."""
        ...


@runtime_checkable
class ListsJobs(Protocol):
    """A backend that can list its printer's jobs: it finds the jobs a forward cut short by a
    crash left waiting for their document."""

    async def waiting_for_document(self, job_name: str) -> list[int]: ...

    async def cancel(self, upstream_id: int) -> None: ...


def check_response(response: Message, what: str) -> Message:
    if response.code >= 0x0400:
        status_message = response.operation.get("status-message")
        detail = status_message.text() if status_message else ""
        try:
            name = Status(response.code).name.lower().replace("_", "-")
        except ValueError:
            name = f"0x{response.code:04x}"
        raise PrinterRefused(response.code, f"{what}: {name}{': ' + detail if detail else ''}")
    return response
