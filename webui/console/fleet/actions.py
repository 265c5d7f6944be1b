"""The administrators' fleet actions: add a device by address, scan a network segment now,
send the meter report now, save the schedules and the report's recipients (fleet_settings).
Bookkeepers see the fleet but change nothing (403).

Scanning and the report use a fleet monitor of their own made from the configuration, the store
and the mail settings in force, so they work whether or not the service polls SNMP; the poll
loop (when [snmp] is configured) reads devices from the store each round, so an added or
discovered device is read from the next round on."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlencode

from aiohttp import web

from gateway.runtime.mail import MailError
from gateway.snmp import fleet_settings, records
from gateway.snmp.client import SnmpClient, split_host_port
from gateway.snmp.monitor import FleetMonitor
from gateway.store.audit import Actor, append

from ...context import CONTEXT_KEY, WebContext
from ...forms import Form
from ...i18n import gettext
from ...security.guard import see_other, signed_in
from .page import fleet_response

LARGEST_SCAN = 1024  # addresses: a /22 at most, so that a scan ends within the request


def _admin(request: web.Request) -> Actor:
    signed = signed_in(request)
    assert signed is not None  # the area's role check ran first
    if signed.account.role != "admin":
        raise web.HTTPForbidden(text=gettext("Only administrators may change the fleet."))
    return Actor(signed.account.username, "console")


def _context(request: web.Request) -> WebContext:
    return request.config_dict[CONTEXT_KEY]


async def _monitor(context: WebContext) -> FleetMonitor:
    snmp = context.config.snmp
    client = SnmpClient(snmp.timeout, snmp.retries)
    return FleetMonitor(context.config, context.store, client, await context.mailer())


def _done(what: str, **values: object) -> web.Response:
    return see_other("/console/fleet?" + urlencode({"done": what, **values}))


async def add_device(request: web.Request) -> web.Response:
    actor = _admin(request)
    form = Form(await request.post())
    text = form.text("address", required=True, max_length=300)
    address = ""
    if text:
        host, port = split_host_port(text, _context(request).config.snmp.port)
        if not host or any(c.isspace() or c in "/@" for c in host) or not 0 < port < 65536:
            form.error("address", gettext("A host name or address, with a port if not 161."))
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if not form.ok:
        return await fleet_response(request, 400, add_form=form)
    if not await records.add_device(_context(request).store, address, actor):
        form.error("address", gettext("This device is already in the fleet."))
        return await fleet_response(request, 409, add_form=form)
    return _done("added", address=address)


async def scan(request: web.Request) -> web.Response:
    actor = _admin(request)
    form = Form(await request.post())
    text = form.text("segment", required=True, max_length=50)
    network = None
    if text:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            form.error("segment", gettext("A network such as 192.168.1.0/24 is needed."))
        else:
            if network.num_addresses > LARGEST_SCAN:
                form.error("segment", gettext("At most %(n)s addresses at once.", n=LARGEST_SCAN))
    if not form.ok or network is None:
        return await fleet_response(request, 400, scan_form=form)
    monitor = await _monitor(_context(request))
    try:
        added = await monitor.discover([str(network)])
    finally:
        monitor.client.close()
    await append(
        _context(request).store,
        actor,
        "snmp.scan",
        str(network),
        after={"added": [row.address for row in added]},
    )
    return _done("scanned", found=len(added))


async def send_report(request: web.Request) -> web.Response:
    actor = _admin(request)
    monitor = await _monitor(_context(request))
    try:
        if not monitor.mailer.configured:
            message = gettext("Mail is not set up: see Preferences, Connectivity.")
            return await fleet_response(request, 409, report_error=message)
        try:
            rows = await monitor.send_report()
        except MailError as exc:
            message = gettext("The report was not sent: %(why)s", why=str(exc))
            return await fleet_response(request, 502, report_error=message)
    finally:
        monitor.client.close()
    await append(_context(request).store, actor, "snmp.report.send", after={"devices": rows})
    return _done("reported", devices=rows)


async def save_settings(request: web.Request) -> web.Response:
    actor = _admin(request)
    form = Form(await request.post())
    texts = {name: form.text(name, max_length=1000) for name in fleet_settings.FIELDS}
    if form.ok:
        try:
            settings = fleet_settings.checked(texts)
        except fleet_settings.FleetSettingsError as refusal:
            form.error(refusal.field, refusal.message)
    if not form.ok:
        return await fleet_response(request, 400, settings_form=form)
    context = _context(request)
    await fleet_settings.save(context.store, actor, context.config.snmp, settings)
    return _done("saved")
