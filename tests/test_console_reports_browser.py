"""The reports in chromium (Playwright), as a bookkeeper goes through them: a custom report
built with three panels, reordered by dragging, saved and reopened; a bookkeeper limited by
an administrator to one project sees only it in every report, download and schedule. Every
report page passes axe-core (no serious or critical violation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

from gateway.store.audit import Actor
from tests import test_reports_fixture as fx
from tests.browser import Console

WHOLE = "period=dates&from=2026-01-01&to=2026-02-28"
KEEPER_PASSWORD = "a long keeper password"
REPORT_PAGES = (
    f"/reports/?{WHOLE}",
    f"/reports/users?{WHOLE}",
    f"/reports/projects?{WHOLE}",
    f"/reports/departments?{WHOLE}",
    f"/reports/reconciliation?{WHOLE}",
    "/reports/custom/",
    f"/reports/raw/?{WHOLE}",
    "/reports/schedules/",
)


async def start(console_factory: Any, tmp_path: Path) -> Console:
    out = tmp_path / "out"
    console: Console = await console_factory.start(
        printers=[{"name": name, "uri": out.as_uri()} for name in ("dj1", "dj2", "laser")],
        queues=[
            {"name": "office", "printers": ["laser"]},
            {"name": "plotters", "printers": ["dj1", "dj2"]},
        ],
    )
    await fx.load(console.gw.gateway.jobs.store)
    return console


async def panel_titles(page: Page) -> list[str]:
    return [t.strip() for t in await page.locator("li.custom-panel h3").all_inner_texts()]


async def add_panel(page: Page, display: str, family: str, values: list[str]) -> None:
    await page.get_by_label("Show as").select_option(display)
    await page.get_by_label("Values", exact=True).select_option(family)
    for label in ("Ink", "Service", "Paper", "Total", "Pages", "Printed area", "Ink (ml)"):
        box = page.get_by_label(label, exact=True)
        if await box.count() == 1:
            await box.set_checked(label in values)
    await page.get_by_label("Paper used", exact=True).set_checked("Paper used" in values)
    await page.get_by_role("button", name="Add the panel").click()
    await page.wait_for_load_state()


async def test_a_custom_report_with_three_panels_is_reordered_saved_and_reopened(
    console_factory: Any, tmp_path: Path
) -> None:
    console = await start(console_factory, tmp_path)
    page = await console.signed_in_page()
    for path in REPORT_PAGES:
        await console.visit(page, path)  # each report page passes axe
    await console.visit(page, "/reports/custom/")
    await page.get_by_label("Name").fill("Quarterly fees")
    await page.get_by_label("Looks at").select_option("projects")
    await page.get_by_role("button", name="Create").click()
    await page.wait_for_url("**/reports/custom/*")
    report_url = page.url
    await add_panel(page, "graphic", "fees", ["Total"])
    await add_panel(page, "graphic", "usage", ["Ink (ml)", "Paper used"])
    await add_panel(page, "table", "fees", ["Ink", "Total"])
    await console.visit(page, report_url + f"?{WHOLE}")
    assert await panel_titles(page) == [
        "Total (cost)",
        "Ink (ml), Paper used",
        "Ink, Total (cost)",
    ]
    assert await page.locator("li.custom-panel svg[role=img]").count() == 2
    # Drag the table (by its heading) to the top: reports.js posts the new order. The
    # window is tall enough for both panels to be in view while dragging.
    await page.set_viewport_size({"width": 1280, "height": 2400})
    async with page.expect_navigation():
        await page.locator("#panel-2").drag_to(
            page.locator("#panel-0"),
            source_position={"x": 30, "y": 10},
            target_position={"x": 30, "y": 5},
        )
    await console.keep(page)
    assert await panel_titles(page) == [
        "Ink, Total (cost)",
        "Total (cost)",
        "Ink (ml), Paper used",
    ]
    # Without dragging: the Down button of the first panel.
    await page.get_by_role("button", name="Move Ink, Total (cost) down").click()
    await page.wait_for_load_state()
    assert (await panel_titles(page))[:2] == ["Total (cost)", "Ink, Total (cost)"]
    await page.locator("#f-name").fill("Fees by project")
    await page.locator("#f-names").fill("Bridge, Tower")
    await page.get_by_role("button", name="Save the report").click()
    await page.wait_for_load_state()
    assert await page.get_by_role("status").inner_text() == "The report is saved."
    # Reopen from the list, in a new page.
    again = await console.signed_in_page()
    await console.visit(again, "/reports/custom/")
    await again.get_by_role("link", name="Fees by project").click()
    await again.wait_for_load_state()
    await console.visit(again, again.url + f"?{WHOLE}")
    assert await panel_titles(again) == [
        "Total (cost)",
        "Ink, Total (cost)",
        "Ink (ml), Paper used",
    ]
    rows = await again.locator("li.custom-panel table tbody th").all_inner_texts()
    assert sorted(rows) == ["Bridge", "Tower"]


async def test_a_scoped_bookkeeper_sees_only_the_scope(
    console_factory: Any, tmp_path: Path
) -> None:
    console = await start(console_factory, tmp_path)
    await console.accounts.add(
        Actor.cli(), "keeper", KEEPER_PASSWORD, "bookkeeper", "keeper@example.org"
    )
    admin = await console.signed_in_page()
    await console.visit(admin, "/preferences/permissions/keeper/edit")
    await admin.get_by_label("Projects").fill("Bridge")
    await admin.get_by_role("button", name="Save the limits").click()
    await admin.wait_for_load_state()
    assert "The report limits are saved." in await admin.get_by_role("status").inner_text()

    keeper = await console.new_page()
    await console.sign_in(keeper, "keeper", KEEPER_PASSWORD)
    bridge = [s for s in fx.SPECS if s.project == "Bridge"]
    for path in REPORT_PAGES:
        await console.visit(keeper, path)
        assert "Tower" not in await keeper.content(), path
    await console.visit(keeper, f"/reports/?{WHOLE}")
    jobs = keeper.locator('table[data-key="counts"] tbody tr').first.locator("td")
    assert await jobs.inner_text() == str(len(bridge))
    await console.visit(keeper, f"/reports/projects?{WHOLE}")
    names = await keeper.locator('table[data-key="by_name_totals"] tbody th').all_inner_texts()
    assert names == ["Bridge"]
    async with keeper.expect_download() as waiting:
        await keeper.get_by_role("link", name="CSV").click()
    download = await waiting.value
    text = Path(await download.path()).read_text(encoding="utf-8-sig")
    assert "Bridge" in text and "Tower" not in text
    await console.visit(keeper, f"/reports/?{WHOLE}")
    async with keeper.expect_download() as waiting:
        await keeper.get_by_role("link", name="Export all: every job of the period (CSV)").click()
    raw = Path(await (await waiting.value).path()).read_text(encoding="utf-8-sig")
    assert len(raw.strip().splitlines()) == 1 + len(bridge)
    # A schedule of theirs: only their own are listed, and the group choice keeps to scope.
    await console.visit(keeper, "/reports/schedules/")
    await keeper.get_by_label("Report", exact=True).select_option("projects")
    await keeper.get_by_label("Mail to").fill("keeper@example.org")
    await keeper.get_by_role("button", name="Save the schedule").click()
    await keeper.wait_for_load_state()
    await console.keep(keeper)
    assert await keeper.locator("table.schedules tbody tr").count() == 1
