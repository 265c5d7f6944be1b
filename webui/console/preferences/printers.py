"""Preferences, Printers and groups: the printers, with their state, model, address and SNMP
status. "Add printers" lists what DNS-SD and SNMP find on the network (printgate's own queues
left out) and fills the add form from the one chosen; add by hand (name, URI or host, SNMP
access, group), edit (name, address, graceful failover, SNMP), remove with a confirmation.
The TOML's printers are shown locked (a save of one answers 409 Conflict: it is managed in
printgate.toml). gateway/server/queues_live.py validates, saves (audited) and serves each
change at once; its refusals show on the form. The groups are groups.py's."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from aiohttp import web

from gateway.config import SNMP_AUTH, SNMP_PRIV, PrinterConfig, SnmpAccess
from gateway.server.queues_live import Found, LiveQueues, PrinterEntry
from gateway.server.queues_rules import Invalid, Problem, printer_uri
from gateway.snmp import records

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from . import groups
from .common import actor, context
from .groups import live, problem_text, refused

PAGE = "/preferences/printers"
SNMP_VERSIONS = ("", "1", "2c", "3")
FIELDS = {
    "name",
    "uri",
    "group",
    "new_group",
    *(
        f"snmp_{f}"
        for f in ("version", "community", "port", "user", "auth_protocol", "priv_protocol")
    ),
}


def _url(name: str) -> str:
    return f"{PAGE}/{quote(name, safe='')}"


def _entry_or_404(request: web.Request) -> PrinterEntry:
    entry = live(request).printer(request.match_info["printer"])
    if entry is None:
        raise web.HTTPNotFound(text="no such printer")
    return entry


async def listing(request: web.Request) -> web.Response:
    devices = {d.printer: d for d in await records.devices(context(request).store) if d.printer}
    return render(
        request,
        "console/preferences/printers.html",
        printers=live(request).printer_entries(),
        devices=devices,
        saved=request.query.get("saved", ""),
        removed=request.query.get("removed", ""),
    )


@dataclass
class Discovery:
    """The network search behind "Add printers". A search takes seconds (DNS-SD browsing,
    the SNMP scan), so the page never waits for one: it shows the last results at once and
    starts a new search when they are older than FRESH_FOR; while one runs, the page reloads
    itself until it is done."""

    results: list[Found] = field(default_factory=list)
    searched_at: float = 0.0
    task: asyncio.Task[None] | None = None

    @property
    def searching(self) -> bool:
        return self.task is not None and not self.task.done()

    def refresh(self, queues: LiveQueues) -> None:
        if self.searching or time.monotonic() - self.searched_at < FRESH_FOR:
            return
        self.task = asyncio.get_running_loop().create_task(self._search(queues))

    async def _search(self, queues: LiveQueues) -> None:
        try:
            self.results = await queues.discover()
        finally:
            self.searched_at = time.monotonic()

    async def close(self, _app: web.Application) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


FRESH_FOR = 10.0  # seconds
DISCOVERY_KEY = web.AppKey("printer-discovery", Discovery)


async def discover(request: web.Request) -> web.Response:
    """What the network offers, printgate's own queues left out: the last search's results,
    and a new search started when they are old."""
    discovery = request.app[DISCOVERY_KEY]
    discovery.refresh(live(request))
    links = {}
    for item in discovery.results:
        prefill = {"name": item.name, "uri": item.uri}
        if item.snmp_community:
            prefill |= {"snmp_version": "2c", "snmp_community": item.snmp_community}
        links[item.uri] = f"{PAGE}/new?{urlencode(prefill)}"
    return render(
        request,
        "console/preferences/printers_discover.html",
        found=discovery.results,
        links=links,
        searching=discovery.searching,
    )


# --- the form ---------------------------------------------------------------------------


def _snmp_choices() -> list[tuple[str, str]]:
    return [
        ("", gettext("No SNMP")),
        ("1", "SNMPv1"),
        ("2c", "SNMPv2c"),
        ("3", "SNMPv3"),
    ]


def _protocols(names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(name, name or gettext("None")) for name in names]


def _parse(form: Form, before: PrinterConfig | None) -> PrinterConfig:
    """The printer the form describes. SNMP secrets left empty on an edit are kept."""
    name = form.name("name")
    uri = printer_uri(form.text("uri", required=True, max_length=1000))
    version = form.choice("snmp_version", SNMP_VERSIONS, required=False)
    snmp = None
    if version:
        old = before.snmp if before is not None and before.snmp is not None else SnmpAccess()
        port = form.integer("snmp_port", minimum=1, maximum=65535) if form.raw("snmp_port") else 161
        snmp = SnmpAccess(
            version=version,
            community=form.text("snmp_community") or old.community,
            port=port or 161,
            user=form.text("snmp_user", max_length=100),
            auth_protocol=form.choice("snmp_auth_protocol", SNMP_AUTH, required=False),
            auth_password=form.values.get("snmp_auth_password", "") or old.auth_password,
            priv_protocol=form.choice("snmp_priv_protocol", SNMP_PRIV, required=False),
            priv_password=form.values.get("snmp_priv_password", "") or old.priv_password,
        )
    return PrinterConfig(
        name=name, uri=uri, graceful_failover=form.boolean("graceful_failover"), snmp=snmp
    )


def _values(printer: PrinterConfig) -> dict[str, str]:
    values = {"name": printer.name, "uri": printer.uri}
    if printer.graceful_failover:
        values["graceful_failover"] = "on"
    if printer.snmp is not None:
        snmp = printer.snmp
        values |= {
            "snmp_version": snmp.version,
            "snmp_port": str(snmp.port),
            "snmp_user": snmp.user,
            "snmp_auth_protocol": snmp.auth_protocol,
            "snmp_priv_protocol": snmp.priv_protocol,
        }
    return values


def _render_form(
    request: web.Request,
    form: Form,
    entry: PrinterEntry | None,
    error: str = "",
    status: int = 200,
) -> web.Response:
    registry = live(request)
    group_choices = [("", gettext("No group"))] + [
        (g.name, g.name) for g in registry.group_entries() if not g.locked
    ]
    return render(
        request,
        "console/preferences/printers_form.html",
        status,
        form=form,
        entry=entry,
        error=error,
        snmp_choices=_snmp_choices(),
        auth_protocols=_protocols(SNMP_AUTH),
        priv_protocols=_protocols(SNMP_PRIV),
        group_choices=group_choices,
        action=f"{_url(entry.printer.name)}/edit" if entry else f"{PAGE}/new",
    )


async def new_page(request: web.Request) -> web.Response:
    # "Add" on a found printer links here with its name and address (and SNMP community).
    prefill = {k: v for k, v in request.query.items() if k in FIELDS}
    return _render_form(request, Form({"graceful_failover": "on", **prefill}), None)


async def create(request: web.Request) -> web.Response:
    form = Form(await request.post())
    printer = _parse(form, None)
    group = form.text("group", max_length=100)
    new_group = form.name("new_group", required=False)
    if group and new_group:
        form.error("new_group", gettext("Choose a group or name a new one, not both."))
    if not form.ok:
        return _render_form(request, form, None, status=400)
    try:
        await live(request).add_printer(actor(request), printer, group, new_group)
    except Invalid as exc:
        return _render_form(request, form, None, refused(form, exc, FIELDS), 400)
    raise web.HTTPSeeOther(f"{PAGE}?saved={quote(printer.name, safe='')}")


async def edit_page(request: web.Request) -> web.Response:
    entry = _entry_or_404(request)
    return _render_form(request, Form(_values(entry.printer.config)), entry)


async def edit(request: web.Request) -> web.Response:
    entry = _entry_or_404(request)
    form = Form(await request.post())
    if entry.locked:
        return _render_form(request, Form(_values(entry.printer.config)), entry, status=409)
    printer = _parse(form, entry.printer.config)
    if not form.ok:
        return _render_form(request, form, entry, status=400)
    try:
        await live(request).edit_printer(actor(request), entry.printer.name, printer)
    except Invalid as exc:
        return _render_form(request, form, entry, refused(form, exc, FIELDS), 400)
    raise web.HTTPSeeOther(f"{PAGE}?saved={quote(printer.name, safe='')}")


# --- remove -------------------------------------------------------------------------------


def _render_remove(
    request: web.Request, entry: PrinterEntry, error: str = "", status: int = 200
) -> web.Response:
    return render(
        request,
        "console/preferences/printers_remove.html",
        status,
        entry=entry,
        error=error,
        action=f"{_url(entry.printer.name)}/remove",
    )


async def remove_page(request: web.Request) -> web.Response:
    return _render_remove(request, _entry_or_404(request))


async def remove(request: web.Request) -> web.Response:
    entry = _entry_or_404(request)
    if entry.locked:
        return _render_remove(request, entry, problem_text(Problem("name", "locked")), 409)
    try:
        await live(request).remove_printer(actor(request), entry.printer.name)
    except Invalid as exc:
        message = " ".join(problem_text(p) for p in exc.problems)
        return _render_remove(request, entry, message, 400)
    raise web.HTTPSeeOther(f"{PAGE}?removed={quote(entry.printer.name, safe='')}")


def register(app: web.Application) -> None:
    """The Printers and groups panel: the printers' routes, and the groups'."""
    app.router.add_get("/printers", listing)
    discovery = Discovery()
    app[DISCOVERY_KEY] = discovery
    app.on_cleanup.append(discovery.close)
    app.router.add_get("/printers/discover", discover)
    app.router.add_get("/printers/new", new_page)
    app.router.add_post("/printers/new", create)
    app.router.add_get("/printers/{printer}/edit", edit_page)
    app.router.add_post("/printers/{printer}/edit", edit)
    app.router.add_get("/printers/{printer}/remove", remove_page)
    app.router.add_post("/printers/{printer}/remove", remove)
    groups.register(app)
