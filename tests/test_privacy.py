"""Privacy between users over IPP (CUPS' JobPrivateValues): another user's job-name, document
name and originating host are left out of Get-Jobs and Get-Job-Attributes, and another user's
job can't be cancelled, held, released or changed; console administrators, authenticated with
HTTP Basic, see and do everything. Over HTTP Basic on a password queue, and with
requesting-user-name on an auth=none queue; jobs stay held so that nothing races the checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.ipp import Message, Op, Status, Tag
from gateway.ipp import model as m
from tests.ipp_call import ipp_http
from tests.peers import Printgate
from tests.test_credentials import printgate_cli

PRIVATE = ("job-name", "document-name-supplied", "job-originating-host-name")
ALICE, BOB, ADMIN = ("alice", "wonder-1"), ("bob", "builder-2"), ("root-admin", "Adm1n-secret!")


@pytest.fixture
def gateway(printgate_factory: Callable[..., Printgate], tmp_path: Path) -> Printgate:
    gw = printgate_factory(
        {
            "printers": [{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
            "queues": [
                {"name": "secure", "printers": ["virtual"], "auth": "password"},
                {"name": "open", "printers": ["virtual"], "auth": "none"},
            ],
        }
    )
    for user, password in (ALICE, BOB):
        printgate_cli(gw, "user", "add", "secure", user, "--password-stdin", password=password)
    printgate_cli(gw, "admin", "add", ADMIN[0], "--role", "admin", "--email", "a@example.org",
        "--password-stdin", password=ADMIN[1])  # fmt: skip
    return gw


def held_job(uri: str, user: str, auth: tuple[str, str] | None = None) -> int:
    status, reply = ipp_http(
        uri,
        Op.PRINT_JOB,
        m.name_("job-name", f"{user}'s salary review"),
        m.name_("document-name", "salaries.pdf"),
        m.mime("document-format", "application/pdf"),
        job=[m.keyword("job-hold-until", "indefinite")],
        document=b"%PDF-1.4\n%%EOF\n",
        user=user,
        auth=auth,
    )
    assert status == 200 and reply is not None and reply.code == Status.OK, (status, reply)
    group = reply.group(Tag.JOB)
    job_id = group.get("job-id") if group else None
    assert job_id is not None and isinstance(job_id.value, int)
    return job_id.value


def call(
    uri: str, op: Op, job_id: int, user: str, auth: tuple[str, str] | None = None
) -> tuple[int, Message | None]:
    return ipp_http(
        uri,
        op,
        m.integer("job-id", job_id),
        m.keyword("requested-attributes", "all"),
        user=user,
        auth=auth,
    )


def jobs(uri: str, user: str, auth: tuple[str, str] | None = None) -> dict[int, dict[str, object]]:
    status, reply = ipp_http(
        uri,
        Op.GET_JOBS,
        m.keyword("requested-attributes", "job-id", "job-name", *PRIVATE[1:], "job-state"),
        m.keyword("which-jobs", "all"),
        user=user,
        auth=auth,
    )
    assert status == 200 and reply is not None and reply.code == Status.OK, (status, reply)
    found = {}
    for group in reply.groups_of(Tag.JOB):
        values = {a.name: a.value for a in group}
        found[int(str(values["job-id"]))] = values
    return found


def shown(values: dict[str, object]) -> set[str]:
    return {name for name in PRIVATE if name in values}


def test_password_queue_keeps_jobs_private_between_authenticated_users(
    gateway: Printgate,
) -> None:
    uri = gateway.queue_uri("secure")
    alices = held_job(uri, "alice", ALICE)

    assert shown(jobs(uri, "alice", ALICE)[alices]) == set(PRIVATE)
    assert jobs(uri, "alice", ALICE)[alices]["job-name"] == "alice's salary review"
    for who, auth in (("bob", BOB), ("alice", None), ("alice", ("alice", "wrong"))):
        listed = jobs(uri, who, auth)[alices]
        assert shown(listed) == set(), (who, listed)
        status, reply = call(uri, Op.GET_JOB_ATTRIBUTES, alices, who, auth)
        assert status == 200 and reply is not None and reply.code == Status.OK
        group = reply.group(Tag.JOB)
        assert group is not None and group.get("job-originating-user-name") is not None
        assert not {n for n in PRIVATE if group.get(n) is not None}, (who, group)
    assert shown(jobs(uri, ADMIN[0], ADMIN)[alices]) == set(PRIVATE)

    # Bob, authenticated, is forbidden; without credentials the queue asks for them (401).
    for op in (Op.CANCEL_JOB, Op.HOLD_JOB, Op.RELEASE_JOB):
        status, reply = call(uri, op, alices, "bob", BOB)
        assert status == 200 and reply is not None and reply.code == Status.FORBIDDEN, op
        status, reply = call(uri, op, alices, "alice")
        assert status == 401, (op, status)
    status, reply = ipp_http(
        uri,
        Op.SET_JOB_ATTRIBUTES,
        m.integer("job-id", alices),
        job=[m.name_("job-name", "bob was here")],
        user="bob",
        auth=BOB,
    )
    assert reply is not None and reply.code in (Status.FORBIDDEN, Status.NOT_AUTHORIZED)
    # Cancel-My-Jobs with someone else's name and a wrong password cancels nothing.
    status, reply = ipp_http(uri, Op.CANCEL_MY_JOBS, user="alice", auth=("alice", "wrong"))
    assert status == 401
    assert jobs(uri, "alice", ALICE)[alices]["job-name"] == "alice's salary review"

    # The administrator may; so may alice.
    status, reply = call(uri, Op.RELEASE_JOB, held_job(uri, "alice", ALICE), "x", ADMIN)
    assert reply is not None and reply.code == Status.OK
    status, reply = call(uri, Op.CANCEL_JOB, alices, "alice", ALICE)
    assert reply is not None and reply.code == Status.OK


def test_open_queue_goes_by_requesting_user_name(gateway: Printgate) -> None:
    uri = gateway.queue_uri("open")
    carols = held_job(uri, "carol")

    assert shown(jobs(uri, "carol")[carols]) == set(PRIVATE)
    assert shown(jobs(uri, "dave")[carols]) == set()
    assert shown(jobs(uri, "dave", ADMIN)[carols]) == set(PRIVATE)
    for op in (Op.CANCEL_JOB, Op.HOLD_JOB, Op.RELEASE_JOB):
        status, reply = call(uri, op, carols, "dave")
        assert status == 200 and reply is not None and reply.code == Status.NOT_AUTHORIZED, op
    # An administrator's credentials carry the day on any queue.
    status, reply = call(uri, Op.HOLD_JOB, carols, "dave", ADMIN)
    assert reply is not None and reply.code == Status.OK
    status, reply = call(uri, Op.CANCEL_JOB, carols, "carol")
    assert reply is not None and reply.code == Status.OK
