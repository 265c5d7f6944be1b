"""A real printer reached over IPP: its attributes, job submission and status, cancel, identify."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from ..ipp import Group, JobState, Message, Op, Status, Tag
from ..ipp import model as m
from ..jobs.spool import read_chunks
from .backend import PrinterRefused, UpstreamStatus, check_response
from .ipp_client import IppClient, PrinterUnreachable, request

WITHDRAW_SECONDS = 10.0  # how long a canceled forward waits to withdraw its job from the printer

log = logging.getLogger(__name__)


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
        response = check_response(
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
            creating = asyncio.ensure_future(self._create(op_attrs, job_group, on_created))
            upstream_id = await self._withdrawn_if_canceled(creating, "Create-Job")
            sending = asyncio.ensure_future(
                self.client.send(
                    self.uri,
                    request(
                        Op.SEND_DOCUMENT,
                        self.uri,
                        m.integer("job-id", upstream_id),
                        m.mime("document-format", document_format),
                        m.attr("last-document", Tag.BOOLEAN, True),
                    ),
                    read_chunks(document),
                )
            )
            try:
                check_response(await asyncio.shield(sending), "Send-Document")
            except asyncio.CancelledError:
                # Canceled while the document goes out: cancel the job at the printer while
                # the upload is still open, then cut it. The other way round a printer takes
                # the end of the upload for the end of the document and prints what it got.
                await self.cancel_quietly(upstream_id)
                sending.cancel()
                await asyncio.wait({sending})
                if not sending.cancelled():
                    sending.exception()  # answered meanwhile: the cancel above stands
                raise
            return upstream_id
        printing = asyncio.ensure_future(
            self._print(op_attrs, job_group, document, document_format)
        )
        return await self._withdrawn_if_canceled(printing, "Print-Job")

    async def _print(
        self,
        op_attrs: Sequence[m.Attribute],
        job_group: Sequence[m.Group],
        document: Path,
        document_format: str,
    ) -> int:
        printed = await self.client.send(
            self.uri,
            request(
                Op.PRINT_JOB,
                self.uri,
                *op_attrs,
                m.mime("document-format", document_format),
                groups=job_group,
            ),
            read_chunks(document),
        )
        return _job_id(check_response(printed, "Print-Job"))

    async def _create(
        self,
        op_attrs: Sequence[m.Attribute],
        job_group: Sequence[m.Group],
        on_created: Callable[[int], Awaitable[None]],
    ) -> int:
        created = check_response(
            await self.client.send(
                self.uri, request(Op.CREATE_JOB, self.uri, *op_attrs, groups=job_group)
            ),
            "Create-Job",
        )
        upstream_id = _job_id(created)
        await on_created(upstream_id)
        return upstream_id

    async def _withdrawn_if_canceled(self, work: asyncio.Future[int], what: str) -> int:
        """The printer's job id once `work` (a Create-Job or Print-Job) is answered. Canceled
        meanwhile, the request is still let finish (within WITHDRAW_SECONDS), because the
        printer may have made the job already, and the job is then canceled there: else it
        would wait for its document for ever, and a printer that takes one job at a time
        (ippeveprinter) would answer every later job "busy"."""
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            done, _ = await asyncio.wait({work}, timeout=WITHDRAW_SECONDS)
            if not done:
                work.cancel()
                log.warning("%s: %s was not answered in time; not canceled there", self.uri, what)
            elif not work.cancelled() and work.exception() is None:
                await self.cancel_quietly(work.result())
            raise

    async def cancel_quietly(self, upstream_id: int) -> None:
        """Cancel-Job within WITHDRAW_SECONDS; a printer that cannot be told is logged."""
        try:
            await asyncio.wait_for(self.cancel(upstream_id), WITHDRAW_SECONDS)
        except (PrinterUnreachable, PrinterRefused, TimeoutError) as exc:
            log.warning("%s: could not cancel job %d there: %s", self.uri, upstream_id, exc)

    async def waiting_for_document(self, job_name: str) -> list[int]:
        """The ids of the jobs printgate created here under this name that still wait for a
        document that will never come (left by a crash, or a Create-Job answered too late)."""
        response = check_response(
            await self.client.send(
                self.uri,
                request(
                    Op.GET_JOBS,
                    self.uri,
                    m.keyword("which-jobs", "not-completed"),
                    m.attr("my-jobs", Tag.BOOLEAN, True),
                    m.keyword("requested-attributes", "job-id", "job-name", "job-state-reasons"),
                ),
            ),
            "Get-Jobs",
        )
        found = []
        for group in response.groups_of(Tag.JOB):
            name, reasons = group.get("job-name"), group.get("job-state-reasons")
            if (
                name is not None
                and name.text() == job_name
                and reasons is not None
                and "job-data-insufficient" in reasons.strings()
                and (upstream_id := _int(group, "job-id"))
            ):
                found.append(upstream_id)
        return found

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
        job = check_response(response, "Get-Job-Attributes").group(Tag.JOB) or Group(Tag.JOB)
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
        check_response(
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
