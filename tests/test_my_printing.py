"""My printing in Debian's chromium: a phone's job, held for want of credentials, is seen only
from the phone's own address, claimed there on a 360-pixel-wide screen, and printed at the
price the page estimated; every page passes axe-core."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

from playwright.async_api import Browser, Page

from gateway.ipp import JobState
from gateway.jobs.record import Job
from tests.browser import ConsoleFactory, axe_check
from tests.peers import IppEvePrinter, make_pdf
from tests.test_my_printing_support import (
    PHONE_AGENT,
    PROJECT_PASSWORD,
    Relay,
    fill_lists,
    money,
    phones_queue,
    relay,
)
from webui.me.estimate import estimate

PHONE = {"width": 360, "height": 780}
PRINT_TEST = """{
  NAME "Print-Job from a phone that sends no credentials"
  OPERATION Print-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name "Pixel 7"
  ATTR name job-name "boarding pass"
  ATTR mimeMediaType document-format application/pdf
  FILE $filename
  STATUS successful-ok
  EXPECT job-id OF-TYPE integer
  EXPECT job-state OF-TYPE enum WITH-VALUE 4
  EXPECT job-state-message OF-TYPE text WITH-VALUE "/Claim it at http:.*/queues/phones/"
}
"""


async def ipptool_print(uri: str, document: Path, folder: Path) -> str:
    """Print-Job with Debian's ipptool; its report (the test fails unless it passed)."""
    binary = shutil.which("ipptool")
    assert binary, "ipptool is missing: apt-get install cups-ipp-utils"
    test = folder / "phone.test"
    test.write_text(PRINT_TEST)
    process = await asyncio.create_subprocess_exec(
        binary, "-t", "-f", str(document), uri, str(test),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report
    return report


async def until(check: Callable[[], object], seconds: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def browser_from(browser: Browser, through: Relay, **options: object) -> Page:
    context = await browser.new_context(base_url=through.url(), **options)  # type: ignore[arg-type]
    return await context.new_page()


async def test_a_phone_claims_its_job_at_the_price_it_was_shown(
    console_factory: ConsoleFactory,
    ippeveprinter_factory: Callable[..., IppEvePrinter],
    tmp_path: Path,
) -> None:
    eve = ippeveprinter_factory("eve")
    console = await console_factory.start(
        printers=[{"name": "eve", "uri": eve.uri}], queues=[phones_queue("eve")]
    )
    gw = console.gw
    store = gw.gateway.jobs.store
    await fill_lists(store)
    document = make_pdf(tmp_path / "boarding.pdf", pages=2, color=True)
    async with (
        relay(gw.port, "127.0.0.7") as phone_net,
        relay(gw.port, "127.0.0.7", PHONE_AGENT) as phone_ipp,
        relay(gw.port, "127.0.0.8") as other_net,
    ):
        await ipptool_print(phone_ipp.ipp("phones"), document, tmp_path)
        held = await gw.gateway.desk.held("phones")
        assert [(j.user, j.origin_host, j.state) for j in held] == [
            ("Pixel 7", "127.0.0.7", JobState.PENDING_HELD)
        ]
        job = held[0]

        # Another address, not signed in: no job, no document name, no user name.
        other = await browser_from(console.browser, other_net)
        for path in ("/me/", "/queues/phones"):
            await console.visit(other, path)
            text = await other.locator("main").inner_text()
            assert "boarding pass" not in text and "Pixel 7" not in text, text
            assert f"Job {job.id}" not in text and "No job is waiting for you here." in text
        assert (await other.goto("/release")) is not None and other.url.endswith("/me/")

        # The phone, on its own address and a phone's screen.
        phone = await browser_from(console.browser, phone_net, viewport=PHONE, is_mobile=True)
        await console.visit(phone, "/queues/phones")
        assert "boarding pass" in await phone.locator("main").inner_text()
        assert await phone.locator("img.qr").count() == 1
        await phone.get_by_role("link", name="Sign in to release it").click()
        await phone.wait_for_url("**/me/signin**")
        await console.keep(phone)
        await axe_check(phone)
        await phone.get_by_label("User name").select_option("alice")
        await phone.get_by_role("button", name="Sign in").click()
        await phone.wait_for_url("**/queues/phones")
        price_shown = phone.locator('[data-estimate="price"]')
        await price_shown.wait_for(timeout=60_000)  # measured in the background; the page reloads
        await console.keep(phone)
        await axe_check(phone)
        assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shown = (await price_shown.inner_text()).strip()
        model = gw.gateway.queues["phones"].primary.model
        estimated = await estimate(store, job, model)
        assert estimated.price is not None and shown == money(estimated.price)

        await phone.get_by_label("Project", exact=True).select_option("Project146")
        await phone.get_by_label("Project password, if it has one").fill(PROJECT_PASSWORD)
        await phone.get_by_label("Department", exact=True).select_option("Engineering")
        await phone.get_by_label("Remember my details (never a password)").check()
        await phone.get_by_role("button", name="Release").click()
        await phone.get_by_role("status").wait_for()
        assert f"Job {job.id} is released" in await phone.get_by_role("status").inner_text()
        await console.keep(phone)
        await axe_check(phone)

        await asyncio.to_thread(eve.wait_documents, 1, 60)
        printed: list[Job] = []

        async def charged() -> bool:
            found = await gw.gateway.jobs.get(job.id)
            if found is not None and found.price_gross is not None:
                printed.append(found)
            return bool(printed)

        deadline = asyncio.get_running_loop().time() + 60
        while not await charged():
            assert asyncio.get_running_loop().time() < deadline, "the job was never charged"
            await asyncio.sleep(0.2)
        record = printed[0]
        assert record.state == JobState.COMPLETED
        assert (record.user, record.project, record.department) == (
            "alice", "Project146", "Engineering"
        )  # fmt: skip
        assert record.price_gross == estimated.price and record.cost_gross == estimated.cost

        # Signed in, the printed job is in My jobs with its charge; the claim's details are
        # remembered (never a password) for the next one.
        await console.visit(phone, "/me/")
        mine = await phone.locator("main").inner_text()
        assert money(record.price_gross) in mine and "boarding pass" in mine
        assert f"This month: 1 printed job, 2 pages, {money(record.price_gross)}." in mine
        await console.visit(phone, "/me/print")  # web print's form, on the phone too
        assert await phone.get_by_label("File").count() == 1
        cookies = await phone.context.cookies()
        details = [c for c in cookies if c["name"] == "printgate_print_details"]
        assert details and PROJECT_PASSWORD not in details[0]["value"]
