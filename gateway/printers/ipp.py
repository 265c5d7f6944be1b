"""A real printer reached over IPP: its attributes, job submission and status, cancel, identify."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from ..ipp import Group, JobState, Message, Op, Status, Tag
from ..ipp import model as m
from ..jobs.spool import read_chunks
from .backend import PrinterRefused, UpstreamStatus, check_response
from .ipp_client import IppClient, request

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
            created = check_response(
                await self.client.send(
                    self.uri, request(Op.CREATE_JOB, self.uri, *op_attrs, groups=job_group)
                ),
                "Create-Job",
            )
            upstream_id = _job_id(created)
            await on_created(upstream_id)
            check_response(
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
        printed = check_response(
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
