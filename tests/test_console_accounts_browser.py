"""The account flows in chromium, as a person goes through them: the first sign-in with its
forced password change, a forgotten password with the mailed link (aiosmtpd) followed, and
the second factor's enrolment then a sign-in with it. Every page passes axe-core."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
from playwright.async_api import Page

from gateway.store.audit import Actor
from tests.browser import Console
from tests.snmp_peers import SmtpSink, body
from tests.test_console_accounts import LINK_RE, NEW_PASSWORD, PASSWORD, mails

NEW = re.compile(r"^New password\W*$")  # the label, not "New password again"


async def add(console: Console, name: str, **kw: Any) -> None:
    await console.accounts.add(Actor.cli(), name, PASSWORD, "admin", f"{name}@example.org", **kw)


async def sign_in(console: Console, page: Page, username: str, password: str) -> None:
    await console.sign_in(page, username, password)
    await console.keep(page)


async def test_first_sign_in_and_the_forced_password_change(console: Console) -> None:
    await add(console, "dana", must_change_password=True)
    page = await console.new_page()
    await sign_in(console, page, "dana", PASSWORD)
    await page.wait_for_url("**/account/password")
    await console.visit(page, "/console/")  # anything else leads back here
    assert page.url.endswith("/account/password")
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label(NEW).fill(NEW_PASSWORD)
    await page.get_by_label("New password again").fill("not the same password")
    await page.get_by_role("button", name="Change my password").click()
    await page.wait_for_load_state()
    await console.keep(page)
    assert await page.locator("#e-confirm").inner_text() == "The two passwords differ."
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label(NEW).fill(NEW_PASSWORD)
    await page.get_by_label("New password again").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change my password").click()
    await page.wait_for_url("**/console/")
    await console.visit(page, "/account/")

    again = await console.new_page()
    await sign_in(console, again, "dana", NEW_PASSWORD)
    await again.wait_for_url("**/console/")


async def test_a_forgotten_password_with_the_mailed_link(
    console_factory: Any, smtp_sink: SmtpSink
) -> None:
    console: Console = await console_factory.start(
        mail={"host": smtp_sink.host, "port": smtp_sink.port, "security": "none"}
    )
    await add(console, "dana")
    page = await console.new_page()
    await console.visit(page, "/signin")
    await page.get_by_role("link", name="Forgot your password?").click()
    await page.wait_for_url("**/forgot")
    await console.visit(page, "/forgot")
    await page.get_by_label("User name or e-mail address").fill("dana@example.org")
    await page.get_by_role("button", name="Mail me a link").click()
    await page.wait_for_url("**/forgot?sent=1")
    await console.keep(page)
    assert "If an account matches" in await page.get_by_role("status").inner_text()

    (mail,) = await mails(smtp_sink, 1)
    found = LINK_RE.search(body(mail))
    assert found, body(mail)
    await console.visit(page, found.group(1))
    await page.get_by_label(NEW).fill(NEW_PASSWORD)
    await page.get_by_label("New password again").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set the new password").click()
    await page.wait_for_url("**/forgot?done=1")
    await console.keep(page)
    await page.get_by_role("link", name="Sign in", exact=True).last.click()
    await page.wait_for_url("**/signin")
    await sign_in(console, page, "dana", NEW_PASSWORD)
    await page.wait_for_url("**/console/")

    await console.visit(page, found.group(1))  # the link is spent
    assert "expired or has been used" in await page.get_by_role("alert").inner_text()


async def test_second_factor_enrolment_then_sign_in(console: Console) -> None:
    await add(console, "dana")
    page = await console.new_page()
    await sign_in(console, page, "dana", PASSWORD)
    await page.wait_for_url("**/console/")
    await console.visit(page, "/account/")
    await page.get_by_role("link", name="Manage two-factor sign-in").click()
    await page.wait_for_url("**/account/totp")
    await console.visit(page, "/account/totp")
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert f"secret={secret}" in await page.locator("#totp-uri").inner_text()
    # The QR code is drawn (the CSP lets a data: image through).
    drawn = await page.get_by_role("img", name="QR code of the set-up address").evaluate(
        "img => img.complete && img.naturalWidth > 0"
    )
    assert drawn
    totp = pyotp.TOTP(secret)
    await page.get_by_label("Code").fill(totp.now())
    await page.get_by_role("button", name="Turn two-factor sign-in on").click()
    await page.wait_for_url("**/account/?saved=totp-on")
    await console.keep(page)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/signin")

    await sign_in(console, page, "dana", PASSWORD)
    await page.wait_for_url("**/signin/totp")
    await console.visit(page, "/signin/totp")
    await page.get_by_label("Code").fill("000000" if totp.now() != "000000" else "111111")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
    await console.keep(page)
    assert "wrong or has been used" in await page.get_by_role("alert").inner_text()
    # The code of the enrolment's time step is spent: the next step's code signs in.
    await page.get_by_label("Code").fill(totp.at(time.time() + 30))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console/")
    await console.visit(page, "/account/")
