"""The queue grids in chromium, as an administrator works them: add a user, edit cells in
place (Enter saves, Escape drops), disable, remove and restore, filter as you type, sort and
page; rename the Projects tab; import a SmartTracker CSV (its column order, a column of its
own, semicolons) through the field mapping, one column dragged onto its field, and see a
file with a bad line refused whole with the line named; link a file and watch the grid
follow it as it is edited on disk. Every page passes axe-core."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from gateway.accounting.lists import STATUSES, Entry, Lists, Put
from gateway.store.audit import Actor
from tests.browser import Console, axe_check

GRID = "/console/queues/demo"


async def users(console: Console) -> dict[str, Entry]:
    found = await Lists(console.gw.gateway.jobs.store).entries("user", "demo", STATUSES)
    return {entry.name: entry for entry in found}


def row(page: Page, name: str) -> Any:
    return page.locator(f'#grid tr[data-name="{name}"]')


async def names(page: Page) -> list[str]:
    return await page.locator("#grid tbody tr[data-name]").evaluate_all(
        "rows => rows.map(r => r.dataset.name)"
    )


async def test_a_users_grid_worked_from_the_browser(console: Console) -> None:
    page = await console.signed_in_page()
    await console.visit(page, GRID)
    await page.locator("#f-new-name").fill("ann")
    await page.locator("#f-new-first_name").fill("Ann")
    await page.locator("#f-new-email").fill("ann@example.org")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(row(page, "ann")).to_contain_text("ann@example.org")

    await page.locator("#f-new-name").fill("Guest")  # reserved: refused beside the cell
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.locator("#e-new-name")).to_have_text("This name is reserved.")
    await console.keep(page)
    await console.visit(page, GRID)

    # In place: Enter saves, without a reload; Escape drops.
    await page.evaluate("window.sameDocument = true")
    await row(page, "ann").locator('td[data-field="first_name"]').click()
    await page.get_by_label("First name (ann)").fill("Annie")
    await page.get_by_label("First name (ann)").press("Enter")
    await expect(row(page, "ann").locator('td[data-field="first_name"]')).to_have_text("Annie")
    await row(page, "ann").locator('td[data-field="last_name"]').click()
    await page.get_by_label("Last name (ann)").fill("Dropped")
    await page.get_by_label("Last name (ann)").press("Escape")
    await expect(row(page, "ann").locator('td[data-field="last_name"]')).to_have_text("")
    await row(page, "ann").locator('td[data-field="email"]').click()
    await page.get_by_label("E-mail (ann)").fill("not a mailbox")
    await page.get_by_label("E-mail (ann)").press("Enter")
    await expect(row(page, "ann").get_by_role("alert")).to_have_text(
        "This is not an e-mail address."
    )
    await console.keep(page)
    await page.get_by_label("E-mail (ann)").press("Escape")
    assert await page.evaluate("window.sameDocument") is True
    ann = (await users(console))["ann"]
    assert (ann.detail("first_name"), ann.detail("last_name")) == ("Annie", "")
    assert ann.detail("email") == "ann@example.org"

    # Disable, remove, then restore from the Removed view.
    await row(page, "ann").get_by_role("checkbox").check()
    await page.get_by_role("button", name="Disable").click()
    await expect(row(page, "ann")).to_contain_text("Disabled")
    await row(page, "ann").get_by_role("checkbox").check()
    await page.get_by_role("button", name="Remove").click()
    await expect(row(page, "ann")).to_have_count(0)
    await page.get_by_role("link", name="Removed rows").click()
    await console.visit(page, page.url)
    await row(page, "ann").get_by_role("checkbox").check()
    await page.get_by_role("button", name="Restore").click()
    await expect(row(page, "ann")).to_have_count(0)  # gone from the Removed view
    assert (await users(console))["ann"].status == "enabled"

    # Filter as you type, sort, pages.
    puts = [Put(f"user{n:02d}") for n in range(40)]
    await Lists(console.gw.gateway.jobs.store).put_many("user", "demo", puts, actor=Actor.cli())
    await console.visit(page, GRID)
    await expect(page.locator("#page-info")).to_have_text("Page 1 of 2, 41 rows")
    await page.evaluate("window.sameDocument = true")
    await page.locator("#f-q").press_sequentially("user1")
    await expect(page.locator("#page-info")).to_have_text("Page 1 of 1, 10 rows")
    assert await names(page) == [f"user1{n}" for n in range(10)]
    assert await page.evaluate("window.sameDocument") is True  # no reload: fetched in place
    await page.get_by_role("link", name="Sort by User name, Z to A").click()
    await page.wait_for_load_state()
    assert (await names(page))[:2] == ["user19", "user18"]
    await page.locator("#f-q").fill("")
    await page.get_by_role("button", name="Apply").click()
    await page.wait_for_load_state()
    await page.get_by_role("link", name="Next page").click()
    await expect(page.locator("#page-info")).to_have_text("Page 2 of 2, 41 rows")
    assert await names(page) == [*(f"user{n:02d}" for n in range(14, -1, -1)), "ann"]
    await page.locator("#f-size").select_option("50")
    await expect(page.locator("#page-info")).to_have_text("Page 1 of 1, 41 rows")
    await console.keep(page)


async def test_the_projects_tab_is_renamed(console: Console) -> None:
    page = await console.signed_in_page()
    await console.visit(page, f"{GRID}?tab=projects")
    await page.get_by_text("Rename the tabs").click()
    await page.get_by_label("Name of the tab Projects").fill("Cost centres")
    await (
        page.locator("form", has=page.locator("#f-tab-projects"))
        .get_by_role("button", name="Rename")
        .click()
    )
    await expect(page.locator("#tab-projects")).to_have_text("Cost centres (0)")
    await page.get_by_text("Rename the tabs").click()
    await page.get_by_label("Name of the tab Departments").fill("Cost Centres")
    await (
        page.locator("form", has=page.locator("#f-tab-departments"))
        .get_by_role("button", name="Rename")
        .click()
    )
    await expect(page.locator("#e-tab-departments")).to_have_text(
        "Another tab already has this name."
    )
    await console.keep(page)


SMARTTRACKER = (
    "USERNAME*;PASSWORD;FIRST NAME;Badge;LAST NAME;EMAIL ADDRESS;ADDRESS;USER STATUS\r\n"
    "jose;pw1;José;B-1;Núñez;jose@example.org;1 Main St;Enabled\r\n"
    "mary;;Mary;B-2;Wilson;mary@example.org;;Disabled\r\n"
).encode("cp1252")


async def upload(console: Console, page: Page, data: bytes) -> None:
    await console.visit(page, GRID)
    await page.get_by_role("link", name="Import CSV").click()
    await console.visit(page, page.url)
    await page.locator("#f-file").set_input_files(
        files=[{"name": "users.csv", "mimeType": "text/csv", "buffer": data}]
    )
    await page.get_by_role("button", name="Read the file").click()
    await page.wait_for_load_state()
    await console.keep(page)  # the mapping page, a POST's answer: checked as it stands
    await axe_check(page)


async def test_csv_import_through_the_mapping(console: Console) -> None:
    page = await console.signed_in_page()
    await upload(console, page, SMARTTRACKER)
    await expect(page.locator("#f-map_email")).to_have_value("5")  # proposed by name
    await expect(page.locator("#preview-count")).to_have_text("2 rows, 2 of them new.")
    await page.get_by_role("button", name="Import", exact=True).click()
    await page.wait_for_url("**/console/queues/demo?tab=users&saved=*")
    await expect(page.get_by_role("status")).to_contain_text("2 added")
    found = await users(console)
    assert found["jose"].detail("last_name") == "Núñez" and found["mary"].status == "disabled"

    # Columns of other names: one dragged onto its field, one picked in its list.
    await upload(console, page, b"Login;Extra;Mail\nkim;x;kim@example.org\n")
    await expect(page.locator("#problems")).to_contain_text("no column is mapped to USERNAME")
    await page.locator('.file-columns li[data-index="0"]').drag_to(
        page.locator('.field.drop[data-field="name"]')
    )
    await expect(page.locator("#f-map_name")).to_have_value("0")
    await page.locator("#f-map_email").select_option("2")
    await page.get_by_role("button", name="Preview", exact=True).click()
    await expect(page.locator("#preview-count")).to_have_text("1 rows, 1 of them new.")
    await console.keep(page)
    await page.get_by_role("button", name="Import", exact=True).click()
    await page.wait_for_url("**/console/queues/demo?tab=users&saved=*")
    assert (await users(console))["kim"].detail("email") == "kim@example.org"

    # A bad line: refused whole, the line named.
    bad = SMARTTRACKER.replace(b"mary;", b"Unknown;")
    await upload(console, page, bad)
    await expect(page.locator("#problems")).to_contain_text("line 3: 'Unknown' is reserved")
    await page.get_by_role("button", name="Import", exact=True).click()
    await page.wait_for_load_state()
    await expect(page.locator("#problems")).to_contain_text("line 3")
    assert "Unknown" not in await users(console)


async def test_a_linked_file_edited_on_disk_updates_the_grid(
    console_factory: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "lists"
    folder.mkdir()
    path = folder / "people.csv"
    path.write_text("USERNAME,FIRST NAME\nann,Ann\n", encoding="utf-8")
    console: Console = await console_factory.start(
        lists={"linked_dirs": [str(folder)], "linked_interval": 2}
    )
    page = await console.signed_in_page()
    await console.visit(page, GRID)
    await page.get_by_label("Link this path").fill(str(path))
    await page.get_by_role("button", name="Link", exact=True).click()
    await expect(page.locator(".linked")).to_contain_text(f"Linked to the file {path}")
    await expect(row(page, "ann")).to_have_count(1)
    await console.visit(page, page.url)
    assert await page.locator("#add-form").count() == 0  # read-only while linked

    path.write_text("USERNAME,FIRST NAME\nann,Annie\nbob,Bob\n", encoding="utf-8")
    deadline = time.monotonic() + 15  # the interval is 2 s
    while await row(page, "bob").count() == 0:
        assert time.monotonic() < deadline, "the grid did not follow the file"
        await asyncio.sleep(0.5)
        await page.reload()
    await expect(row(page, "ann")).to_contain_text("Annie")
    await expect(page.locator(".linked")).to_contain_text("Last read:")
    await console.keep(page)
