"""Every console page in chromium, for the administrator, a bookkeeper and an anonymous
visitor, over data whose free-text names are markup (`<script>alert(1)</script>`): axe-core
finds no serious or critical violation, no dialog opens, no element comes from the data (no
<script> but the site's own /static ones, no on* attribute), the names show as text where a
page lists them, and every page's screenshot is kept under test-artifacts/screenshots/.

The pages are the router's: the walk takes every GET route of a fresh application (as
tests/test_console_routes.py does), so a page another engineer adds is walked without
anyone editing this file. A route with a new path parameter fails there until it has a
sample value in that test's SAMPLES."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from aiohttp import web
from PIL import Image
from playwright.async_api import Dialog, Page

from gateway.accounting.lists import Lists
from gateway.ipp import JobState
from gateway.runtime.console_settings import ConsoleSettings
from gateway.snmp import records
from gateway.store.audit import Actor
from tests.browser import AccessibilityViolation, Console, ConsoleFactory, axe_check
from tests.ipp_call import job_state, print_job
from tests.peers import make_pdf
from tests.test_console_routes import GET_ANSWERS, SAMPLES, STREAMS, _routes
from webui import app as webui_app

SCRIPT = "<script>alert(1)</script>"
# Projects and departments cannot contain "/" (job-account-id is "project/department").
NO_SLASH = "<img src=x onerror=alert(2)>"
BOOKKEEPER, BOOKKEEPER_PASSWORD = "book", "a long bookkeeper password"
# {name} names different things under different prefixes: there, these samples win (and
# each dict is one more visit of the page: the markup-named account's edit form too).
ROUTE_SAMPLES = {
    "/preferences/permissions/": [{"name": BOOKKEEPER}, {"name": SCRIPT}],
    "/preferences/printers/": [{"name": "virtual"}],
}
# Pages that list a name made of markup, so it must be there as text.
SHOWN = ("/console/", "/console/queues/demo", "/me/")

# Elements the data would have made if a page put it in unescaped: scripts other than the
# site's own files, and event-handler attributes. CSP would stop them running; they must not
# exist in the first place.
INJECTED = """() => {
  const found = [];
  for (const s of document.querySelectorAll("script")) {
    if (!s.src || !s.src.startsWith(location.origin + "/static/")) found.push(s.outerHTML);
  }
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith("on")) found.push(el.outerHTML);
    }
  }
  return found.map((html) => html.slice(0, 120));
}"""


@dataclass
class Walk:
    """What one visitor's walk found wrong, page by page; and the pages that showed markup
    names as text (printed, to see at a glance where the data appears)."""

    who: str
    problems: list[str] = field(default_factory=list)
    showing: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # pages looked at (where redirects ended)
    seconds: dict[str, float] = field(default_factory=dict)
    dialogs: list[str] = field(default_factory=list)


async def _print(uri: str, document: bytes, name: str, user: str) -> int:
    # print_job blocks, and this printgate runs in the test's own event loop
    return await asyncio.to_thread(print_job, uri, document, name, "application/pdf", user)


async def _wait_state(uri: str, job_id: int, wanted: JobState) -> None:
    for _ in range(300):
        state = (await asyncio.to_thread(job_state, uri, job_id))[0]
        if state == wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {wanted.name}: {state}")


async def _markup_everywhere(console: Console, tmp_path: Path) -> dict[str, str]:
    """Every name that can be free text made of markup; the samples for the routes' path
    parameters that point at it."""
    gw = console.gw
    store = gw.gateway.jobs.store
    cli = Actor.cli()
    await console.accounts.add(
        cli, BOOKKEEPER, BOOKKEEPER_PASSWORD, "bookkeeper", "book@example.org", SCRIPT, SCRIPT
    )
    await console.accounts.add(
        cli, SCRIPT, BOOKKEEPER_PASSWORD, "bookkeeper", "markup@example.org", SCRIPT, SCRIPT
    )
    # A company logo, so that its route serves the image rather than 404.
    logo = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(logo, "PNG")
    await ConsoleSettings(store, gw.config).save_logo(cli, logo.getvalue())
    lists = Lists(store)
    for queue in ("demo", "phones"):
        await lists.add(
            "user",
            queue,
            SCRIPT,
            actor=cli,
            first_name=SCRIPT,
            last_name=SCRIPT,
            email="x@example.org",
            address=SCRIPT,
        )
        await lists.add("project", queue, NO_SLASH, actor=cli)
        await lists.add("department", queue, NO_SLASH, actor=cli)
    [device] = await records.ensure_devices(store, [records.DeviceEntry("127.0.0.1:1", "manual")])
    await records.record_failure(store, device.id, SCRIPT)
    document = make_pdf(tmp_path / "doc.pdf", pages=1).read_bytes()
    printed = await _print(gw.queue_uri("demo"), document, SCRIPT, SCRIPT)
    await _wait_state(gw.queue_uri("demo"), printed, JobState.COMPLETED)
    held = await _print(gw.queue_uri("phones"), document, SCRIPT, SCRIPT)  # no project: held
    await _wait_state(gw.queue_uri("phones"), held, JobState.PENDING_HELD)
    return {**SAMPLES, "job_id": str(printed), "name": "demo", "queue": "demo"}


def _get_routes(console: Console) -> list[tuple[str, frozenset[str] | None]]:
    """(path pattern, roles or None for a public page) of every GET route but /static."""
    walked = web.Application()
    webui_app.setup(walked, console.gw.gateway, console.gw.config)
    found = []
    for method, pattern, area in _routes(walked):
        # An event stream never ends: it is no page (test_console_routes checks its answer).
        if method == "GET" and not pattern.startswith("/static") and pattern not in STREAMS:
            found.append((pattern, area.roles if area is not None else None))
    return sorted(found)


async def _visit(
    console: Console, page: Page, walk: Walk, pattern: str, path: str, public: bool
) -> None:
    where = f"{walk.who} {path}"
    reply = await page.request.get(path, max_redirects=0)
    wanted = GET_ANSWERS.get(pattern, 200)
    if public:
        if reply.status >= 500:
            walk.problems.append(f"{where}: HTTP {reply.status}")
    elif reply.status != wanted:
        walk.problems.append(f"{where}: HTTP {reply.status}, wanted {wanted}")
        return
    if reply.status >= 400 or (
        reply.status < 300 and "text/html" not in reply.headers.get("content-type", "")
    ):
        return  # an expected refusal or a download: its answer is checked, no page to look at
    await page.goto(path)
    landed = urlsplit(page.url)
    where = f"{walk.who} {landed.path}" + (f" (from {path})" if landed.path != path else "")
    if page.url in walk.seen:
        return  # a redirect to a page this walk has looked at already
    walk.seen.add(page.url)
    await console.keep(page)
    injected = await page.evaluate(INJECTED)
    if injected:
        walk.problems.append(f"{where}: elements made from data: {injected}")
    text = await page.locator("body").inner_text()
    if "&lt;" in text or "&amp;" in text:
        walk.problems.append(f"{where}: markup escaped twice (shows &lt; or &amp;)")
    shown = await page.get_by_text(SCRIPT).count() + await page.get_by_text(NO_SLASH).count()
    if shown:
        walk.showing.append(landed.path)
    elif landed.path in SHOWN:
        walk.problems.append(f"{where}: the names made of markup do not show as text")
    try:
        await axe_check(page)
    except AccessibilityViolation as violation:
        walk.problems.append(f"{where}: {violation}")


async def _walk(
    console: Console,
    page: Page,
    who: str,
    role: str | None,
    routes: Iterable[tuple[str, frozenset[str] | None]],
    samples: dict[str, str],
) -> Walk:
    walk = Walk(who)

    async def on_dialog(dialog: Dialog) -> None:
        walk.dialogs.append(f"{page.url}: {dialog.type} {dialog.message!r}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    for pattern, roles in routes:
        if roles is not None and (role is None or role not in roles):
            continue  # tests/test_console_routes.py checks that these are refused
        for path in _paths(pattern, samples):
            started = time.monotonic()
            await _visit(console, page, walk, pattern, path, roles is None)
            walk.seconds[path] = time.monotonic() - started
    print(f"\n{who}: markup names shown as text on {walk.showing}")
    slow = sorted(walk.seconds.items(), key=lambda item: -item[1])[:5]
    print(f"{who}: slowest pages (s): {[(p, round(t, 1)) for p, t in slow]}")
    return walk


def _paths(pattern: str, samples: dict[str, str]) -> list[str]:
    """The pattern filled with the samples (URL-quoted), once per ROUTE_SAMPLES entry."""
    if "{" not in pattern:
        return [pattern]
    prefixes = [p for p in ROUTE_SAMPLES if pattern.startswith(p)]
    overrides = ROUTE_SAMPLES[max(prefixes, key=len)] if prefixes else [{}]
    paths = []
    for override in overrides:
        chosen = {**samples, **override}

        def sample(match: re.Match[str], chosen: dict[str, str] = chosen) -> str:
            name = match.group(1).split(":")[0]
            assert name in chosen, f"{pattern}: add a sample for {{{name}}} to test_console_routes"
            return quote(chosen[name], safe="")

        paths.append(re.sub(r"\{([^}]+)\}", sample, pattern))
    return paths


async def test_every_page_is_accessible_and_shows_markup_as_text(
    console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    console: Console = await console_factory.start(
        printers=[{"name": "virtual", "uri": f"file://{out}"}],
        queues=[
            {"name": "demo", "printers": ["virtual"], "info": SCRIPT, "location": SCRIPT},
            {
                "name": "phones",
                "printers": ["virtual"],
                "auth": "username",
                "require": ["project"],
                "info": SCRIPT,
                "location": SCRIPT,
                "allow_billable": True,
                "allow_comment": True,
            },
        ],
    )
    samples = await _markup_everywhere(console, tmp_path)
    routes = _get_routes(console)
    assert any(roles is not None for _p, roles in routes), routes

    admin = await console.signed_in_page()
    book = await console.new_page()
    await console.sign_in(book, BOOKKEEPER, BOOKKEEPER_PASSWORD)
    assert "/signin" not in book.url, "the bookkeeper could not sign in"
    anonymous = await console.new_page()
    # Side by side: while one browser page waits for axe, printgate answers another.
    walks = await asyncio.gather(
        _walk(console, admin, "admin", "admin", routes, samples),
        _walk(console, book, "bookkeeper", "bookkeeper", routes, samples),
        _walk(console, anonymous, "anonymous", None, routes, samples),
    )

    problems = [p for w in walks for p in w.problems + w.dialogs]
    assert not problems, "\n".join(problems)
