"""The console's jobs: the view filtered and paged by id, its event stream fed by the jobs'
own hooks, a job's page with its charge and history, release with the credentials a held job
lacks, cancel, and the administrators' audited change of a finished job's record."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounting.lists import Lists
from gateway.accounting.rates import Rates
from gateway.analysis.figures import JobOptions
from gateway.identity.accounts import Accounts
from gateway.ipp import JobState
from gateway.ipp import model as m
from gateway.store.audit import Actor, AuditFilter, entries
from gateway.store.report_models import ReportRollupRow
from gateway.store.store import Store
from tests.harness import InProcess, in_process
from tests.ipp_call import job_state, print_job
from tests.web_client import WebClient

ADMIN_PASSWORD = "a long admin password"
KEEPER_PASSWORD = "a long keeper password"
LINES = ("mono_lines", "color_lines", "low_density", "high_density")
RATES = {
    "settings": {"currency": "EUR", "tax_rate": "21", "units": "metric"},
    "models": {
        "*": {
            "cost": {"lines": {"mono_lines": {"area_printed": "1.00"}}, "service": "0.10"},
            "price": {"lines": {n: {"area_printed": "100"} for n in LINES}},
        }
    },
}


@pytest.fixture
async def gw(tmp_path: Path, database_url: str) -> AsyncIterator[InProcess]:
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
        queues=[
            {"name": "demo", "printers": ["virtual"]},
            {"name": "phones", "printers": ["virtual"], "auth": "username", "require": ["project"]},
        ],
    ) as running:
        accounts = Accounts(running.gateway.jobs.store)
        await accounts.set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        await accounts.add(Actor.cli(), "keeper", KEEPER_PASSWORD, "bookkeeper", "k@example.org")
        await Rates(running.gateway.jobs.store).load(RATES, actor=Actor.cli())
        yield running


async def _client(gw: InProcess, user: str, password: str) -> WebClient:
    client = WebClient(f"http://127.0.0.1:{gw.port}")
    assert (await client.sign_in(user, password)).status == 303
    return client


async def _print(gw: InProcess, pdf: bytes, queue: str = "demo", **kw: str) -> int:
    sides = m.keyword("sides", "one-sided")
    return await asyncio.to_thread(print_job, gw.queue_uri(queue), pdf, job=[sides], **kw)


async def _until(check: Callable[[], Awaitable[bool]], what: str, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def _rolled_up(store: Store) -> dict[tuple[str, bool], int]:
    """Jobs counted in the reports' roll-ups, by project and billable flag."""

    async def fn(session: AsyncSession) -> dict[tuple[str, bool], int]:
        rows = await session.execute(select(ReportRollupRow))
        found: dict[tuple[str, bool], int] = {}
        for row in rows.scalars():
            key = (row.project, row.billable)
            found[key] = found.get(key, 0) + row.jobs
        return {key: count for key, count in found.items() if count}

    return await store.read(fn)


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-job-id="(\d+)"', page)]


async def test_the_view_filters_and_pages_by_id(gw: InProcess, tmp_pdf: Path) -> None:
    pdf = tmp_pdf.read_bytes()
    made = [await _print(gw, pdf, user=f"u{i % 2}", name=f"doc {i}") for i in range(5)]
    jobs = gw.gateway.jobs

    async def ended() -> bool:
        found = [await jobs.get(i) for i in made]
        return all(j is not None and j.is_terminal for j in found)

    await _until(ended, "the jobs printed")
    async with await _client(gw, "keeper", KEEPER_PASSWORD) as keeper:
        page = await keeper.get("/console/jobs")
        assert page.status == 200 and _ids(page.text) == made[::-1]
        assert (await keeper.get("/console/jobs?user=u1")).text.count("<tr data-job-id") == 2
        assert _ids((await keeper.get("/console/jobs?user=u0&state=done")).text) == [
            made[4],
            made[2],
            made[0],
        ]
        assert _ids((await keeper.get("/console/jobs?state=held")).text) == []
        today = (await jobs.get(made[0])).created_at.strftime("%Y-%m-%d")  # type: ignore[union-attr]
        assert _ids((await keeper.get(f"/console/jobs?from={today}&to={today}")).text) == made[::-1]
        assert _ids((await keeper.get("/console/jobs?to=2000-01-01")).text) == []
        # Keyset pages of two, walked forwards and back.
        from webui.console.jobs import listing

        store = jobs.store
        first = await listing.page(store, listing.JobFilter(), size=2)
        assert [line.id for line in first.lines] == made[:2:-1] and first.newer is None
        second = await listing.page(store, listing.JobFilter(), before=first.older, size=2)
        assert [line.id for line in second.lines] == [made[2], made[1]]
        # A date range is a range of ids: from the third job's creation on, its and later.
        third = await jobs.get(made[2])
        assert third is not None
        since = await listing.page(store, listing.JobFilter(since=third.created_at))
        assert [line.id for line in since.lines] == made[:1:-1]
        until = await listing.page(store, listing.JobFilter(until=third.created_at))
        assert [line.id for line in until.lines] == made[1::-1]
        back = await listing.page(store, listing.JobFilter(), after=second.newer, size=2)
        assert [line.id for line in back.lines] == [line.id for line in first.lines]
        bad = await keeper.get("/console/jobs?from=31/12/2025&state=lost")
        assert bad.status == 400
        assert 'id="e-from"' in bad.text and 'id="e-state"' in bad.text


async def test_the_event_stream_tells_of_new_jobs(gw: InProcess, tmp_pdf: Path) -> None:
    async with await _client(gw, "keeper", KEEPER_PASSWORD) as keeper:
        url = f"http://127.0.0.1:{gw.port}/console/jobs/events"
        async with keeper.session.get(url) as stream:
            assert stream.status == 200
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            await stream.content.readuntil(b"\n\n")  # connected
            job_id = await _print(gw, tmp_pdf.read_bytes(), name="live one")
            seen: dict[str, object] = {}
            while seen.get("state") != "done":
                block = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 30)
                for line in block.decode().splitlines():
                    if line.startswith("data: "):
                        for job in json.loads(line[6:]):
                            if job["id"] == job_id:
                                seen = job
            assert seen["name"] == "live one" and seen["queue"] == "demo"


async def test_a_slow_listener_is_dropped_not_buffered() -> None:
    from gateway.jobs.events import JobStateChanged
    from gateway.jobs.record import Job
    from gateway.server import job_feed
    from gateway.store.store import now

    feed = job_feed.JobFeed()
    slow, fast = feed.listen(), feed.listen()
    for n in range(job_feed.QUEUE_BATCHES + 2):
        job = Job(id=n + 1, uuid=f"u{n}", queue="q", state=JobState.PENDING, created_at=now())
        feed.job_state_changed(JobStateChanged(job, None))
        await asyncio.sleep(job_feed.FLUSH_DELAY + 0.05)  # one batch each
        while not fast.queue.empty():
            fast.queue.get_nowait()
    assert slow not in feed.listeners and fast in feed.listeners and feed.dropped == 1
    assert slow.queue.qsize() == 1 and await slow.next_batch(1) is None
    assert len(feed.history(1)) == 1


async def test_a_job_page_release_cancel_and_amend(gw: InProcess, tmp_pdf: Path) -> None:
    pdf = tmp_pdf.read_bytes()
    store = gw.gateway.jobs.store
    await Lists(store).add("project", "phones", "Project146", actor=Actor.cli())
    held = await _print(gw, pdf, queue="phones", user="Pixel 7", name="boarding pass")
    uri = gw.queue_uri("phones")
    assert (await asyncio.to_thread(job_state, uri, held))[0] == JobState.PENDING_HELD
    async with (
        await _client(gw, "keeper", KEEPER_PASSWORD) as keeper,
        await _client(gw, "admin", ADMIN_PASSWORD) as admin,
    ):
        page = await keeper.get(f"/console/jobs/{held}")
        assert page.status == 200 and "boarding pass" in page.text
        assert f'action="/console/jobs/{held}/release"' in page.text
        assert "/amend" not in page.text  # not finished, and not an administrator
        refused = await keeper.post(f"/console/jobs/{held}/release", {"user": "dana"})
        assert refused.status == 400 and 'id="e-user"' in refused.text
        done = await keeper.post(
            f"/console/jobs/{held}/release", {"user": "dana", "project": "Project146"}
        )
        assert done.status == 303

        async def printed() -> bool:
            job = await gw.gateway.jobs.get(held)
            return job is not None and job.state == JobState.COMPLETED and job.costed_at is not None

        await _until(printed, "the released job printed and charged")
        assert await _rolled_up(store) == {("Project146", True): 1}
        page = await admin.get(f"/console/jobs/{held}")
        assert "Project146" in page.text and "dana" in page.text
        assert 'id="breakdown-price"' in page.text and 'id="breakdown-cost"' in page.text
        assert '<th scope="row">sides</th><td>one-sided</td>' in page.text  # IPP attributes
        # Cancel: refused for an ended job, done for a waiting one.
        assert (await keeper.post(f"/console/jobs/{held}/cancel")).status == 409
        waiting = await _print(gw, pdf, queue="phones", user="Pixel 8")
        assert (await keeper.post(f"/console/jobs/{waiting}/cancel")).status == 303
        assert (await gw.gateway.jobs.get(waiting)).state == JobState.CANCELED  # type: ignore[union-attr]
        # Amend: administrators only, audited, the record follows.
        change = {"project": "Project9", "department": "", "comment": "re-filed"}
        assert (await keeper.post(f"/console/jobs/{held}/amend", change)).status == 403
        assert (await admin.post(f"/console/jobs/{held}/amend", change)).status == 303
        job = await gw.gateway.jobs.get(held)
        assert job is not None and job.project == "Project9" and not job.billable
        assert job.comment == "re-filed"
        assert await _rolled_up(store) == {("Project9", False): 1}  # the reports follow
        [entry] = await entries(store, AuditFilter(action="job.amend"))
        assert _ids((await keeper.get("/console/jobs?project=Project9")).text) == [held]
        assert entry.actor == "admin" and entry.target == f"job {held}"
        assert entry.before["project"] == "Project146" and entry.after["project"] == "Project9"
        history = (await admin.get(f"/console/jobs/{held}")).text
        assert history.count("<td>20") >= 3  # accepted, held, released... each dated
        assert (await admin.get("/console/jobs/999999")).status == 404


def _two_page_pdf(path: Path) -> Path:
    """An A4 page with a small red square (colour lines), then an A5 page all black (a mono
    high density image)."""
    from reportlab.lib.pagesizes import A4, A5
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setFillColorRGB(1, 0, 0)
    pdf.rect(100, 100, 100, 100, fill=1, stroke=0)
    pdf.showPage()
    pdf.setPageSize(A5)
    pdf.setFillGray(0)
    pdf.rect(0, 0, A5[0], A5[1], fill=1, stroke=0)
    pdf.showPage()
    pdf.save()
    return path


def _page_rows(page: str) -> list[dict[str, str]]:
    """The per-page table's rows: their data attributes and cells' text."""
    rows = re.findall(
        r'<tr data-page="(\d+)" data-color="(\w+)" data-category="(\w*)">(.*?)</tr>', page
    )
    return [
        {
            "page": number,
            "color": color,
            "category": category,
            "cells": " | ".join(re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", cells)),
        }
        for number, color, category, cells in rows
    ]


async def test_a_job_page_shows_each_page_as_jobs_json_does(gw: InProcess, tmp_path: Path) -> None:
    pdf = _two_page_pdf(tmp_path / "two.pdf").read_bytes()
    job_id = await _print(gw, pdf, name="two pages")

    async def measured() -> bool:
        job = await gw.gateway.jobs.get(job_id)
        return job is not None and job.is_terminal and bool(job.measurement)

    await _until(measured, "the job printed and measured")
    async with await _client(gw, "keeper", KEEPER_PASSWORD) as keeper:
        page = await keeper.get(f"/console/jobs/{job_id}")
    assert page.status == 200
    assert '<table class="per-page" id="per-page">' in page.text
    assert re.search(r'<caption id="per-page-caption">[^<]+</caption>', page.text)
    assert page.text.count('<th scope="col">') >= 8
    rows = _page_rows(page.text)
    assert [(r["page"], r["color"], r["category"]) for r in rows] == [
        ("1", "color", "color_lines"),
        ("2", "mono", "high_density"),
    ]
    times = "\u00d7"  # the multiplication sign between width and height
    assert rows[0]["cells"].startswith(f"1 | 210 {times} 297 | colour | 0.00 % | ")
    assert rows[0]["cells"].endswith(" | 0.00 % | Colour lines")
    assert rows[1]["cells"] == (
        f"2 | 148 {times} 210 | mono | 0.00 % | 0.00 % | 0.00 % | 100.00 % | High density image"
    )
    # The CLI's JSON lists the same pages, with the same figures.
    config = tmp_path / "printgate.toml"  # where in_process wrote it
    listed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway", "jobs", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [job] = [j for j in json.loads(listed.stdout) if j["id"] == job_id]
    per_page = job["analysis"]["per_page"]
    assert job["analysis"]["per_page_truncated"] == 0 and job["analysis"]["pages"] == 2
    assert [(p["width_mm"], p["height_mm"], p["color"], p["category"]) for p in per_page] == [
        (210.0, 297.0, True, "color_lines"),
        (148.0, 210.0, False, "high_density"),
    ]
    first, second = per_page
    assert first["coverage"]["m"] > 0.001 and first["coverage"]["y"] > 0.001
    assert second["coverage"] == {"c": 0.0, "m": 0.0, "y": 0.0, "k": 1.0}
    shown = f"{first['coverage']['m'] * 100:.2f} %"
    assert rows[0]["cells"].split(" | ")[4] == shown  # M, as the page shows it


@pytest.mark.no_database
def test_a_huge_document_keeps_its_first_thousand_pages_and_counts_the_rest() -> None:
    from gateway.analysis import Ink, Page
    from gateway.analysis.figures import PAGES_KEPT, Thresholds, job_figures, page_figures

    pages = [Page(210.0, 297.0, Ink(k=0.05 * (i % 3)), 0.0) for i in range(PAGES_KEPT + 5)]
    kept = page_figures(pages, Thresholds())
    assert len(kept["per_page"]) == PAGES_KEPT and kept["per_page_truncated"] == 5
    assert kept["per_page"][2] == {
        "width_mm": 210.0,
        "height_mm": 297.0,
        "color": False,
        "coverage": {"c": 0.0, "m": 0.0, "y": 0.0, "k": 0.1},
        "category": "mono_lines",
    }
    # Beside the whole job's figures, whose keys stay as they were.
    whole = job_figures(pages, JobOptions()).as_dict()
    assert not set(kept) & set(whole) and whole["pages"] == PAGES_KEPT + 5
