"""The jobs view and the fleet in chromium: a job printed with ipptool appears in the live view
without a reload and its page's charge is the one `printgate jobs --json` reports; a held job
is released from its page and reaches ippeveprinter; the fleet shows an snmpsim device's
counter rising, and its page charts it. Every page passes axe-core."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Page

from gateway.accounting.lists import Lists
from gateway.accounting.rates import Rates
from gateway.ipp import JobState
from gateway.store.audit import Actor
from tests.browser import ConsoleFactory
from tests.ipp_call import job_state, print_job
from tests.peers import IppEvePrinter, ipptool
from tests.snmp_peers import SnmpSim, hp_printer
from tests.test_console_jobs import RATES


def _jobs_json(config: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "jobs", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


async def _breakdown(page: Page, kind: str) -> dict[str, str]:
    """The amounts of the page's cost or price table, by line."""
    rows = page.locator(f"#breakdown-{kind} tbody tr")
    found = {}
    for index in range(await rows.count()):
        row = rows.nth(index)
        line = await row.get_attribute("data-line")
        found[str(line)] = (await row.locator("td.amount").inner_text()).strip()
    return found


def _expected(charge: dict[str, Any], kind: str) -> dict[str, str]:
    breakdown = charge[kind]["breakdown"]
    lines = {name: line["amount"] for name, line in breakdown["lines"].items()}
    return lines | {k: breakdown[k] for k in ("paper", "service", "net", "tax", "gross")}


async def test_live_jobs_release_and_fleet(
    console_factory: ConsoleFactory,
    ippeveprinter: IppEvePrinter,
    snmpsim_factory: Callable[..., SnmpSim],
    tmp_pdf: Path,
) -> None:
    sim = snmpsim_factory(hp_printer(serial="RISE1", life="65:numeric|initial=1000,rate=50"))
    console = await console_factory.start(
        printers=[{"name": "eve", "uri": ippeveprinter.uri}],
        queues=[
            {"name": "office", "printers": ["eve"]},
            {"name": "phones", "printers": ["eve"], "auth": "username", "require": ["project"]},
        ],
        snmp={"devices": [sim.address], "poll_interval": 1.0, "timeout": 1.0},
    )
    gw = console.gw
    store = gw.gateway.jobs.store
    await Rates(store).load(RATES, actor=Actor.cli())
    await Lists(store).add("project", "phones", "Project146", actor=Actor.cli())
    page = await console.signed_in_page()

    # The live view: a job printed with ipptool shows up and ends, with no reload.
    await console.visit(page, "/console/jobs")
    await page.wait_for_selector("#jobs[data-streaming=yes]")
    printed = await asyncio.to_thread(
        ipptool, gw.queue_uri("office"), "print-job.test", document=tmp_pdf
    )
    assert printed.returncode == 0, printed.stdout + printed.stderr
    row = page.locator("#jobs tbody tr").first
    await row.locator(".state-done").wait_for(timeout=60_000)
    job_id = int(str(await row.get_attribute("data-job-id")))
    await console.keep(page)
    assert page.url.endswith("/console/jobs")  # never reloaded

    # Its page: the charge as the CLI reports it (wait for the charge to be recorded).
    for _ in range(300):
        record = next(j for j in _jobs_json(Path(gw.config.source)) if j["id"] == job_id)
        if record["charge"] is not None:
            break
        await asyncio.sleep(0.2)
    await row.get_by_role("link", name=str(job_id)).click()
    await page.wait_for_url(f"**/console/jobs/{job_id}")
    await console.visit(page, f"/console/jobs/{job_id}")
    for kind in ("cost", "price"):
        assert await _breakdown(page, kind) == _expected(record["charge"], kind)

    # A held job released from its page reaches the printer.
    before = len(ippeveprinter.documents())
    held = await asyncio.to_thread(
        print_job, gw.queue_uri("phones"), tmp_pdf.read_bytes(), name="boarding", user="Pixel 7"
    )
    state = await asyncio.to_thread(job_state, gw.queue_uri("phones"), held)
    assert state[0] == JobState.PENDING_HELD
    await console.visit(page, f"/console/jobs/{held}")
    await page.get_by_label("User name").fill("dana")
    await page.get_by_label("Project", exact=True).fill("Project146")
    await page.get_by_role("button", name="Release the job").click()
    await page.get_by_role("status").filter(has_text="The job is released.").wait_for()
    await asyncio.to_thread(ippeveprinter.wait_documents, before + 1, 60)

    # The fleet: the device's counter rises from one read to the next.
    async def total() -> int | None:
        await console.visit(page, "/console/fleet", check=False)
        cell = page.locator("tr", has_text=sim.address).locator("td").nth(5)
        text = (await cell.inner_text()).strip() if await cell.count() else ""
        return int(text) if text.isdigit() else None

    first = None
    for _ in range(300):
        first = await total()
        if first is not None:
            break
        await asyncio.sleep(0.2)
    assert first is not None, "the device was never read"
    later = first
    for _ in range(300):
        later = await total() or first
        if later > first:
            break
        await asyncio.sleep(0.2)
    assert later > first
    await console.visit(page, "/console/fleet")
    await page.locator("tr", has_text=sim.address).get_by_role("link").first.click()
    await page.wait_for_selector("svg.meter-chart")
    await console.visit(page, page.url)
