"""The console in a real browser: Debian's chromium driven by Playwright (its own browser
download is not used), against a whole printgate in the test's process.

    async def test_something(console: Console) -> None:
        page = await console.signed_in_page()            # the first administrator, signed in
        await console.visit(page, "/preferences/")       # screenshot kept, axe run
        ...

`visit` keeps a screenshot of every page under test-artifacts/screenshots/<test>/ and runs
axe-core on it: a serious or critical violation fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright

from gateway.identity.accounts import Accounts
from gateway.store.audit import Actor
from tests.harness import InProcess, in_process

CHROMIUM = os.environ.get("PRINTGATE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
ADMIN = "admin"
ADMIN_PASSWORD = "a long admin password"
SERIOUS = ("serious", "critical")


def chromium_present() -> bool:
    return shutil.which(CHROMIUM) is not None


class AccessibilityViolation(AssertionError):
    pass


async def axe_check(page: Page) -> None:
    """axe-core on the page as it stands: no serious or critical violation."""
    results = await Axe().run(page)
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]
    if violations:
        raise AccessibilityViolation(f"{page.url}: " + "; ".join(violations))


@dataclass
class Console:
    """A running printgate (`gw`), its console's base URL, and a browser to open it with."""

    gw: InProcess
    browser: Browser
    artifacts: Path
    shots: int = 0
    pages: list[Page] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.gw.port}"

    @property
    def accounts(self) -> Accounts:
        return Accounts(self.gw.gateway.jobs.store)

    async def new_page(self) -> Page:
        context = await self.browser.new_context(base_url=self.base_url)
        page = await context.new_page()
        self.pages.append(page)
        return page

    async def visit(self, page: Page, path: str, check: bool = True) -> None:
        """Open a page, keep its screenshot, and (unless check is false) run axe on it."""
        response = await page.goto(path)
        assert response is not None, path
        await self.keep(page)
        if check:
            await axe_check(page)

    async def keep(self, page: Page) -> None:
        """A screenshot of the page as it is now, numbered in the order taken."""
        self.shots += 1
        name = re.sub(r"[^A-Za-z0-9]+", "-", page.url.split("//", 1)[-1].split("/", 1)[-1])
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{self.shots:02d}-{name.strip('-') or 'root'}.png"
        await page.screenshot(path=str(path), full_page=True)

    async def sign_in(self, page: Page, username: str, password: str) -> None:
        await page.goto("/signin")
        await page.get_by_label("User name").fill(username)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_load_state()

    async def signed_in_page(self) -> Page:
        """A page signed in as the first administrator (whose password needs no change)."""
        page = await self.new_page()
        await self.sign_in(page, ADMIN, ADMIN_PASSWORD)
        return page


@dataclass
class ConsoleFactory:
    tmp_path: Path
    database_url: str
    artifacts: Path
    stack: AsyncExitStack

    async def start(self, **tables: Any) -> Console:
        """printgate with these TOML tables (a `demo` queue on a virtual printer by default),
        its first administrator's password set to ADMIN_PASSWORD, and a browser."""
        if "queues" not in tables:
            out = self.tmp_path / "out"
            tables.setdefault("printers", [{"name": "virtual", "uri": f"file://{out}"}])
            tables["queues"] = [{"name": "demo", "printers": ["virtual"]}]
        gw = await self.stack.enter_async_context(
            in_process(self.tmp_path, self.database_url, **tables)
        )
        await Accounts(gw.gateway.jobs.store).set_password(Actor.cli(), ADMIN, ADMIN_PASSWORD)
        playwright = await self.stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        self.stack.push_async_callback(browser.close)
        return Console(gw, browser, self.artifacts)


async def console_factory(
    tmp_path: Path, database_url: str, test_name: str
) -> AsyncIterator[ConsoleFactory]:
    artifacts = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
    shutil.rmtree(artifacts, ignore_errors=True)
    async with AsyncExitStack() as stack:
        yield ConsoleFactory(tmp_path, database_url, artifacts, stack)
