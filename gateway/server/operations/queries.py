"""Queries: Get-Job-Attributes, Get-Jobs, Get-Printer-Attributes (the hot path, with its
store of answers), Identify-Printer."""

from __future__ import annotations

import time

from ...ipp import JobState, Op, Status, Tag
from ...ipp import model as m
from ...ipp.codec import encode_group, encode_header
from ...jobs.state import ACTIVE_STATES, TERMINAL_STATES
from ...printers.backend import PrinterRefused
from ...printers.ipp_client import PrinterUnreachable
from ..job_attrs import GET_JOBS_DEFAULT, job_attributes
from ..queue_attrs import WHICH_JOBS, Origin, QueueView
from .core import (
    SUPPORTED_VERSIONS,
    Core,
    IppError,
    IppRequest,
    Reply,
    _op_attr,
    _op_bool,
    _op_text,
    _reply_version,
    _requested,
    not_supported,
    requesting_user,
)
from .privacy import requester

WHICH_STATES: dict[str, tuple[JobState, ...]] = {
    "not-completed": ACTIVE_STATES,
    "completed": TERMINAL_STATES,
    "all": ACTIVE_STATES + TERMINAL_STATES,
    "aborted": (JobState.ABORTED,),
    "canceled": (JobState.CANCELED,),
    "pending": (JobState.PENDING,),
    "pending-held": (JobState.PENDING_HELD,),
    "processing": (JobState.PROCESSING,),
    "processing-stopped": (JobState.PROCESSING_STOPPED,),
    "proof-print": (),  # printgate keeps no proof prints
}
# uri-authentication-supported for each auth mode
URI_AUTHENTICATION = {
    "none": "none",
    "username": "requesting-user-name",
    "list": "requesting-user-name",
    "password": "basic",
    "list-password": "basic",
    "directory": "basic",
}
GET_PRINTER_ATTRIBUTES_CODE = Op.GET_PRINTER_ATTRIBUTES.to_bytes(2, "big")
ANSWER_LIMIT = 256
# The operation group of a plain successful answer, encoded once for the hot path.
OK_OPERATION_GROUP = encode_group(
    m.group(
        Tag.OPERATION,
        [m.charset("attributes-charset", "utf-8"), m.language("attributes-natural-language", "en")],
    )
)


def _without_request_id(raw: bytes) -> bytes:
    return raw[:4] + raw[8:]


class Queries(Core):
    _answers: dict[tuple[str, Origin, bytes], tuple[object, bytes]]

    def replay(self, queue: str, origin: Origin, raw: bytes) -> bytes | None:
        """A stored answer to this exact Get-Printer-Attributes request, if still true."""
        if raw[2:4] != GET_PRINTER_ATTRIBUTES_CODE:
            return None
        answer = self._answers.get((queue, origin, _without_request_id(raw)))
        if answer is None or answer[0] != self.gw.queues[queue].freshness():
            return None
        return raw[:2] + b"\x00\x00" + raw[4:8] + answer[1]

    def _remember(self, request: IppRequest, queue: QueueView, reply: bytes) -> None:
        if not request.raw:
            return
        if len(self._answers) >= ANSWER_LIMIT:
            self._answers.clear()
        key = (queue.name, request.http_origin, _without_request_id(request.raw))
        self._answers[key] = (queue.freshness(), reply[8:])

    async def get_job_attributes(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        asker = await requester(self.gw, request, queue)
        attrs = job_attributes(
            job, request.origin, int(time.time()), _requested(request), private=not asker.owns(job)
        )
        return self.response(request, Status.OK, m.group(Tag.JOB, attrs))

    async def get_jobs(self, request: IppRequest, queue: QueueView) -> Reply:
        which = _op_text(request, "which-jobs") or "not-completed"
        if which not in WHICH_JOBS:
            raise not_supported(
                Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED, m.keyword("which-jobs", which)
            )
        limit_attr = _op_attr(request, "limit")
        limit = limit_attr.integer() if limit_attr else None
        if limit_attr is not None and (limit is None or limit < 1):
            raise IppError(Status.BAD_REQUEST, "limit must be a positive integer", [limit_attr])
        user = requesting_user(request) if _op_bool(request, "my-jobs", False) else None
        requested = _requested(request)
        jobs = await self.gw.jobs.list(
            queue.name,
            WHICH_STATES[which],
            user=user,
            limit=limit,
            # A client's own jobs newest first (Android's print service shows the list as is).
            newest_first=which == "completed" or user is not None,
        )
        up_time = int(time.time())
        names = requested if requested is not None else list(GET_JOBS_DEFAULT)
        asker = await requester(self.gw, request, queue) if jobs else None
        groups = [
            m.group(
                Tag.JOB,
                job_attributes(
                    j, request.origin, up_time, names, private=not (asker and asker.owns(j))
                ),
            )
            for j in jobs
        ]
        return self.response(request, Status.OK, *groups)

    async def get_printer_attributes(self, request: IppRequest, queue: QueueView) -> Reply:
        requested = _requested(request)
        document_format = _op_text(request, "document-format")
        if document_format is not None and document_format not in queue.document_formats():
            raise not_supported(
                Status.DOCUMENT_FORMAT_NOT_SUPPORTED, m.mime("document-format", document_format)
            )
        encoded = queue.encoded(
            requested, document_format, request.origin, self.auth_methods(queue)
        )
        message = request.message
        reply = b"".join(
            (
                encode_header(_reply_version(message), Status.OK, message.request_id),
                OK_OPERATION_GROUP,
                bytes((Tag.PRINTER,)),
                encoded,
                bytes((Tag.END,)),
            )
        )
        if message.version in SUPPORTED_VERSIONS:
            self._remember(request, queue, reply)
        return reply

    def auth_methods(self, queue: QueueView) -> str:
        return URI_AUTHENTICATION[queue.queue.auth]

    async def identify_printer(self, request: IppRequest, queue: QueueView) -> Reply:
        """Passed on to the printer jobs go to now: that is the one the user must find."""
        actions = _op_attr(request, "identify-actions")
        wanted = actions.strings() if actions else []
        printer = next((p for p in queue.printers if p.up), queue.primary)
        try:
            await printer.backend.identify(wanted)
        except (PrinterUnreachable, PrinterRefused) as exc:
            raise IppError(Status.SERVICE_UNAVAILABLE, f"{printer.name}: {exc}") from exc
        return self.response(request, Status.OK)
