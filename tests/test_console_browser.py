"""The console's own pages in chromium: signing in and out, and every page of the overview
passes axe-core (screenshots kept under test-artifacts/)."""

from __future__ import annotations

from tests.browser import ADMIN_PASSWORD, Console


async def test_sign_in_browse_and_sign_out(console: Console) -> None:
    page = await console.new_page()
    await console.visit(page, "/console/")  # anonymous: the sign-in page, with its return path
    assert "/signin?next=/console/" in page.url
    await page.get_by_label("User name").fill("admin")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await console.keep(page)
    assert await page.get_by_role("alert").inner_text() == "The user name or the password is wrong."
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console/")
    for path in ("/me/", "/console/", "/console/queues/demo", "/console/fleet"):
        await console.visit(page, path)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/signin")
    await console.visit(page, "/console/fleet")
    assert "/signin" in page.url
