"""Preferences, Printers and groups, over real HTTP against a whole printgate: a real
ippeveprinter advertised over DNS-SD is found by "Add printers" and added, a group made of it
with password authentication is served at once (ipptool prints to it with credentials, a
client without is refused), renamed and deleted (its queue then answers not-found and its
DNS-SD advert is withdrawn), all without a restart. The TOML's printers and groups are shown
locked and refuse edits; bad input gives field errors and saves nothing; names are checked
and texts shown escaped."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounting.lists import Lists
from gateway.addons import dnssd
from gateway.identity.accounts import Accounts
from gateway.ipp import Op, Status
from gateway.runtime.passwords import hash_password
from gateway.store.audit import Actor, AuditFilter, entries
from gateway.store.models import PrinterRow, QueueRow
from gateway.store.store import Store
from tests.harness import InProcess, in_process
from tests.ipp_call import ipp_http
from tests.peers import IppEvePrinter, ipptool, make_pdf
from tests.web_client import TOKEN_RE, WebClient

ADMIN_PASSWORD = "a long admin password"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
async def gw(tmp_path: Path, database_url: str) -> AsyncIterator[InProcess]:
    async with in_process(
        tmp_path,
        database_url,
        dns_sd={"advertise": True},
        printers=[{"name": "virtual", "uri": (tmp_path / "printgate-data" / "out").as_uri()}],
        queues=[{"name": "demo", "printers": ["virtual"]}],
    ) as running:
        await Accounts(store_of(running)).set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        yield running


@pytest.fixture
async def admin(gw: InProcess) -> AsyncIterator[WebClient]:
    async with WebClient(f"http://127.0.0.1:{gw.port}") as client:
        assert (await client.sign_in("admin", ADMIN_PASSWORD)).status == 303
        yield client


def store_of(gw: InProcess) -> Store:
    return gw.gateway.jobs.store


async def token(client: WebClient, path: str) -> str:
    page = await client.get(path)
    assert page.status == 200, (path, page.status, page.text[:300])
    found = TOKEN_RE.search(page.text)
    assert found, path
    return found.group(1)


async def rows(gw: InProcess) -> tuple[int, int]:
    """How many printers and queues the store has."""

    async def fn(session: AsyncSession) -> tuple[int, int]:
        printers = await session.scalar(select(func.count()).select_from(PrinterRow))
        queues = await session.scalar(select(func.count()).select_from(QueueRow))
        return int(printers or 0), int(queues or 0)

    return await store_of(gw).read(fn)


async def advertised(port: int, seconds: float = 2.0) -> set[str]:
    """The queues printgate's port advertises over DNS-SD (_ipp._tcp), by resource path."""
    found = await dnssd.browse(seconds)
    return {
        f.txt.get("rp", "").removeprefix("ipp/print/")
        for f in found
        if f.port == port and f.service_type == "_ipp._tcp"
    }


async def wait_until(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.3)


def add_link(page: str, uri: str) -> str:
    """The "Add" link of the found printer at `uri` on the Add printers page."""
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        if f"<code>{html.escape(uri)}</code>" in row:
            found = re.search(r'href="([^"]+)"', row)
            assert found, row
            return html.unescape(found.group(1))
    raise AssertionError(f"{uri} is not listed:\n{page}")


def form_values(page: str) -> dict[str, str]:
    return {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input id="f-[^"]+" name="([^"]+)" type="text" value="([^"]*)"', page
        )
    }


async def ipp_status(uri: str, **options: Any) -> tuple[int, int | None]:
    """HTTP status and IPP status of a Get-Printer-Attributes (or Print-Job with document)."""
    op = Op.PRINT_JOB if "document" in options else Op.GET_PRINTER_ATTRIBUTES
    status, reply = await asyncio.to_thread(ipp_http, uri, op, **options)
    return status, (reply.code if reply is not None else None)


async def test_a_found_printer_becomes_a_group_that_prints_with_credentials_at_once(
    gw: InProcess,
    admin: WebClient,
    ippeveprinter_factory: Callable[..., IppEvePrinter],
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:6]
    # Advertised over DNS-SD as a printer on the network is (-r off would keep it quiet).
    eve = ippeveprinter_factory(f"Eve-{tag}", extra_args=("-r", "_print"))

    # "Add printers": the printer is listed, printgate's own queue "demo" is not.
    page = await wait_until(
        lambda: _discovered(admin, f"Eve-{tag}"), 30, "the printer found by DNS-SD"
    )
    assert "ipp/print/demo" not in page
    found_uri = next(
        html.unescape(u)
        for u in re.findall(r"<code>(ipp://[^<]+)</code>", page)
        if f":{eve.port}/" in u
    )
    form_page = await admin.get(add_link(page, found_uri))
    prefilled = form_values(form_page.text)
    assert prefilled["name"] == f"Eve-{tag}" and prefilled["uri"] == found_uri
    reply = await admin.post(
        "/preferences/printers/new",
        {**prefilled, "graceful_failover": "on", "snmp_version": ""},
        token=await token(admin, "/preferences/printers/new"),
    )
    assert reply.status == 303, reply.text[:2000]
    listing = await admin.get("/preferences/printers")
    assert f"Eve-{tag}" in listing.text and "ready" in listing.text

    # A group of it, with password authentication, served at once.
    queue = f"plot-{tag}"
    reply = await admin.post(
        "/preferences/groups/new",
        {
            "name": queue,
            "info": "Plotters",
            "location": "Floor 2",
            "auth": "password",
            f"pos_Eve-{tag}": "1",
            "touch_ipp": "on",
            "touch_web": "on",
            "touch_release": "on",
        },
        token=await token(admin, "/preferences/groups/new"),
    )
    assert reply.status == 303, reply.text[:2000]
    await Lists(store_of(gw)).add(
        "user", queue, "alice", hash_password("wonderland"), actor=Actor.cli()
    )
    uri = gw.queue_uri(queue)
    pdf = make_pdf(tmp_path / "doc.pdf").read_bytes()
    assert (await ipp_status(uri, document=pdf))[0] == 401  # no credentials: challenged
    assert (await ipp_status(uri, document=pdf, auth=("alice", "wrong")))[0] == 401
    authenticated = uri.replace("ipp://", "ipp://alice:wonderland@")
    result = await asyncio.to_thread(
        ipptool, authenticated, "print-job.test", document=tmp_path / "doc.pdf"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    await asyncio.to_thread(eve.wait_documents, 1, 60)
    assert queue in await wait_until(lambda: advertised(gw.port), 30, "the new queue's advert")

    # Renamed: the old address answers not-found, the new one prints; adverts follow.
    renamed = f"plan-{tag}"
    edit = await admin.get(f"/preferences/groups/{queue}/edit")
    assert 'value="password" selected' in edit.text
    reply = await admin.post(
        f"/preferences/groups/{queue}/edit",
        {"name": renamed, "auth": "none", f"pos_Eve-{tag}": "1", "touch_ipp": "on"},
        token=await token(admin, f"/preferences/groups/{queue}/edit"),
    )
    assert reply.status == 303, reply.text[:2000]
    assert await ipp_status(uri) == (200, Status.NOT_FOUND)
    assert (await ipp_status(gw.queue_uri(renamed), document=pdf))[1] == Status.OK
    await asyncio.to_thread(eve.wait_documents, 2, 60)
    await wait_until(
        lambda: _has(advertised(gw.port), renamed, queue), 30, "the renamed queue's advert"
    )

    # Deleted, after a confirmation page: not-found, and withdrawn from DNS-SD.
    confirm = await admin.get(f"/preferences/groups/{renamed}/delete")
    assert confirm.status == 200 and 'method="post"' in confirm.text
    reply = await admin.post(
        f"/preferences/groups/{renamed}/delete",
        {},
        token=await token(admin, f"/preferences/groups/{renamed}/delete"),
    )
    assert reply.status == 303
    assert await ipp_status(gw.queue_uri(renamed)) == (200, Status.NOT_FOUND)
    await wait_until(
        lambda: _gone(advertised(gw.port), renamed), 30, "the deleted queue's advert withdrawn"
    )
    audited = await entries(store_of(gw), AuditFilter(target=tag))
    ours = [e for e in audited if e.action.startswith(("group.", "printer."))]
    assert [e.action for e in ours] == ["group.delete", "group.edit", "group.add", "printer.add"]
    assert all(e.actor == "admin" and e.source == "console" for e in ours)
    assert ours[1].before["auth"] == "password" and ours[1].after["name"] == renamed


async def _discovered(client: WebClient, name: str) -> str:
    page = await client.get("/preferences/printers/discover")
    assert page.status == 200, page.text[:500]
    return page.text if name in page.text else ""


async def _has(names: Any, wanted: str, unwanted: str) -> bool:
    current = await names
    return wanted in current and unwanted not in current


async def _gone(names: Any, unwanted: str) -> bool:
    return unwanted not in await names


async def test_the_tomls_printers_and_groups_are_locked(gw: InProcess, admin: WebClient) -> None:
    printers = await admin.get("/preferences/printers")
    groups = await admin.get("/preferences/groups")
    assert "managed in printgate.toml" in printers.text
    assert "managed in printgate.toml" in groups.text
    before = await rows(gw)
    csrf = await token(admin, "/preferences/printers")
    edit = await admin.post(
        "/preferences/printers/virtual/edit", {"name": "renamed", "uri": "ipp://x/"}, token=csrf
    )
    assert edit.status == 409 and "printgate.toml" in edit.text
    removal = await admin.post("/preferences/printers/virtual/remove", {}, token=csrf)
    assert removal.status == 409
    group_edit = await admin.post(
        "/preferences/groups/demo/edit", {"name": "other", "pos_virtual": "1"}, token=csrf
    )
    assert group_edit.status == 409
    assert (await admin.post("/preferences/groups/demo/delete", {}, token=csrf)).status == 409
    assert await rows(gw) == before
    assert "demo" in gw.gateway.queues and "virtual" in gw.gateway.dispatcher.printers


async def test_bad_input_gives_field_errors_and_changes_nothing(
    gw: InProcess, admin: WebClient
) -> None:
    before = await rows(gw)
    csrf = await token(admin, "/preferences/printers/new")
    cases = [
        ({"name": "two words", "uri": "ipp://10.0.0.9/ipp/print"}, "e-name"),
        ({"name": SCRIPT, "uri": "ipp://10.0.0.9/ipp/print"}, "e-name"),
        ({"name": "ok", "uri": "gopher://10.0.0.9/"}, "e-uri"),
        ({"name": "ok", "uri": "file:///etc/cron.d/"}, "e-uri"),
        ({"name": "Unknown", "uri": "10.0.0.9"}, "e-name"),
        ({"name": "virtual", "uri": "10.0.0.9"}, "e-name"),  # taken
        ({"name": "ok", "uri": "10.0.0.9", "new_group": "demo"}, "e-new_group"),
    ]
    for form, error in cases:
        reply = await admin.post("/preferences/printers/new", form, token=csrf)
        assert reply.status == 400, (form, reply.status)
        assert f'id="{error}"' in reply.text, (form, reply.text[:3000])
        assert SCRIPT not in reply.text  # the input is shown again, escaped
    groups = [
        ({"name": "empty", "auth": "none"}, "e-printers"),
        ({"name": "a b", "auth": "none", "pos_virtual": "1"}, "e-name"),
        ({"name": SCRIPT, "auth": "none", "pos_virtual": "1"}, "e-name"),
        ({"name": "g1", "auth": "nobody", "pos_virtual": "1"}, "e-auth"),
        ({"name": "demo", "auth": "none", "pos_virtual": "1"}, "e-name"),
    ]
    for form, error in groups:
        reply = await admin.post("/preferences/groups/new", form, token=csrf)
        assert reply.status == 400, (form, reply.status)
        assert f'id="{error}"' in reply.text, (form, reply.text[:3000])
        assert SCRIPT not in reply.text
    assert await rows(gw) == before
    assert set(gw.gateway.queues) == {"demo"}
    assert await entries(store_of(gw), AuditFilter(action="group")) == []


async def test_texts_show_escaped_and_a_printer_in_use_stays(
    gw: InProcess, admin: WebClient, tmp_path: Path
) -> None:
    csrf = await token(admin, "/preferences/groups/new")
    virtual = (tmp_path / "printgate-data" / "second").as_uri()
    reply = await admin.post(
        "/preferences/printers/new",
        {"name": "second", "uri": virtual, "graceful_failover": "on", "new_group": "hall"},
        token=csrf,
    )
    assert reply.status == 303, reply.text[:2000]
    reply = await admin.post(
        "/preferences/groups/hall/edit",
        {"name": "hall", "info": SCRIPT, "location": SCRIPT, "auth": "none", "pos_second": "1",
         "pos_virtual": "2", "touch_ipp": "on"},
        token=csrf,
    )  # fmt: skip
    assert reply.status == 303, reply.text[:2000]
    assert gw.gateway.dispatcher.queues["hall"].printers == ("second", "virtual")
    for path in ("/preferences/groups", "/console/", "/preferences/printers"):
        page = await admin.get(path)
        assert page.status == 200 and SCRIPT not in page.text, path
    assert html.escape(SCRIPT) in (await admin.get("/preferences/groups")).text
    # The printer is a member of "hall": its removal is refused, saying so.
    refused = await admin.post("/preferences/printers/second/remove", {}, token=csrf)
    assert refused.status == 400 and "hall" in refused.text
    assert "second" in gw.gateway.dispatcher.printers
    # Printed to through the new group, at once.
    status, code = await ipp_status(gw.queue_uri("hall"), document=b"%PDF-1.4\n%%EOF\n")
    assert (status, code) == (200, Status.OK)


async def test_in_a_browser_a_found_printer_becomes_a_group_ipptool_prints_to(
    console_factory: Any,
    ippeveprinter_factory: Callable[..., IppEvePrinter],
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:6]
    eve = ippeveprinter_factory(f"Browser-{tag}", extra_args=("-r", "_print"))
    console = await console_factory.start(dns_sd={"advertise": True})
    gw = console.gw
    page = await console.signed_in_page()
    await console.visit(page, "/preferences/printers")
    await page.get_by_role("link", name="Add printers").click()
    # DNS-SD answers within seconds of the printer starting; the page shows the last search's
    # results at once and starts a new search when they are old.
    for _ in range(30):
        if await page.get_by_text(f"Browser-{tag}").count():
            break
        await page.wait_for_timeout(1000)
        await page.get_by_role("link", name="Search again").click()
    await console.keep(page)
    row = page.get_by_role("row").filter(has_text=f":{eve.port}/").first
    await row.get_by_role("link", name="Add").click()
    await page.wait_for_url("**/preferences/printers/new?**")
    assert await page.get_by_label("Printer name").input_value() == f"Browser-{tag}"
    await console.visit(page, page.url)
    await page.get_by_role("button", name="Add the printer").click()
    await page.wait_for_url("**/preferences/printers?saved=*")
    await console.visit(page, page.url)

    await console.visit(page, "/preferences/groups/new")
    await page.get_by_label("Group name").fill(f"wide-{tag}")
    await page.get_by_label("Description").fill(SCRIPT)
    await page.get_by_label(f"Browser-{tag}").select_option("1")
    await page.get_by_label("Authentication mode").select_option("password")
    await page.get_by_role("button", name="Create the group").click()
    await page.wait_for_url("**/preferences/groups?saved=*")
    await console.visit(page, page.url)
    assert await page.get_by_text(SCRIPT).count() == 1  # the description, as text

    queue = f"wide-{tag}"
    await Lists(gw.gateway.jobs.store).add(
        "user", queue, "alice", hash_password("wonderland"), actor=Actor.cli()
    )
    pdf = make_pdf(tmp_path / "doc.pdf")
    uri = gw.queue_uri(queue)
    assert (await ipp_status(uri, document=pdf.read_bytes()))[0] == 401
    result = await asyncio.to_thread(
        ipptool, uri.replace("ipp://", "ipp://alice:wonderland@"), "print-job.test", document=pdf
    )
    assert result.returncode == 0, result.stdout + result.stderr
    await asyncio.to_thread(eve.wait_documents, 1, 60)

    await page.goto(f"/preferences/groups/{queue}/edit")
    await console.keep(page)
    await page.goto(f"/preferences/groups/{queue}/delete")
    await console.visit(page, page.url)
    await page.get_by_role("button", name="Delete the group").click()
    await page.wait_for_url("**/preferences/groups?deleted=*")
    assert await ipp_status(uri) == (200, Status.NOT_FOUND)
