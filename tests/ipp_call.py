"""A blocking one-shot IPP client for tests and benchmarks, built on printgate's own codec."""

from __future__ import annotations

import base64
import http.client
import itertools
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from gateway.ipp import Attribute, Message, Op, Tag, decode, encode
from gateway.ipp import model as m

_ids = itertools.count(1)


def ipp(uri: str, op: Op, *operation: Attribute, **options: Any) -> Message:
    """Send one request to `uri` (its printer-uri is `uri` itself) and decode the answer;
    options as for ipp_http. Anything but HTTP 200 fails the test."""
    status, reply = ipp_http(uri, op, *operation, **options)
    if reply is None:
        raise AssertionError(f"POST {uri}: HTTP {status}")
    return reply


def ipp_http(
    uri: str,
    op: Op,
    *operation: Attribute,
    job: Sequence[Attribute] = (),
    document: bytes | None = None,
    user: str = "tester",
    timeout: float = 30.0,
    auth: tuple[str, str] | None = None,
    user_agent: str = "printgate-tests",
) -> tuple[int, Message | None]:
    """The HTTP status and, when it is 200, the decoded IPP answer."""
    groups = [
        m.group(
            Tag.OPERATION,
            [
                m.charset("attributes-charset", "utf-8"),
                m.language("attributes-natural-language", "en"),
                m.uri("printer-uri", uri),
                m.name_("requesting-user-name", user),
                *operation,
            ],
        )
    ]
    if job:
        groups.append(m.group(Tag.JOB, job))
    body = encode(Message((2, 0), op, next(_ids), tuple(groups))) + (document or b"")
    parts = urllib.parse.urlsplit(uri)
    headers = {"Content-Type": "application/ipp", "User-Agent": user_agent}
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    conn = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port or 631, timeout=timeout
    )
    try:
        conn.request("POST", parts.path, body=body, headers=headers)
        reply = conn.getresponse()
        payload = reply.read()
    finally:
        conn.close()
    if reply.status != 200:
        return reply.status, None
    return reply.status, decode(payload)[0]


def job_value(message: Message, name: str) -> object:
    group = message.group(Tag.JOB)
    attribute = group.get(name) if group else None
    return attribute.value if attribute else None


def print_job(
    uri: str,
    document: bytes,
    name: str = "doc",
    fmt: str = "application/pdf",
    user: str = "tester",
    job: Sequence[Attribute] = (),
) -> int:
    reply = ipp(
        uri,
        Op.PRINT_JOB,
        m.name_("job-name", name),
        m.mime("document-format", fmt),
        job=job,
        document=document,
        user=user,
    )
    assert reply.code < 0x100, (
        f"Print-Job failed: 0x{reply.code:04x} {reply.operation.get('status-message')}"
    )
    job_id = job_value(reply, "job-id")
    assert isinstance(job_id, int)
    return job_id


def job_state(uri: str, job_id: int) -> tuple[int, list[str], str]:
    reply = ipp(
        uri,
        Op.GET_JOB_ATTRIBUTES,
        m.integer("job-id", job_id),
        m.keyword("requested-attributes", "job-state", "job-state-reasons", "job-state-message"),
    )
    group = reply.group(Tag.JOB)
    assert group is not None, f"no job {job_id}: 0x{reply.code:04x}"
    reasons = group.get("job-state-reasons")
    message = group.get("job-state-message")
    state = group.get("job-state")
    assert state is not None
    return (
        int(state.value),  # type: ignore[call-overload]
        reasons.strings() if reasons else [],
        (message.text() or "") if message else "",
    )


def assert_each_printed_once(
    uri: str, documents: list[bytes], received: Callable[[], list[bytes]], timeout: float = 120
) -> None:
    """Once every job of the queue has ended: all of them completed, and the printer received
    each document exactly once and nothing else (`received()`: the documents it kept)."""
    from collections import Counter

    from tests.peers import wait_for

    def unfinished() -> int:
        reply = ipp(uri, Op.GET_JOBS, m.keyword("which-jobs", "not-completed"))
        return len(reply.groups_of(Tag.JOB))

    wait_for(lambda: unfinished() == 0, timeout, interval=0.5, what="all jobs ended")
    completed = ipp(
        uri,
        Op.GET_JOBS,
        m.keyword("which-jobs", "completed"),
        m.keyword("requested-attributes", "job-id", "job-state"),
    )
    states = Counter(g.get("job-state").value for g in completed.groups_of(Tag.JOB))  # type: ignore[union-attr]
    assert states == {9: len(documents)}, states
    kept = received()
    counted = Counter(kept)
    printed = [counted[document] for document in documents]
    assert printed == [1] * len(documents), {i: n for i, n in enumerate(printed) if n != 1}
    assert len(kept) == len(documents)
