"""The credential gate end to end: real IPP requests to a printgate whose queues use each auth
mode, with users made by the printgate CLI, printing to ippeveprinter (or held, or refused)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.ipp import JobState, Op, Status, Tag
from gateway.ipp import model as m
from tests.ipp_call import ipp, ipp_http, job_state, job_value
from tests.peers import IppEvePrinter, Printgate, wait_for
from tests.slapd import DISABLED_FILTER, READER_DN, READER_PASSWORD, USERS, Slapd

PROJECT = "Project146/Engineering"


def printgate_cli(gw: Printgate, *args: str, password: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--config", str(gw.config_path)],
        input=f"{password}\n" if password is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def recorded(gw: Printgate, job_id: int) -> dict[str, Any]:
    jobs = json.loads(printgate_cli(gw, "jobs", "--json"))
    return next(j for j in jobs if j["id"] == job_id)


def submit(uri: str, pdf: bytes, **kwargs: Any) -> tuple[int, Any]:
    account = kwargs.pop("account", None)
    job = [m.attr("job-account-id", Tag.NAME, account)] if account else []
    return ipp_http(
        uri,
        Op.PRINT_JOB,
        m.mime("document-format", "application/pdf"),
        job=job,
        document=pdf,
        **kwargs,
    )


def ended(uri: str, job_id: int) -> int:
    return wait_for(
        lambda: (s := job_state(uri, job_id)[0]) >= JobState.CANCELED and s,
        60,
        what=f"job {job_id} ends",
    )


@pytest.fixture
def gateway(printgate_factory: Callable[..., Printgate], ippeveprinter: IppEvePrinter) -> Printgate:
    gw = printgate_factory(
        {
            "printers": [{"name": "eve", "uri": ippeveprinter.uri}],
            "queues": [
                {
                    "name": "secure",
                    "printers": ["eve"],
                    "auth": "password",
                    "require": ["project", "department"],
                },
                {"name": "listed", "printers": ["eve"], "auth": "list-password"},
                {"name": "named", "printers": ["eve"], "auth": "list"},
            ],
            "jobs": {"hold_expiry": 2.0},
        }
    )
    printgate_cli(gw, "user", "add", "secure", "alice", "--password-stdin", password="wonder")
    printgate_cli(gw, "project", "add", "secure", "Project146")
    printgate_cli(gw, "department", "add", "secure", "Engineering")
    printgate_cli(
        gw, "user", "add", "listed", "bob", "--password-stdin", "--disabled", password="builder"
    )
    printgate_cli(gw, "user", "add", "named", "carol")
    return gw


def test_password_queue_challenges_refuses_and_records_the_charge(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_pdf: Path
) -> None:
    uri, pdf = gateway.queue_uri("secure"), tmp_pdf.read_bytes()
    status, _ = submit(uri, pdf, account=PROJECT)
    assert status == 401
    status, _ = submit(uri, pdf, account=PROJECT, auth=("alice", "wrong"))
    assert status == 401
    status, reply = submit(uri, pdf, account=PROJECT, auth=("alice", "wonder"))
    assert status == 200 and reply is not None and reply.code == Status.OK
    job_id = job_value(reply, "job-id")
    assert isinstance(job_id, int)
    assert ended(uri, job_id) == JobState.COMPLETED
    assert len(ippeveprinter.wait_documents(1)) == 1
    record = recorded(gateway, job_id)
    assert (record["user"], record["project"], record["department"]) == (
        "alice",
        "Project146",
        "Engineering",
    )
    assert record["created"] and record["completed"]
    # Get-Printer-Attributes never needs credentials, and says how to give them.
    attrs = ipp(uri, Op.GET_PRINTER_ATTRIBUTES).group(Tag.PRINTER)
    assert attrs is not None
    assert attrs.get("uri-authentication-supported").text() == "basic"  # type: ignore[union-attr]
    time.sleep(0.5)
    assert len(ippeveprinter.documents()) == 1  # the refused attempts printed nothing


def test_missing_project_holds_until_set_job_attributes_supplies_it(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_pdf: Path
) -> None:
    uri = gateway.queue_uri("secure")
    status, reply = submit(uri, tmp_pdf.read_bytes(), auth=("alice", "wonder"))
    assert status == 200 and reply is not None
    job_id = job_value(reply, "job-id")
    state, reasons, message = job_state(uri, job_id)  # type: ignore[arg-type]
    assert state == JobState.PENDING_HELD and "account-info-needed" in reasons
    assert "needs a project and a department" in message
    wrong = ipp_http(
        uri,
        Op.SET_JOB_ATTRIBUTES,
        m.integer("job-id", job_id),  # type: ignore[arg-type]
        job=[m.attr("job-account-id", Tag.NAME, "Nope/Engineering")],
        auth=("alice", "wonder"),
    )[1]
    assert wrong is not None and wrong.code == Status.NOT_AUTHORIZED
    right = ipp(
        uri,
        Op.SET_JOB_ATTRIBUTES,
        m.integer("job-id", job_id),  # type: ignore[arg-type]
        job=[m.attr("job-account-id", Tag.NAME, PROJECT)],
        auth=("alice", "wonder"),
    )
    assert right.code == Status.OK
    assert ended(uri, job_id) == JobState.COMPLETED  # type: ignore[arg-type]
    assert recorded(gateway, job_id)["project"] == "Project146"  # type: ignore[arg-type]


def test_cups_clients_get_cups_account_codes_and_no_job(gateway: Printgate, tmp_pdf: Path) -> None:
    uri = gateway.queue_uri("secure")
    status, reply = submit(
        uri,
        tmp_pdf.read_bytes(),
        auth=("alice", "wonder"),
        user_agent="CUPS/2.4.2 (Linux 6.1; x86_64) IPP/2.0",
    )
    assert status == 200 and reply is not None
    assert reply.code == Status.CUPS_ACCOUNT_INFO_NEEDED
    assert reply.group(Tag.JOB) is None


def test_disabled_list_user_is_refused_until_enabled(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_pdf: Path
) -> None:
    uri = gateway.queue_uri("listed")
    status, reply = submit(uri, tmp_pdf.read_bytes(), auth=("bob", "builder"))
    assert status == 200 and reply is not None
    job_id = job_value(reply, "job-id")
    state, reasons, message = job_state(uri, job_id)  # type: ignore[arg-type]
    assert state == JobState.PENDING_HELD and "account-authorization-failed" in reasons
    assert message.startswith("Refused: the user 'bob' is disabled. Claim it at http://")
    printgate_cli(gateway, "user", "enable", "listed", "bob")
    status, reply = submit(uri, tmp_pdf.read_bytes(), auth=("bob", "builder"))
    assert reply is not None
    second = job_value(reply, "job-id")
    assert ended(uri, second) == JobState.COMPLETED  # type: ignore[arg-type]
    # Enabling bob releases nothing by itself: the refused job stays held until it is claimed
    # (or, with this fixture's 2-second hold_expiry on a busy machine, it has expired).
    state, reasons, _ = job_state(uri, job_id)  # type: ignore[arg-type]
    assert state == JobState.PENDING_HELD or (
        state == JobState.CANCELED and "job-canceled-by-system" in reasons
    ), (state, reasons)
    assert len(ippeveprinter.documents()) == 1


def test_list_mode_takes_listed_names_only_and_held_jobs_expire(
    gateway: Printgate, tmp_pdf: Path
) -> None:
    uri = gateway.queue_uri("named")
    ok = submit(uri, tmp_pdf.read_bytes(), user="carol")[1]
    assert ok is not None and ended(uri, job_value(ok, "job-id")) == JobState.COMPLETED  # type: ignore[arg-type]
    held = submit(uri, tmp_pdf.read_bytes(), user="mallory")[1]
    assert held is not None
    job_id = job_value(held, "job-id")
    state, reasons, message = job_state(uri, job_id)  # type: ignore[arg-type]
    assert state == JobState.PENDING_HELD and "account-authorization-failed" in reasons
    assert "'mallory' is not a user of this queue" in message
    state, reasons, message = wait_for(
        lambda: (s := job_state(uri, job_id))[0] == JobState.CANCELED and s,
        15,  # type: ignore[arg-type]
        what="held job expires",
    )
    assert "job-canceled-by-system" in reasons and "Expired" in message


# --- the directory --------------------------------------------------------------------------


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Slapd]:
    with Slapd(tmp_path / "slapd") as server:
        yield server


@pytest.fixture
def directory_gateway(
    printgate_factory: Callable[..., Printgate],
    ippeveprinter: IppEvePrinter,
    directory: Slapd,
    tmp_path: Path,
) -> Printgate:
    secret = tmp_path / "ldap.secret"
    secret.write_text(READER_PASSWORD + "\n")
    return printgate_factory(
        {
            "directory": {
                "url": directory.url,
                "base_dn": "dc=example,dc=org",
                "search_attribute": "uid",
                "filter": DISABLED_FILTER,
                "bind_dn": READER_DN,
                "bind_password_file": str(secret),
                "timeout": 2.0,
            },
            "printers": [{"name": "eve", "uri": ippeveprinter.uri, "graceful_failover": True}],
            "queues": [{"name": "ad", "printers": ["eve"], "auth": "directory"}],
        }
    )


def test_directory_users_print_others_do_not_and_failover_prints_as_unknown(
    directory_gateway: Printgate, directory: Slapd, ippeveprinter: IppEvePrinter, tmp_pdf: Path
) -> None:
    uri, pdf = directory_gateway.queue_uri("ad"), tmp_pdf.read_bytes()
    alice = USERS["alice"]
    assert submit(uri, pdf, auth=(alice.uid, "wrong"))[0] == 401
    dave = USERS["dave"]  # the right password, but outside the filter
    assert submit(uri, pdf, auth=(dave.uid, dave.password))[0] == 401
    _, reply = submit(uri, pdf, auth=(alice.uid, alice.password))
    assert reply is not None
    first = job_value(reply, "job-id")
    assert ended(uri, first) == JobState.COMPLETED  # type: ignore[arg-type]
    assert recorded(directory_gateway, first)["user"] == "alice"  # type: ignore[arg-type]
    directory.stop()
    _, reply = submit(uri, pdf, auth=(alice.uid, alice.password))
    assert reply is not None
    second = job_value(reply, "job-id")
    assert ended(uri, second) == JobState.COMPLETED  # type: ignore[arg-type]
    record = recorded(directory_gateway, second)  # type: ignore[arg-type]
    assert (record["user"], record["project"], record["department"]) == (
        "Unknown",
        "Unknown",
        "Unknown",
    )
    assert len(ippeveprinter.wait_documents(2)) == 2


def test_without_graceful_failover_a_directory_outage_holds_until_it_is_back(
    printgate_factory: Callable[..., Printgate],
    ippeveprinter: IppEvePrinter,
    directory: Slapd,
    tmp_path: Path,
    tmp_pdf: Path,
) -> None:
    secret = tmp_path / "reader.secret"
    secret.write_text(READER_PASSWORD)
    gw = printgate_factory(
        {
            "directory": {
                "url": directory.url,
                "base_dn": "dc=example,dc=org",
                "search_attribute": "uid",
                "bind_dn": READER_DN,
                "bind_password_file": str(secret),
                "timeout": 2.0,
            },
            "printers": [{"name": "eve", "uri": ippeveprinter.uri, "graceful_failover": False}],
            "queues": [{"name": "ad", "printers": ["eve"], "auth": "directory"}],
        }
    )
    uri, alice = gw.queue_uri("ad"), USERS["alice"]
    directory.stop()
    _, reply = submit(uri, tmp_pdf.read_bytes(), auth=(alice.uid, alice.password))
    assert reply is not None
    job_id = job_value(reply, "job-id")
    state, reasons, message = job_state(uri, job_id)  # type: ignore[arg-type]
    assert state == JobState.PENDING_HELD and "account-info-needed" in reasons
    assert "directory is unreachable" in message and "held until it is back" in message
    time.sleep(1.0)
    assert ippeveprinter.documents() == []
    directory.start()
    released = ipp(
        uri,
        Op.RELEASE_JOB,
        m.integer("job-id", job_id),  # type: ignore[arg-type]
        auth=(alice.uid, alice.password),
    )
    assert released.code == Status.OK
    assert ended(uri, job_id) == JobState.COMPLETED  # type: ignore[arg-type]
    assert recorded(gw, job_id)["user"] == "alice"  # type: ignore[arg-type]
