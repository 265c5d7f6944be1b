"""The printers behind the queues: how to talk to each (IPP or the built-in virtual printer),
their last known attributes, and whether they are up."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..config import PrinterConfig
from ..ipp import Group, IppDecodeError, JobState, Message, Op, Status, Tag, decode, encode
from ..ipp import model as m
from ..jobs.spool import read_chunks
from .ipp_client import IppClient, PrinterUnreachable, request

log = logging.getLogger(__name__)

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
        out (where the protocol allows), return that id once the printer has the document."""
        ...

    async def job_status(self, upstream_id: int) -> UpstreamStatus | None: ...

    async def cancel(self, upstream_id: int) -> None: ...

    async def identify(self, actions: Sequence[str]) -> None:
        """Make the device show itself (flash, sound...), where it can."""
        ...


def _check(response: Message, what: str) -> Message:
    if response.code >= 0x0400:
        status_message = response.operation.get("status-message")
        detail = status_message.text() if status_message else ""
        try:
            name = Status(response.code).name.lower().replace("_", "-")
        except ValueError:
            name = f"0x{response.code:04x}"
        raise PrinterRefused(response.code, f"{what}: {name}{': ' + detail if detail else ''}")
    return response


class IppPrinter:
    """A real printer reached over IPP."""

    JOB_STATUS_ATTRS = (
        "job-state",
        "job-state-reasons",
        "job-state-message",
        "job-impressions-completed",
        "job-media-sheets-completed",
        "job-pages-completed",
    )

    def __init__(self, uri: str, client: IppClient):
        self.uri = uri
        self.client = client
        self.operations: frozenset[int] = frozenset()

    async def fetch_attributes(self) -> Group:
        response = _check(
            await self.client.send(
                self.uri,
                request(
                    Op.GET_PRINTER_ATTRIBUTES,
                    self.uri,
                    m.keyword("requested-attributes", "all", "media-col-database"),
                ),
            ),
            "Get-Printer-Attributes",
        )
        printer = response.group(Tag.PRINTER) or Group(Tag.PRINTER)
        ops = printer.get("operations-supported")
        self.operations = frozenset(
            v for v in (ops.python_values() if ops else []) if isinstance(v, int)
        )
        return printer

    async def submit(
        self,
        attributes: Sequence[m.Attribute],
        document: Path,
        document_format: str,
        job_name: str,
        job_key: str,
        on_created: Callable[[int], Awaitable[None]],
    ) -> int:
        op_attrs = [
            m.name_("job-name", job_name),
            m.attr("ipp-attribute-fidelity", Tag.BOOLEAN, False),
        ]
        job_group = [m.group(Tag.JOB, attributes)] if attributes else []
        if {Op.CREATE_JOB, Op.SEND_DOCUMENT} <= self.operations:
            created = _check(
                await self.client.send(
                    self.uri, request(Op.CREATE_JOB, self.uri, *op_attrs, groups=job_group)
                ),
                "Create-Job",
            )
            upstream_id = _job_id(created)
            await on_created(upstream_id)
            _check(
                await self.client.send(
                    self.uri,
                    request(
                        Op.SEND_DOCUMENT,
                        self.uri,
                        m.integer("job-id", upstream_id),
                        m.mime("document-format", document_format),
                        m.attr("last-document", Tag.BOOLEAN, True),
                    ),
                    read_chunks(document),
                ),
                "Send-Document",
            )
            return upstream_id
        printed = _check(
            await self.client.send(
                self.uri,
                request(
                    Op.PRINT_JOB,
                    self.uri,
                    *op_attrs,
                    m.mime("document-format", document_format),
                    groups=job_group,
                ),
                read_chunks(document),
            ),
            "Print-Job",
        )
        return _job_id(printed)

    async def job_status(self, upstream_id: int) -> UpstreamStatus | None:
        response = await self.client.send(
            self.uri,
            request(
                Op.GET_JOB_ATTRIBUTES,
                self.uri,
                m.integer("job-id", upstream_id),
                m.keyword("requested-attributes", *self.JOB_STATUS_ATTRS),
            ),
        )
        if response.code == Status.NOT_FOUND:
            return None
        job = _check(response, "Get-Job-Attributes").group(Tag.JOB) or Group(Tag.JOB)
        state = job.get("job-state")
        reasons = job.get("job-state-reasons")
        message = job.get("job-state-message")
        try:
            job_state = JobState((state.integer() or 0) if state else 0)
        except ValueError:
            job_state = JobState.PROCESSING
        return UpstreamStatus(
            state=job_state,
            reasons=tuple(reasons.strings()) if reasons else (),
            message=(message.text() or "") if message else "",
            impressions=_int(job, "job-impressions-completed"),
            media_sheets=_int(job, "job-media-sheets-completed"),
            pages=_int(job, "job-pages-completed"),
        )

    async def cancel(self, upstream_id: int) -> None:
        await self.client.send(
            self.uri, request(Op.CANCEL_JOB, self.uri, m.integer("job-id", upstream_id))
        )

    async def identify(self, actions: Sequence[str]) -> None:
        if Op.IDENTIFY_PRINTER not in self.operations:
            return
        extra = [m.keyword("identify-actions", *actions)] if actions else []
        _check(
            await self.client.send(self.uri, request(Op.IDENTIFY_PRINTER, self.uri, *extra)),
            "Identify-Printer",
        )


def _job_id(response: Message) -> int:
    job = response.group(Tag.JOB)
    job_id = job.get("job-id") if job else None
    value = job_id.integer() if job_id else None
    if not value:
        raise PrinterRefused(Status.INTERNAL_ERROR, "printer answered without a job-id")
    return value


def _int(group: Group, name: str) -> int | None:
    attribute = group.get(name)
    return attribute.integer() if attribute else None


@dataclass
class PrinterState:
    """What printgate knows of one printer right now."""

    config: PrinterConfig
    backend: PrinterBackend
    attributes: Group | None = None
    up: bool = False
    last_error: str = ""
    retry_at: float = 0.0  # monotonic time before which the printer is not tried again
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    attributes_version: int = 0
    cache: Path | None = None  # where the last answer is kept for the next start-up

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def model(self) -> str:
        """printer-make-and-model as the printer reports it: what cost tables are kept by."""
        if self.attributes is None:
            return ""
        attribute = self.attributes.get("printer-make-and-model")
        return (attribute.text() or "") if attribute else ""

    def mark_up(self) -> None:
        self.up = True
        self.last_error = ""
        self.retry_at = 0.0

    def mark_down(self, error: str, retry_in: float) -> None:
        if self.up or error != self.last_error:
            log.warning("printer %s unavailable: %s", self.name, error)
        self.up = False
        self.last_error = error
        self.retry_at = time.monotonic() + retry_in

    def available(self) -> bool:
        return self.up or time.monotonic() >= self.retry_at

    def supports_format(self, document_format: str) -> bool:
        if self.attributes is None:
            return True  # not known yet: let the printer itself decide
        formats = self.attributes.get("document-format-supported")
        return formats is None or document_format in formats.strings()


async def refresh(printer: PrinterState, retry_in: float) -> bool:
    """Fetch the printer's attributes; True when it answered."""
    try:
        attributes = await printer.backend.fetch_attributes()
    except (PrinterUnreachable, PrinterRefused) as exc:
        printer.mark_down(str(exc), retry_in)
        return False
    if printer.attributes != attributes:
        printer.attributes = attributes
        printer.attributes_version += 1
        if printer.cache is not None:
            await asyncio.to_thread(_save, printer.cache, attributes)
    if not printer.up:
        log.info("printer %s is up", printer.name)
    printer.mark_up()
    return True


def load_cached(printer: PrinterState) -> None:
    """Start from the capabilities the printer had last time, so a queue whose printer is down
    at start-up still advertises (and accepts) what that printer takes."""
    if printer.cache is None or not printer.cache.exists():
        return
    try:
        message, _ = decode(printer.cache.read_bytes())
    except (OSError, IppDecodeError) as exc:
        log.warning("ignoring cached attributes of %s: %s", printer.name, exc)
        return
    printer.attributes = message.group(Tag.PRINTER)
    printer.attributes_version += 1


def _save(path: Path, attributes: Group) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(encode(Message((2, 0), 0, 1, (attributes,))))
    partial.replace(path)
