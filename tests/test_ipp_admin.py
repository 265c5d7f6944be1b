"""The operator's operations on a printgate queue in front of a real ippeveprinter: only a
console administrator (HTTP Basic) may use them; Pause-Printer holds the queue's jobs back (and
survives a restart) until Resume-Printer; Disable-Printer refuses new jobs; Hold-New-Jobs holds
them until Release-Held-New-Jobs; Set-Printer-Attributes sets the operator's message;
Cancel-Jobs and Purge-Jobs cancel jobs. None of it reaches the printer, which other queues
share: it keeps printing for them."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.ipp import Message, Op, Status, Tag
from gateway.ipp import model as m
from gateway.store.audit import AuditEntry, AuditFilter, entries
from gateway.store.store import Store
from gateway.tasks import TaskKeeper
from tests.ipp_call import ipp_http
from tests.peers import IppEvePrinter, Printgate, find_binary
from tests.peers.tools import make_pdf
from tests.test_credentials import printgate_cli, recorded

ADMIN = ("queue-admin", "Adm1n-secret!")
BOB = ("bob", "builder-2-bob")


@pytest.fixture
def gateway(printgate_factory: Callable[..., Printgate], ippeveprinter: IppEvePrinter) -> Printgate:
    gw = printgate_factory(
        {
            "printers": [{"name": "eve", "uri": ippeveprinter.uri}],
            "queues": [
                {"name": "office", "printers": ["eve"], "auth": "none"},
                {"name": "other", "printers": ["eve"], "auth": "none"},
            ],
        }
    )
    printgate_cli(gw, "admin", "add", ADMIN[0], "--role", "admin", "--email", "a@example.org",
        "--password-stdin", password=ADMIN[1])  # fmt: skip
    return gw


def operate(uri: str, op: int, *attributes: Any, auth: tuple[str, str] | None = ADMIN,
            printer: list[Any] | None = None) -> tuple[int, Message | None]:  # fmt: skip
    if printer:
        # ipp_http sends a job group; Set-Printer-Attributes wants a printer group.
        return _with_printer_group(uri, op, list(attributes), printer, auth)
    return ipp_http(uri, op, *attributes, auth=auth)  # type: ignore[arg-type]


def _with_printer_group(
    uri: str, op: int, operation: list[Any], printer: list[Any], auth: tuple[str, str] | None
) -> tuple[int, Message | None]:
    import base64
    import http.client
    import urllib.parse

    from gateway.ipp import decode, encode

    groups = (
        m.group(
            Tag.OPERATION,
            [
                m.charset("attributes-charset", "utf-8"),
                m.language("attributes-natural-language", "en"),
                m.uri("printer-uri", uri),
                *operation,
            ],
        ),
        m.group(Tag.PRINTER, printer),
    )
    body = encode(Message((2, 0), op, 7, groups))
    parts = urllib.parse.urlsplit(uri)
    headers = {"Content-Type": "application/ipp"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 631, timeout=30)
    try:
        conn.request("POST", parts.path, body=body, headers=headers)
        reply = conn.getresponse()
        payload = reply.read()
    finally:
        conn.close()
    return reply.status, decode(payload)[0] if reply.status == 200 else None


def audit_log(gateway: Printgate) -> list[AuditEntry]:
    """The gateway's audit log, read from its database as the console reads it."""
    url = gateway.config.get("database", {}).get("url") or (
        f"sqlite+aiosqlite:///{gateway.data_dir / 'printgate.db'}"
    )

    async def read() -> list[AuditEntry]:
        tasks = TaskKeeper()
        store = await Store.open(url, tasks)
        try:
            return await entries(store, AuditFilter(action="ipp."))
        finally:
            await store.close()
            await tasks.cancel_all()

    return asyncio.run(read())


def ok(result: tuple[int, Message | None]) -> Message:
    status, reply = result
    assert status == 200 and reply is not None and reply.code == Status.OK, (status, reply)
    return reply


def printer_state(uri: str) -> dict[str, Any]:
    reply = ok(ipp_http(uri, Op.GET_PRINTER_ATTRIBUTES, m.keyword("requested-attributes", "all")))
    group = reply.group(Tag.PRINTER)
    assert group is not None
    return {a.name: a.python_values() for a in group}


def print_pdf(uri: str, pdf: Path, name: str = "a job", **job: Any) -> Message:
    return ipp_http(
        uri,
        Op.PRINT_JOB,
        m.name_("job-name", name),
        m.mime("document-format", "application/pdf"),
        job=[m.keyword("job-hold-until", v) for v in job.values()],
        document=pdf.read_bytes(),
    )[1] or Message((2, 0), 0xFFFF, 0, ())


def job_id(reply: Message) -> int:
    group = reply.group(Tag.JOB)
    value = group.get("job-id") if group else None
    assert value is not None and isinstance(value.value, int), reply
    return value.value


def job_state(uri: str, number: int) -> int:
    reply = ok(ipp_http(uri, Op.GET_JOB_ATTRIBUTES, m.integer("job-id", number)))
    group = reply.group(Tag.JOB)
    value = group.get("job-state") if group else None
    assert value is not None and isinstance(value.value, int)
    return value.value


def wait_state(uri: str, number: int, wanted: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    state = job_state(uri, number)
    while state != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        state = job_state(uri, number)
    assert state == wanted, (number, state)


COMPLETED, CANCELED, PENDING, HELD = 9, 7, 3, 4


def test_only_an_administrator_may_operate_the_queue(gateway: Printgate, tmp_path: Path) -> None:
    uri = gateway.queue_uri("office")
    printgate_cli(gateway, "admin", "add", BOB[0], "--role", "bookkeeper", "--email",
        "b@example.org", "--password-stdin", password=BOB[1])  # fmt: skip
    # No credentials: a challenge, so that a client holding them can answer it.
    assert operate(uri, Op.PAUSE_PRINTER, auth=None)[0] == 401
    # A console account that is not an administrator, and a wrong password.
    for auth in (BOB, (ADMIN[0], "wrong")):
        status, reply = operate(uri, Op.PAUSE_PRINTER, auth=auth)
        assert status == 200 and reply is not None and reply.code == Status.FORBIDDEN
    assert "paused" not in printer_state(uri)["printer-state-reasons"]
    # ipptool, a real client, is refused without credentials and obeyed with them.
    test = tmp_path / "pause.test"
    test.write_text(
        '{ NAME "Pause" OPERATION Pause-Printer GROUP operation-attributes-tag '
        "ATTR charset attributes-charset utf-8 ATTR language attributes-natural-language en "
        "ATTR uri printer-uri $uri STATUS successful-ok }\n"
    )
    refused = subprocess.run([find_binary("ipptool"), "-tv", uri, str(test)], capture_output=True,
                             text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    assert "client-error-not-authenticated" in refused.stdout, refused.stdout
    with_user = uri.replace("ipp://", f"ipp://{ADMIN[0]}:{ADMIN[1].replace('!', '%21')}@")
    done = subprocess.run([find_binary("ipptool"), "-t", with_user, str(test)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0 and "[PASS]" in done.stdout, done.stdout + done.stderr
    state = printer_state(uri)
    assert state["printer-state"] == [5] and "paused" in state["printer-state-reasons"], state


def test_a_paused_queue_holds_its_jobs_back_across_a_restart(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_path: Path
) -> None:
    office, other = gateway.queue_uri("office"), gateway.queue_uri("other")
    pdf = make_pdf(tmp_path / "one.pdf", pages=1)
    ok(operate(office, Op.PAUSE_PRINTER))
    waiting = job_id(print_pdf(office, pdf))
    # The printer is not paused: the other queue in front of it prints.
    printed = job_id(print_pdf(other, pdf))
    wait_state(other, printed, COMPLETED)
    assert job_state(office, waiting) == PENDING
    gateway.restart()
    state = printer_state(office)
    assert state["printer-state"] == [5] and "paused" in state["printer-state-reasons"], state
    assert "paused" not in printer_state(other)["printer-state-reasons"]
    assert job_state(office, waiting) == PENDING
    assert len(ippeveprinter.documents()) == 1
    ok(operate(office, Op.RESUME_PRINTER))
    wait_state(office, waiting, COMPLETED)
    assert len(ippeveprinter.wait_documents(2)) == 2
    assert printer_state(office)["printer-state-reasons"] == ["none"]
    # Who paused and resumed the queue is in the audit log, beside the console's changes.
    logged = [(e.actor, e.source, e.action, e.target, e.after) for e in audit_log(gateway)]
    assert logged == [
        (ADMIN[0], "ipp", "ipp.resume-printer", "office", {"paused": False}),
        (ADMIN[0], "ipp", "ipp.pause-printer", "office", {"paused": True}),
    ], logged


def test_disable_refuses_new_jobs_and_hold_new_jobs_holds_them(
    gateway: Printgate, tmp_path: Path
) -> None:
    uri = gateway.queue_uri("office")
    pdf = make_pdf(tmp_path / "one.pdf", pages=1)
    ok(operate(uri, Op.DISABLE_PRINTER))
    assert printer_state(uri)["printer-is-accepting-jobs"] == [False]
    assert print_pdf(uri, pdf).code == Status.NOT_ACCEPTING_JOBS
    ok(operate(uri, Op.ENABLE_PRINTER))
    assert printer_state(uri)["printer-is-accepting-jobs"] == [True]

    ok(operate(uri, Op.HOLD_NEW_JOBS))
    assert "hold-new-jobs" in printer_state(uri)["printer-state-reasons"]
    held = job_id(print_pdf(uri, pdf))
    own_hold = job_id(print_pdf(uri, pdf, hold="indefinite"))
    assert job_state(uri, held) == HELD
    ok(operate(uri, Op.RELEASE_HELD_NEW_JOBS))
    wait_state(uri, held, COMPLETED)
    # A job its user held stays held: only the queue's hold was lifted.
    assert job_state(uri, own_hold) == HELD
    assert "hold-new-jobs" not in printer_state(uri)["printer-state-reasons"]


def test_operator_message_cancel_jobs_and_purge(gateway: Printgate, tmp_path: Path) -> None:
    uri = gateway.queue_uri("office")
    pdf = make_pdf(tmp_path / "one.pdf", pages=1)
    ok(operate(uri, Op.SET_PRINTER_ATTRIBUTES,
               printer=[m.text("printer-message-from-operator", "Toner on order")]))  # fmt: skip
    assert printer_state(uri)["printer-message-from-operator"] == ["Toner on order"]
    _, reply = operate(uri, Op.SET_PRINTER_ATTRIBUTES,
                            printer=[m.text("printer-info", "mine now")])  # fmt: skip
    assert reply is not None and reply.code == Status.ATTRIBUTES_NOT_SETTABLE
    supported = ok(operate(uri, Op.GET_PRINTER_SUPPORTED_VALUES)).group(Tag.PRINTER)
    assert supported is not None and supported.get("printer-message-from-operator") is not None
    settable = printer_state(uri)["printer-settable-attributes-supported"]
    assert settable == ["printer-message-from-operator"]

    first, second, third = (job_id(print_pdf(uri, pdf, hold="indefinite")) for _ in range(3))
    _, reply = operate(uri, Op.CANCEL_JOBS, m.integer("job-ids", first, 999999))
    assert reply is not None and reply.code == Status.NOT_POSSIBLE  # none canceled then
    assert job_state(uri, first) == HELD
    ok(operate(uri, Op.CANCEL_JOBS, m.integer("job-ids", first)))
    assert (job_state(uri, first), job_state(uri, second)) == (CANCELED, HELD)
    ok(operate(uri, Op.PURGE_JOBS))
    assert (job_state(uri, second), job_state(uri, third)) == (CANCELED, CANCELED)


def test_promote_suspend_and_resume_jobs_of_a_paused_queue(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_path: Path
) -> None:
    uri = gateway.queue_uri("office")
    pdf = make_pdf(tmp_path / "one.pdf", pages=1)
    ok(operate(uri, Op.PAUSE_PRINTER))
    first, second, third = (job_id(print_pdf(uri, pdf, name)) for name in ("A", "B", "C"))
    ok(operate(uri, Op.PROMOTE_JOB, m.integer("job-id", third)))
    # Without credentials the job operations are refused like the queue's.
    assert operate(uri, Op.SUSPEND_CURRENT_JOB, m.integer("job-id", first), auth=None)[0] == 401
    ok(operate(uri, Op.SUSPEND_CURRENT_JOB, m.integer("job-id", first)))
    assert job_state(uri, first) == HELD
    _, reply = operate(uri, Op.SCHEDULE_JOB_AFTER, m.integer("job-id", second))
    assert reply is not None and reply.code == Status.NOT_POSSIBLE  # the third comes after it
    ok(operate(uri, Op.RESUME_PRINTER))
    wait_state(uri, second, COMPLETED)
    wait_state(uri, third, COMPLETED)
    # The promoted job reached the printer first (ippeveprinter numbers what it receives).
    received = sorted(ippeveprinter.wait_documents(2), key=lambda p: int(p.name.split("-")[0]))
    assert [p.name for p in received] == ["1-c.pdf", "2-b.pdf"], received
    assert job_state(uri, first) == HELD
    ok(operate(uri, Op.RESUME_JOB, m.integer("job-id", first)))
    wait_state(uri, first, COMPLETED)
    # Printed and charged, its document is gone: it cannot be printed again.
    deadline = time.monotonic() + 60
    while recorded(gateway, first)["charge"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
    _, reply = operate(uri, Op.RESTART_JOB, m.integer("job-id", first))
    assert reply is not None and reply.code == Status.NOT_POSSIBLE, reply
