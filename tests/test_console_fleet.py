"""The console's fleet: an administrator adds a device by address, scans a segment where an
snmpsim printer answers, and mails the meter report now (each audited); a bookkeeper sees the
fleet and a device's page but is refused every change; bad input is refused beside its field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from gateway.identity.accounts import Accounts
from gateway.snmp import fleet_settings, records
from gateway.store.audit import Actor, AuditFilter, entries
from gateway.store.models import SnmpDeviceRow
from gateway.store.store import Store
from tests.harness import in_process
from tests.snmp_peers import SmtpSink, SnmpSim, hp_printer
from tests.web_client import WebClient

ADMIN_PASSWORD = "a long admin password"
KEEPER_PASSWORD = "a long keeper password"


async def _age(store: Store, device_id: int, days: int) -> None:
    """Make a device last seen `days` ago."""

    def fn(session: Session) -> None:
        device = session.get(SnmpDeviceRow, device_id)
        assert device is not None
        device.first_seen = device.first_seen - timedelta(days=days)
        device.last_read = None

    await store.write(fn)


async def test_fleet_actions(
    tmp_path: Path,
    database_url: str,
    snmpsim_factory: Callable[..., SnmpSim],
    smtp_sink: SmtpSink,
) -> None:
    sim = snmpsim_factory(hp_printer(serial="SCAN1"), host="127.0.6.1")
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": (tmp_path / "out").as_uri()}],
        queues=[{"name": "demo", "printers": ["virtual"]}],
        snmp={"port": sim.port, "timeout": 1.0, "discover_timeout": 1.0},
        mail={
            "host": smtp_sink.host,
            "port": smtp_sink.port,
            "security": "none",
            "to": ["dealer@example.org"],
        },
    ) as gw:
        store = gw.gateway.jobs.store
        accounts = Accounts(store)
        await accounts.set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        await accounts.add(Actor.cli(), "keeper", KEEPER_PASSWORD, "bookkeeper", "k@example.org")
        base = f"http://127.0.0.1:{gw.port}"
        async with WebClient(base) as admin, WebClient(base) as keeper:
            assert (await admin.sign_in("admin", ADMIN_PASSWORD)).status == 303
            assert (await keeper.sign_in("keeper", KEEPER_PASSWORD)).status == 303
            assert 'action="/console/fleet/scan"' in (await admin.get("/console/fleet")).text
            page = await keeper.get("/console/fleet")
            assert page.status == 200 and 'action="/console/fleet/scan"' not in page.text
            for action in ("devices", "scan", "report", "settings"):
                refused = await keeper.post(f"/console/fleet/{action}", {"address": "x"})
                assert refused.status == 403, action

            # Add by address: refused beside the field when bad or known, else stored.
            bad = await admin.post("/console/fleet/devices", {"address": "a b"})
            assert bad.status == 400 and 'id="e-address"' in bad.text
            added = await admin.post("/console/fleet/devices", {"address": "192.0.2.7:161"})
            assert added.status == 303
            again = await admin.post("/console/fleet/devices", {"address": "192.0.2.7:161"})
            assert again.status == 409 and 'id="e-address"' in again.text
            bare = await admin.post("/console/fleet/devices", {"address": "192.0.2.8"})
            assert bare.status == 303  # on the configured SNMP port
            known = {d.address: d for d in await records.devices(store)}
            assert known["192.0.2.7:161"].origin == "manual"
            assert f"192.0.2.8:{sim.port}" in known

            # Scan a segment: the snmpsim printer is found and recorded.
            wide = await admin.post("/console/fleet/scan", {"segment": "10.0.0.0/8"})
            assert wide.status == 400 and 'id="e-segment"' in wide.text
            scanned = await admin.post("/console/fleet/scan", {"segment": "127.0.6.0/30"})
            assert scanned.status == 303 and "found=1" in scanned.location
            known = {d.address: d for d in await records.devices(store)}
            assert known[sim.address].origin == "discovered"
            device_page = await keeper.get(f"/console/fleet/{known[sim.address].id}")
            assert device_page.status == 200 and sim.address in device_page.text
            assert (await keeper.get("/console/fleet/99999")).status == 404

            # The schedules and recipients: refused beside the field, else saved and in force.
            settings = {
                "poll_interval": "600",
                "networks": "127.0.6.0/30",
                "discover_schedule": "weekly mon 14:00",
                "report_schedule": "monthly 1 08:00",
                "report_to": "boss@example.org, books@example.org",
            }
            bad = await admin.post("/console/fleet/settings", settings | {"report_schedule": "x"})
            assert bad.status == 400 and 'id="e-report_schedule"' in bad.text
            assert (await admin.post("/console/fleet/settings", settings)).status == 303
            saved = await fleet_settings.in_force(gw.config.snmp, store)
            assert saved.poll_interval == 600 and saved.networks == ("127.0.6.0/30",)
            assert saved.report_schedule == "monthly 1 08:00"
            shown = (await keeper.get("/console/fleet")).text
            assert "boss@example.org, books@example.org" in shown

            # A device not read for longer than drop_after: shown as dropped, not mailed.
            await _age(store, known["192.0.2.7:161"].id, days=100)
            listing = (await keeper.get("/console/fleet")).text
            assert '<tr class="meter-dropped">' in listing and ">dropped</span>" in listing

            # The meter report, now: to the recipients saved above.
            sent = await admin.post("/console/fleet/report")
            assert sent.status == 303 and "devices=2" in sent.location
            [mail] = smtp_sink.wait(1)
            assert mail["Subject"].startswith("printgate meter report")
            assert "boss@example.org" in mail["To"] and "dealer@" not in mail["To"]

        actions = [e.action for e in await entries(store, AuditFilter())]
        for action in ("snmp.device.add", "snmp.scan", "snmp.report.send", "snmp.settings"):
            assert action in actions


async def test_saved_schedules_apply_from_the_next_start(tmp_path: Path, database_url: str) -> None:
    tables = {
        "printers": [{"name": "virtual", "uri": (tmp_path / "out").as_uri()}],
        "queues": [{"name": "demo", "printers": ["virtual"]}],
        "snmp": {"devices": ["192.0.2.1"], "poll_interval": 3600, "report_schedule": ""},
    }
    async with in_process(tmp_path, database_url, **tables) as gw:
        chosen = fleet_settings.checked(
            {
                "poll_interval": "900",
                "networks": "192.0.2.0/28",
                "discover_schedule": "daily 03:00",
                "report_schedule": "weekly fri 17:00",
                "report_to": "",
            }
        )
        await fleet_settings.save(gw.gateway.jobs.store, Actor.cli(), gw.config.snmp, chosen)
    async with in_process(tmp_path, database_url, **tables) as gw:
        assert gw.service.fleet is not None
        settings = gw.service.fleet.monitor.settings
        assert settings.report_schedule == "weekly fri 17:00"
        assert settings.networks == ("192.0.2.0/28",)
        assert [task.name for task in gw.service.fleet.recurring()] == [
            "snmp-discovery",
            "meter-report",
        ]
