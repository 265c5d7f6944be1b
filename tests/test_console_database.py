"""Preferences, Database: a backup downloaded from the console restores (staged, applied at the
next start) to what it held; an archive of another product is refused and nothing changes;
scheduled backup settings override the TOML and the next scheduled backup follows them; the
clean-up deletes exactly the removed entries and the old ended jobs, after offering their CSV
with formulas neutralised."""

from __future__ import annotations

import asyncio
import csv
import io
import tarfile
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, async_playwright
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounting.lists import Lists
from gateway.accounting.rates import Rates
from gateway.identity.accounts import Accounts
from gateway.ipp import JobState
from gateway.maintenance import restore
from gateway.maintenance.backup import read
from gateway.maintenance.scheduled_backups import ScheduledBackups
from gateway.runtime.mail import Mailer
from gateway.store.audit import Actor, AuditFilter, entries
from gateway.store.models import JobRow
from gateway.store.store import Store
from tests.browser import ADMIN_PASSWORD as BROWSER_PASSWORD
from tests.browser import CHROMIUM, Console, ConsoleFactory, axe_check
from tests.harness import InProcess, in_process
from tests.web_client import WebClient

ADMIN_PASSWORD = "a long admin password"
PAGE = "/preferences/database"
RATES = {"models": {"*": {"price": {"lines": {"mono_lines": {"area_printed": "1.25"}}}}}}


def tables(tmp_path: Path) -> dict[str, Any]:
    return {
        "printers": [{"name": "virtual", "uri": (tmp_path / "out").as_uri()}],
        "queues": [{"name": "office", "printers": ["virtual"]}],
    }


async def signed_in(gw: InProcess) -> WebClient:
    await Accounts(gw.gateway.jobs.store).set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
    client = WebClient(f"http://127.0.0.1:{gw.port}")
    assert (await client.sign_in("admin", ADMIN_PASSWORD)).status == 303
    return client


@pytest.fixture
async def web(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[InProcess, WebClient]]:
    async with in_process(tmp_path, database_url, **tables(tmp_path)) as gw:
        async with await signed_in(gw) as client:
            yield gw, client


async def upload_archive(client: WebClient, data: bytes, filename: str) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf_token", await client.token_for())
    form.add_field("archive", data, filename=filename, content_type="application/gzip")
    reply = await client.request("POST", f"{PAGE}/restore", data=form)
    return reply.status, reply.text


async def download_backup(client: WebClient) -> bytes:
    token = await client.token_for()
    async with client.session.post(
        client.base_url + f"{PAGE}/backup", data={"csrf_token": token}
    ) as reply:
        assert reply.status == 200, await reply.text()
        assert reply.headers["Content-Type"] == "application/gzip"
        assert "attachment" in reply.headers["Content-Disposition"]
        return await reply.read()


async def test_a_downloaded_backup_restores_at_the_next_start(
    tmp_path: Path, database_url: str
) -> None:
    archive = tmp_path / "downloaded.tar.gz"
    async with in_process(tmp_path, database_url, **tables(tmp_path)) as gw:
        store = gw.gateway.jobs.store
        await Rates(store).load(RATES, actor=Actor.cli())
        async with await signed_in(gw) as client:
            archive.write_bytes(await download_backup(client))
            staging = tmp_path / "check"
            staging.mkdir()
            assert read(archive, staging).rows("rate_tables")  # a whole printgate backup
            # Changed after the backup: what the restore must undo.
            await Rates(store).remove("*", actor=Actor.cli())
            await Lists(store).add("project", "office", "Later", actor=Actor.cli())

            status, _page = await upload_archive(client, archive.read_bytes(), "mine.tar.gz")
            assert status == 303
            page = (await client.get(PAGE)).text
            assert 'id="restore-pending"' in page and "mine.tar.gz" in page
            # Nothing changes in the running gateway: it waits for the next start.
            assert await Rates(store).models() == {}
            staged = await entries(store, AuditFilter(action="database.restore.staged"))
            assert [e.actor for e in staged] == ["admin"]
        config = gw.config

    # What printgate's start-up does before it opens its store.
    done = await asyncio.to_thread(restore.apply_pending, config)
    assert done is not None and done.aside is not None and done.aside.exists()
    assert restore.pending(config) is None

    async with in_process(tmp_path, database_url, **tables(tmp_path)) as gw:
        store = gw.gateway.jobs.store
        assert await Rates(store).models() == RATES["models"]
        assert await Lists(store).get("project", "office", "Later") is None
        logged = await entries(store, AuditFilter(action="database.restore"))
        assert [(e.actor, e.target) for e in logged if e.action == "database.restore"] == [
            ("admin", "mine.tar.gz")
        ]
        # The backup's own entry was written after its archive was made: it is not in it.
        assert not await entries(store, AuditFilter(action="database.backup"))


def foreign_tar_gz() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        data = b"not printgate's"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def a_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.json", '{"format": "printgate-backup"}')
    return out.getvalue()


async def test_an_archive_of_another_product_is_refused_and_nothing_changes(
    web: tuple[InProcess, WebClient],
) -> None:
    gw, client = web
    store = gw.gateway.jobs.store
    await Rates(store).load(RATES, actor=Actor.cli())
    for data, name in ((foreign_tar_gz(), "other.tar.gz"), (a_zip(), "backup.tar.gz")):
        status, page = await upload_archive(client, data, name)
        assert status == 400, name
        assert 'id="restore-error"' in page and "not a printgate backup" in page, page[-3000:]
        assert name in page  # named as uploaded, not by a temporary path
    # A printgate archive, but a job is not finished: its record would be replaced. Refused.
    archive = await download_backup(client)
    held = job_row(9500, "erin", JobState.PENDING_HELD, 0)
    await store.write(lambda session: session.add(held))
    status, page = await upload_archive(client, archive, "good.tar.gz")
    assert status == 409 and "1 jobs are not finished" in page
    assert restore.pending(gw.config) is None
    assert not (gw.config.server.data_dir / restore.PENDING_DIR).exists()
    assert await Rates(store).models() == RATES["models"]
    assert not await entries(store, AuditFilter(action="database.restore"))


async def test_scheduled_backup_settings_override_the_toml(
    web: tuple[InProcess, WebClient], tmp_path: Path
) -> None:
    gw, client = web
    store = gw.gateway.jobs.store
    token = await client.token_for()
    wrong = {"schedule": "sometimes", "directory": "relative/dir", "keep": "0", "notify": "on"}
    reply = await client.post(f"{PAGE}/schedule", wrong, token=token)
    assert reply.status == 400 and 'id="e-keep"' in reply.text
    wrong["keep"] = "3"
    reply = await client.post(f"{PAGE}/schedule", wrong, token=token)
    assert reply.status == 400 and 'id="e-schedule"' in reply.text
    folder = tmp_path / "console-backups"
    good = {"schedule": "daily 02:00", "directory": str(folder), "keep": "2", "notify": ""}
    assert (await client.post(f"{PAGE}/schedule", good, token=token)).status == 303
    page = (await client.get(PAGE)).text
    assert 'value="daily 02:00"' in page and f'value="{folder}"' in page

    # The next scheduled backup of this gateway follows the console's values.
    backups = ScheduledBackups(gw.config, store, Mailer(gw.config.mail))
    written = [await backups.run() for _ in range(3)]
    assert all(path is not None and path.parent == folder for path in written)
    assert len(list(folder.glob("printgate-*.tar.gz"))) <= 2
    logged = await entries(store, AuditFilter(action="backup.settings"))
    assert logged[0].after["directory"] == str(folder)


def job_row(job_id: int, user: str, state: JobState, age_days: int) -> JobRow:
    created = datetime.now(UTC) - timedelta(days=age_days)
    return JobRow(
        id=job_id,
        uuid=f"urn:uuid:00000000-0000-0000-0000-{job_id:012d}",
        queue="office",
        user=user,
        name=f"job {job_id}",
        state=int(state),
        created_at=created,
        completed_at=created if state == JobState.COMPLETED else None,
    )


async def job_ids(store: Store) -> list[int]:
    async def fn(session: AsyncSession) -> list[int]:
        return list(await session.scalars(select(JobRow.id).order_by(JobRow.id)))

    return await store.read(fn)


async def test_clean_up_deletes_exactly_the_removed_entries_and_old_jobs(
    web: tuple[InProcess, WebClient],
) -> None:
    gw, client = web
    store = gw.gateway.jobs.store
    lists = Lists(store)
    for kind in ("user", "project", "department"):
        await lists.add(kind, "office", f"gone-{kind}", status="removed", actor=Actor.cli())  # type: ignore[arg-type]
        await lists.add(kind, "office", f"kept-{kind}", status="disabled", actor=Actor.cli())  # type: ignore[arg-type]
    rows = [
        job_row(9001, '=HYPERLINK("http://evil")', JobState.COMPLETED, 4 * 366),
        job_row(9002, "bob", JobState.CANCELED, 3 * 366),
        job_row(9003, "carol", JobState.PENDING_HELD, 4 * 366),  # unfinished: kept
        job_row(9004, "dana", JobState.COMPLETED, 300),  # recent: kept
    ]
    await store.write(lambda session: session.add_all(rows))

    plan = await client.get(f"{PAGE}/cleanup?years=2")
    assert plan.status == 200
    assert '<strong id="cleanup-jobs">2</strong>' in plan.text
    before = plan.text.split('name="before" value="')[1].split('"')[0]
    csv_link = plan.text.split('id="cleanup-csv" href="')[1].split('"')[0].replace("&amp;", "&")
    exported = await client.get(csv_link)
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    records = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [r["id"] for r in records] == ["9001", "9002"]
    assert records[0]["user"] == '\'=HYPERLINK("http://evil")'  # a formula shown as text
    assert records[1]["state"] == "canceled"

    reply = await client.post(
        f"{PAGE}/cleanup", {"before": before, "years": "2"}, token=await client.token_for()
    )
    assert reply.status == 303
    assert "2 jobs deleted" in (await client.get(reply.location)).text
    assert await job_ids(store) == [9003, 9004]
    for kind in ("user", "project", "department"):
        names = [
            e.name for e in await lists.entries(kind, "office", ("enabled", "disabled", "removed"))
        ]  # type: ignore[arg-type]
        assert names == [f"kept-{kind}"], kind
    actions = sorted(e.action for e in await entries(store, AuditFilter(action="cleanup.")))
    assert actions == ["cleanup.departments", "cleanup.jobs", "cleanup.projects", "cleanup.users"]


# --- in a browser ---------------------------------------------------------------------------


async def chromium(factory: ConsoleFactory) -> Browser:
    playwright = await factory.stack.enter_async_context(async_playwright())
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    factory.stack.push_async_callback(browser.close)
    return browser


async def test_in_a_browser_back_up_clean_up_and_restore(
    console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    factory = console_factory
    browser = await chromium(factory)
    archive = tmp_path / "from-the-browser.tar.gz"
    async with in_process(factory.tmp_path, factory.database_url, **tables(tmp_path)) as gw:
        store = gw.gateway.jobs.store
        await Accounts(store).set_password(Actor.cli(), "admin", BROWSER_PASSWORD)
        await Rates(store).load(RATES, actor=Actor.cli())
        await Lists(store).add("project", "office", "Gone", status="removed", actor=Actor.cli())
        old = [job_row(9101, "@SUM(A1)", JobState.COMPLETED, 5 * 366)]
        await store.write(lambda session: session.add_all(old))
        console = Console(gw, browser, factory.artifacts)
        page = await console.signed_in_page()
        await console.visit(page, "/preferences/database")

        async with page.expect_download() as backup:
            await page.get_by_role("button", name="Download a backup").click()
        await (await backup.value).save_as(archive)
        assert read(archive, tmp_path / "unpacked").rows("rate_tables")

        # Clean up: what would go, its CSV first, then for good.
        await page.get_by_label("Delete jobs older than (years)").fill("3")
        await page.get_by_role("button", name="See what would be deleted").click()
        await page.wait_for_selector("#cleanup-plan")
        await console.keep(page)
        await axe_check(page)
        assert await page.locator("#cleanup-jobs").inner_text() == "1"
        async with page.expect_download() as exported:
            await page.get_by_role("link", name="Export these 1 jobs as CSV first").click()
        text = Path(await (await exported.value).path()).read_text(encoding="utf-8-sig")
        assert [r["user"] for r in csv.DictReader(io.StringIO(text))] == ["'@SUM(A1)"]
        await page.get_by_role("button", name="Delete them for good").click()
        await page.wait_for_selector("#cleanup-done")
        await console.keep(page)
        assert await job_ids(store) == []
        assert await Lists(store).get("project", "office", "Gone") is None

        # Another product's archive is refused; the downloaded one is staged.
        foreign = tmp_path / "other.tar.gz"
        foreign.write_bytes(foreign_tar_gz())
        await page.get_by_label("Backup archive (.tar.gz)").set_input_files(foreign)
        await page.get_by_role("button", name="Check and restore").click()
        await page.wait_for_selector("#restore-error")
        await console.keep(page)
        assert "not a printgate backup" in await page.locator("#restore-error").inner_text()
        await Rates(store).remove("*", actor=Actor.cli())
        await page.get_by_label("Backup archive (.tar.gz)").set_input_files(archive)
        await page.get_by_role("button", name="Check and restore").click()
        await page.wait_for_selector("#restore-pending")
        await console.keep(page)
        await axe_check(page)
        config = gw.config
        shots = console.shots

    # The restart: printgate restores the staged archive before it opens its store.
    assert await asyncio.to_thread(restore.apply_pending, config) is not None
    async with in_process(factory.tmp_path, factory.database_url, **tables(tmp_path)) as gw:
        console = Console(gw, browser, factory.artifacts, shots=shots)
        page = await console.signed_in_page()  # the account as it was in the archive
        await console.visit(page, "/preferences/rates")
        assert await page.get_by_role("cell", name="* (every other model)").count() == 1
        await console.visit(page, "/preferences/database")
        assert await page.locator("#restore-pending").count() == 0
        # The archive was made before the clean-up: what it deleted is back.
        assert await job_ids(gw.gateway.jobs.store) == [9101]
