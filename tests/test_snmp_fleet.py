"""The fleet monitor against snmpsim devices, with the store (SQLite or PostgreSQL) and an
aiosmtpd server: meter history, alert episodes mailed once, stale and dropped devices, new
devices from discovery (acceptance 2 and 3)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from gateway.config import Config, parse
from gateway.runtime.mail import Mailer
from gateway.snmp import records, report
from gateway.snmp.client import SnmpClient
from gateway.snmp.monitor import FleetMonitor
from gateway.store.store import Store
from tests.snmp_peers import SmtpSink, SnmpSim, body, free_udp_port, hp_printer


async def monitor_for(config: Config, store: Store) -> tuple[FleetMonitor, SnmpClient]:
    client = SnmpClient(config.snmp.timeout, config.snmp.retries)
    monitor = FleetMonitor(config, store, client, Mailer(config.mail))
    await monitor.sync_devices()
    return monitor, client


async def test_history_rises_low_supply_mails_once_stale_then_dropped(
    store: Store, snmpsim_factory: Callable[..., SnmpSim], smtp_sink: SmtpSink
) -> None:
    # The configured printer's counter rises 100 a second and its black toner is at 5%.
    office = snmpsim_factory(
        hp_printer(life="65:numeric|initial=20000,rate=100", black="450"), host="127.0.3.1"
    )
    lobby = snmpsim_factory(hp_printer(serial="LOBBY1"), host="127.0.3.2")
    config = parse(
        {
            "snmp": {
                "timeout": 0.5,
                "retries": 1,
                "devices": [lobby.address],
                "stale_after": 3.0,
                "drop_after": 6.0,
            },
            "mail": {
                "host": smtp_sink.host,
                "port": smtp_sink.port,
                "security": "none",
                "to": ["admin@example.org"],
            },
            "printers": [
                {
                    "name": "office",
                    "uri": "ipp://127.0.3.1:631/ipp/print",
                    "snmp": {"host": office.host, "port": office.port},
                }
            ],
        }
    )
    monitor, client = await monitor_for(config, store)
    try:
        rounds = []
        for _ in range(3):
            rounds.append(await monitor.poll_all())
            await asyncio.sleep(0.6)
        assert [(r.read, r.failed) for r in rounds] == [(2, 0)] * 3
        devices = {d.printer or d.address: d for d in await records.devices(store)}
        history = await records.history(store, devices["office"].id)
        totals = [h.total for h in history]
        assert len(totals) == 3 and totals == sorted(set(totals)) and totals[0] >= 20000
        assert devices["office"].serial == "CNB1234567"

        # One low-supply episode, one mail, however many polls see it.
        mails = smtp_sink.wait(1)
        await asyncio.sleep(0.3)
        assert len(smtp_sink.received()) == 1
        assert "Black Cartridge HP 212X is low (5%)" in body(mails[0])
        assert mails[0]["To"] == "admin@example.org"
        alerts = await records.all_alerts(store)
        assert [(a.kind, a.subject) for a in alerts] == [("low-supply", "Black Cartridge HP 212X")]
        assert alerts[0].mailed_at is not None and alerts[0].closed_at is None

        # The lobby printer was added by hand: new in the report until a report is mailed.
        rows = {r.address: r for r in await report.rows_from_store(store, config.snmp)}
        assert rows[lobby.address].flag == "new" and rows[office.address].flag == ""
        assert rows[office.address].supplies.startswith("Black Cartridge HP 212X 5%")

        # The lobby printer goes away: stale after stale_after, then off the reports.
        lobby.stop()
        started = time.monotonic()
        result = await monitor.poll_all()
        assert (result.read, result.failed) == (1, 1)
        assert not [a for a in await records.all_alerts(store) if a.kind == "stale"]
        await asyncio.sleep(max(0.0, 3.2 - (time.monotonic() - started)))
        await monitor.poll_all()
        mails = smtp_sink.wait(2)
        assert "no meter read" in body(mails[1]) and lobby.address in mails[1]["Subject"]
        rows = {r.address: r for r in await report.rows_from_store(store, config.snmp)}
        assert rows[lobby.address].flag == "stale"
        await asyncio.sleep(max(0.0, 6.2 - (time.monotonic() - started)))
        await monitor.poll_all()
        rows = {r.address: r for r in await report.rows_from_store(store, config.snmp)}
        assert lobby.address not in rows and office.address in rows
        assert len([a for a in await records.all_alerts(store) if a.kind == "stale"]) == 1
        assert len(smtp_sink.received()) == 2  # stale once, low supply once
    finally:
        client.close()


async def test_discovery_reports_new_printers_and_mails_the_report(
    store: Store, snmpsim_factory: Callable[..., SnmpSim], smtp_sink: SmtpSink
) -> None:
    port = free_udp_port("127.0.4.2")
    known = snmpsim_factory(hp_printer(serial="KNOWN"), host="127.0.4.2", port=port)
    config = parse(
        {
            "snmp": {
                "timeout": 0.5,
                "port": port,
                "devices": [known.address],
                "networks": ["127.0.4.0/29"],
                "report_formats": ["csv", "xlsx"],
            },
            "mail": {
                "host": smtp_sink.host,
                "port": smtp_sink.port,
                "security": "none",
                "to": ["dealer@example.org"],
            },
        }
    )
    monitor, client = await monitor_for(config, store)
    try:
        await records.mark_reported(store, [d.id for d in await records.devices(store)])
        assert await monitor.discover() == []  # only the one already known
        newcomer = snmpsim_factory(hp_printer(serial="NEW1"), host="127.0.4.5", port=port)
        await monitor.scheduled_discovery()
        mail = smtp_sink.wait(1)[0]
        assert newcomer.address in body(mail)
        rows = {r.address: r for r in await report.rows_from_store(store, config.snmp)}
        # Reported by that mail: no longer new; its meters come with the next poll.
        assert rows[newcomer.address].flag == ""
        await monitor.poll_all()
        rows = {r.address: r for r in await report.rows_from_store(store, config.snmp)}
        assert rows[newcomer.address].serial == "NEW1" and rows[known.address].total == 12000
    finally:
        client.close()
