"""The audit log page (/audit/) over real HTTP: the entries of console and CLI changes with
their before and after, the querystring filter, and the CSV export of what the filter keeps
with formula-looking cells neutralised."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from gateway.identity.accounts import Accounts
from gateway.store.audit import Actor, append
from gateway.store.models import AuditRow
from tests.harness import InProcess, in_process
from tests.web_client import WebClient
from webui.console.audit import neutralised

ADMIN_PASSWORD = "a long admin password"


@pytest.fixture
async def gw(tmp_path: Path, database_url: str) -> AsyncIterator[InProcess]:
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
        queues=[{"name": "demo", "printers": ["virtual"]}],
    ) as running:
        store = running.gateway.jobs.store
        accounts = Accounts(store)
        await accounts.set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        await accounts.add(Actor.cli(), "keeper", "a long keeper password", "bookkeeper", "k@x.org")
        # A spreadsheet would run these as formulas; and an old entry, to filter by date.
        await append(store, Actor("=HYPERLINK(1)", "console"), "settings.mail", "+cmd", None, {})
        await append(store, Actor("admin", "console"), "settings.old", "@SUM(A1)", {"a": 1}, None)

        def backdate(session: object) -> None:
            session.execute(  # type: ignore[attr-defined]
                update(AuditRow)
                .where(AuditRow.action == "settings.old")
                .values(at=datetime(2024, 1, 15, 12, tzinfo=UTC))
            )

        await store.write(backdate)
        yield running


@pytest.fixture
async def admin(gw: InProcess) -> AsyncIterator[WebClient]:
    async with WebClient(f"http://127.0.0.1:{gw.port}") as client:
        assert (await client.sign_in("admin", ADMIN_PASSWORD)).status == 303
        yield client


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_the_log_shows_console_and_cli_changes(gw: InProcess, admin: WebClient) -> None:
    page = await admin.get("/audit/")
    assert page.status == 200
    assert "account.add" in page.text and "keeper" in page.text
    assert "command line" in page.text  # the CLI's changes, by source
    # The page's own console changes appear as they are made.
    await Accounts(gw.gateway.jobs.store).set_role(Actor("admin", "console"), "keeper", "admin")
    page = await admin.get("/audit/?action=account.role")
    assert "account.role" in page.text and "bookkeeper" in page.text
    assert "account.add" not in page.text


async def test_the_querystring_filters(admin: WebClient) -> None:
    page = await admin.get("/audit/?actor=HYPERLINK")
    assert "settings.mail" in page.text and "account.add" not in page.text
    page = await admin.get("/audit/?target=keep")
    assert "account.add" in page.text and "settings.mail" not in page.text
    page = await admin.get("/audit/?from=2024-01-15&to=2024-01-15")
    assert "settings.old" in page.text and "account.add" not in page.text
    assert 'value="2024-01-15"' in page.text  # the filter stays in its fields
    today = datetime.now(UTC).date()
    page = await admin.get(f"/audit/?from={today + timedelta(days=1)}")
    assert "No entry matches." in page.text
    page = await admin.get(f"/audit/?to={today}&action=settings.")
    assert "settings.mail" in page.text and "settings.old" in page.text


async def test_a_bad_date_is_shown_beside_its_field(admin: WebClient) -> None:
    page = await admin.get("/audit/?from=yesterday&actor=admin")
    assert page.status == 400
    assert 'id="e-from"' in page.text and "A date such as 2025-03-31 is needed." in page.text
    assert 'value="yesterday"' in page.text and 'value="admin"' in page.text
    page = await admin.get("/audit/?from=2024-02-01&to=2024-01-01")
    assert page.status == 400 and "The end is before the start." in page.text
    assert (await admin.get("/audit/export.csv?to=never")).status == 400


async def test_the_csv_export_keeps_the_filter_and_runs_no_formula(admin: WebClient) -> None:
    page = await admin.get("/audit/?action=settings.")
    assert 'href="/audit/export.csv?action=settings.' in page.text
    reply = await admin.get("/audit/export.csv?action=settings.")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in reply.headers["Content-Disposition"]
    header, *rows = rows_of(reply.text)
    assert header == ["at", "actor", "source", "action", "target", "before", "after"]
    by_action = {row[3]: row for row in rows}
    assert set(by_action) == {"settings.mail", "settings.old"}
    mail = by_action["settings.mail"]
    assert mail[1] == "'=HYPERLINK(1)" and mail[4] == "'+cmd"
    old = by_action["settings.old"]
    assert old[0] == "2024-01-15T12:00:00+00:00" and old[4] == "'@SUM(A1)"
    assert json.loads(old[5]) == {"a": 1} and old[6] == ""
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell

    everything = rows_of((await admin.get("/audit/export.csv")).text)
    assert {"account.add", "account.password"} <= {row[3] for row in everything[1:]}
    adds = [row for row in everything if row[3] == "account.add" and row[4] == "keeper"]
    assert json.loads(adds[0][6])["role"] == "bookkeeper" and adds[0][2] == "cli"


def test_neutralised() -> None:
    for risky in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert neutralised(risky) == "'" + risky
    for plain in ("admin", "", "1-2", "a=b", '{"a": 1}'):
        assert neutralised(plain) == plain


async def test_a_bookkeeper_may_not_read_the_log(gw: InProcess) -> None:
    async with WebClient(f"http://127.0.0.1:{gw.port}") as keeper:
        assert (await keeper.sign_in("keeper", "a long keeper password")).status == 303
        assert (await keeper.get("/audit/")).status == 403
        assert (await keeper.get("/audit/export.csv")).status == 403


async def test_the_log_pages_on_to_older_entries(gw: InProcess, admin: WebClient) -> None:
    store = gw.gateway.jobs.store
    for number in range(130):
        await append(store, Actor("admin", "console"), "paging.test", f"entry-{number:03d}")
    first = await admin.get("/audit/?action=paging.test")
    assert first.status == 200
    assert "entry-129" in first.text and "entry-030" in first.text
    assert "entry-029" not in first.text  # 100 a page, newest first
    older = re.search(r'href="(/audit/\?[^"]*before=\d+)"', first.text)
    assert older, "no link to older entries"
    second = await admin.get(older.group(1).replace("&amp;", "&"))
    assert "entry-029" in second.text and "entry-000" in second.text
    assert "entry-030" not in second.text and "before=" not in second.text
