"""Web print: a document uploaded in My printing becomes an IPP Print-Job, encoded and decoded
with the gateway's own codec and handled by the same operations as one from the network, so it
meets the same gate, measurement and accounting. Only the sender differs: the person My
printing's sign-in proved, which no network request can claim to be."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ...ipp import Message, Op, Range, Tag, decode, encode
from ...ipp import model as m
from ..queue_attrs import Origin
from .core import AuthenticationRequired, IppRequest, Reply

CHUNK = 1 << 18
USER_AGENT = "printgate web print"
SUCCESSFUL_BELOW = 0x0100  # IPP's successful-ok status codes
_request_ids = itertools.count(1)


@dataclass(frozen=True)
class WebPrint:
    queue: str
    user: str  # proved by My printing's sign-in for this queue
    document: Path
    document_format: str  # judged from the content, never from the name
    name: str
    copies: int = 1
    color_mode: str = ""  # print-color-mode; empty: the printer's default
    sides: str = ""
    media: str = ""
    page_ranges: tuple[tuple[int, int], ...] = ()
    account_id: str = ""  # "project/department", where the queue asks for them


@dataclass(frozen=True)
class Printed:
    ok: bool
    job_id: int | None
    message: str  # the status-message, for the person


def print_job_message(order: WebPrint, origin: Origin) -> Message:
    operation = [
        m.charset("attributes-charset", "utf-8"),
        m.language("attributes-natural-language", "en"),
        m.uri("printer-uri", f"{origin.ipp_scheme}://{origin.host}/ipp/print/{order.queue}"),
        m.name_("requesting-user-name", order.user),
        m.name_("job-name", order.name[:255] or "web print"),
        m.name_("document-name", order.name[:255] or "web print"),
        m.mime("document-format", order.document_format),
    ]
    job = [m.integer("copies", order.copies)]
    if order.color_mode:
        job.append(m.keyword("print-color-mode", order.color_mode))
    if order.sides:
        job.append(m.keyword("sides", order.sides))
    if order.media:
        job.append(m.keyword("media", order.media))
    if order.page_ranges:
        job.append(m.range_("page-ranges", *(Range(a, b) for a, b in order.page_ranges)))
    if order.account_id:
        job.append(m.name_("job-account-id", order.account_id))
    groups = (m.group(Tag.OPERATION, operation), m.group(Tag.JOB, job))
    # Through the codec both ways: the operations see what they would see from the wire.
    message, _rest = decode(encode(Message((2, 0), Op.PRINT_JOB, next(_request_ids), groups)))
    return message


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk


async def web_print(
    handle: Callable[[IppRequest], Awaitable[Reply]], order: WebPrint, origin: Origin, peer: str
) -> Printed:
    """Submit the order through `handle` (Operations.handle) as its signed-in person."""
    request = IppRequest(
        message=print_job_message(order, origin),
        queue=order.queue,
        origin=origin,
        peer=peer,
        document=_chunks(order.document),
        user_agent=USER_AGENT,
        proven_user=order.user,
    )
    try:
        reply = await handle(request)
    except AuthenticationRequired as exc:  # a proved person is never challenged; say so if so
        return Printed(False, None, str(exc))
    answer = reply if isinstance(reply, Message) else decode(reply)[0]
    said = answer.operation.get("status-message")
    job = answer.group(Tag.JOB)
    job_id = job.get("job-id") if job is not None else None
    return Printed(
        answer.code < SUCCESSFUL_BELOW,
        job_id.integer() if job_id is not None else None,
        (said.text() or "") if said is not None else "",
    )
