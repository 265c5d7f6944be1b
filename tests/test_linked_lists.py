"""Lists linked to a CSV file on the server ("Link this path"), against a running printgate
whose shared scheduler re-reads the file every second and whose mail goes to aiosmtpd: the
link is made from the console, the grid turns read-only and follows the file as it is edited
on disk (rows added, changed, gone disabled), and a file that turns bad or unreadable changes
nothing and is mailed about once, not once per read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from gateway.accounting.linked_lists import Link, LinkedLists, LinkError, allowed_path
from gateway.accounting.lists import STATUSES, Entry, Lists
from gateway.config import ConfigError, parse
from gateway.identity.accounts import Accounts
from gateway.store.audit import Actor
from tests.console_fixtures import ADMIN_PASSWORD, audited, store_of
from tests.harness import InProcess, in_process
from tests.snmp_peers import SmtpSink
from tests.web_client import TOKEN_RE, WebClient

T = TypeVar("T")
GRID = "/console/queues/demo?tab=users"
SUBJECT = "printgate: the linked user file of demo is refused"


async def eventually(check: Callable[[], Awaitable[T]], what: str, within: float = 20) -> T:
    deadline = time.monotonic() + within
    while not (found := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
    return found


@pytest.fixture
async def gw(tmp_path: Path, database_url: str, smtp_sink: SmtpSink) -> AsyncIterator[InProcess]:
    (tmp_path / "lists").mkdir()
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
        queues=[{"name": "demo", "printers": ["virtual"]}],
        lists={"linked_dirs": [str(tmp_path / "lists")], "linked_interval": 1},
        mail={
            "host": smtp_sink.host,
            "port": smtp_sink.port,
            "security": "none",
            "to": ["ops@example.org"],
        },
    ) as running:
        await Accounts(store_of(running)).set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        yield running


async def users(gw: InProcess) -> dict[str, Entry]:
    found = await Lists(store_of(gw)).entries("user", "demo", STATUSES)
    return {entry.name: entry for entry in found}


async def link_of(gw: InProcess) -> Link:
    found = await LinkedLists(store_of(gw), gw.config.lists).get("user", "demo")
    assert found is not None
    return found


def refusals(sink: SmtpSink) -> int:
    return sum(message["Subject"] == SUBJECT for message in sink.received())


async def test_a_linked_file_is_followed_and_a_bad_one_mailed_once(
    gw: InProcess, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    path = tmp_path / "lists" / "staff.csv"
    path.write_text("USERNAME,FIRST NAME\nann,Ann\nbob,Bob\n", encoding="utf-8")
    async with WebClient(f"http://127.0.0.1:{gw.port}") as admin:
        assert (await admin.sign_in("admin", ADMIN_PASSWORD)).status == 303
        page = await admin.get(GRID)
        token = TOKEN_RE.search(page.text)
        assert token
        linked = await admin.request(
            "POST",
            "/console/grids/demo/users/link",
            data={"csrf_token": token.group(1), "path": str(path)},
        )
        assert linked.status == 303
        assert set(await users(gw)) == {"ann", "bob"}  # read at once
        page = await admin.get(GRID)
        assert f"Linked to the file {path}" in page.text and 'id="add-form"' not in page.text
        refused = await admin.request(
            "POST",
            "/console/grids/demo/users/add",
            data={"csrf_token": token.group(1), "name": "carl"},
        )
        assert refused.status == 400
        assert [e.after for e in await audited(gw, "user.link")] == [{"path": str(path)}]

        # Edited on disk: a row added, one changed, one gone.
        path.write_text("USERNAME,FIRST NAME\nann,Annie\ncarl,Carl\n", encoding="utf-8")

        async def followed() -> bool:
            found = await users(gw)
            return (
                set(found) == {"ann", "bob", "carl"}
                and found["ann"].detail("first_name") == "Annie"
                and found["bob"].status == "disabled"
                and found["carl"].status == "enabled"
            )

        await eventually(followed, "the grid to follow the file")
        page = await admin.get(GRID)
        assert "Annie" in page.text and "carl" in page.text

        # Turned bad: nothing changes, one mail, however many reads.
        before = await users(gw)
        path.write_text("USERNAME,FIRST NAME\nann,Ann\nGuest,G\n", encoding="utf-8")
        await eventually(lambda: _true(refusals(smtp_sink) == 1), "the refusal mail")
        first = await link_of(gw)
        assert first.failing and first.problems[0][0] == 3
        assert first.read_at is not None

        async def read_twice_more() -> bool:
            now = await link_of(gw)
            return now.read_at is not None and (now.read_at - first.read_at).total_seconds() >= 2

        await eventually(read_twice_more, "two more reads")
        path.unlink()  # and then unreadable: the same episode
        await eventually(_missing_noticed(gw), "the missing file noticed")
        assert refusals(smtp_sink) == 1
        assert await users(gw) == before
        page = await admin.get(GRID)
        assert "The last read was refused" in page.text

        # Good again, then bad again: a new episode, a second mail.
        path.write_text("USERNAME,FIRST NAME\nann,Ann\n", encoding="utf-8")

        async def recovered() -> bool:
            return not (await link_of(gw)).failing

        await eventually(recovered, "the file applied again")
        assert (await users(gw))["carl"].status == "disabled"
        path.write_text("not,a,list\n1,2,3\n", encoding="utf-8")
        await eventually(lambda: _true(refusals(smtp_sink) == 2), "a second refusal mail")

        unlinked = await admin.request(
            "POST",
            "/console/grids/demo/users/unlink",
            data={"csrf_token": token.group(1)},
        )
        assert unlinked.status == 303
        page = await admin.get(GRID)
        assert 'id="add-form"' in page.text


async def _true(value: bool) -> bool:
    return value


def _missing_noticed(gw: InProcess) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return any("cannot read" in text for _line, text in (await link_of(gw)).problems)

    return check


@pytest.mark.no_database
def test_only_files_inside_the_allowed_directories(tmp_path: Path) -> None:
    allowed = tmp_path / "lists"
    allowed.mkdir()
    (tmp_path / "secret.csv").write_text("USERNAME\nroot\n")
    (allowed / "escape.csv").symlink_to(tmp_path / "secret.csv")
    assert allowed_path(str(allowed / "staff.csv"), [str(allowed)]) == allowed / "staff.csv"
    for refused in (
        allowed / "escape.csv",  # a link out of the directory
        allowed / ".." / "secret.csv",
        Path("lists/staff.csv"),  # relative
    ):
        with pytest.raises(LinkError):
            allowed_path(str(refused), [str(allowed)])
    with pytest.raises(LinkError, match="linked_dirs"):
        allowed_path(str(allowed / "staff.csv"), [])


@pytest.mark.no_database
@pytest.mark.parametrize("directory", ["lists", "/"])
def test_linked_dirs_are_absolute_folders(directory: str) -> None:
    with pytest.raises(ConfigError, match=r"\[lists\] linked_dirs"):
        parse({"lists": {"linked_dirs": [directory]}})
