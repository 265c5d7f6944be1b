"""Reconciliation against a real SNMP agent: snmpsim serves a printer whose life counter rises
as it prints (set with snmpset, as the printer itself would count). printgate's charged jobs
account for part of the rise; a job sent straight to the printer, around printgate, is the
difference; a job whose own meter check disagreed is listed."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import update

from gateway.reports.period import Period
from gateway.reports.reconciliation import reconciliation
from gateway.reports.render import ReportRequest, render
from gateway.reports.scope import Scope, Target
from gateway.snmp.client import SnmpClient
from gateway.snmp.client import Target as SnmpTarget
from gateway.snmp.poller import read_device
from gateway.snmp.records import DeviceEntry, ensure_devices, record_reading
from gateway.store.models import JobRow
from gateway.store.store import Store
from tests import test_reports_fixture as fx
from tests.snmp_peers import SnmpSim, find_snmp_tool, hp_printer

LIFE = "1.3.6.1.2.1.43.10.2.1.4.1.1"


def _printer_counts(sim: SnmpSim, value: int) -> None:
    subprocess.run(
        [find_snmp_tool("snmpset"), "-v2c", "-c", "public", sim.address, LIFE, "u", str(value)],
        check=True,
        capture_output=True,
    )


async def _read(store: Store, client: SnmpClient, sim: SnmpSim, device_id: int) -> None:
    reading = await read_device(client, SnmpTarget(sim.host, sim.port))
    await record_reading(store, device_id, reading)


async def test_jobs_around_printgate_are_the_difference(
    store: Store, snmpsim_factory: Callable[..., SnmpSim]
) -> None:
    sim = snmpsim_factory(hp_printer(life="66:writecache|value=10000"))
    (device,) = await ensure_devices(store, [DeviceEntry(sim.address, "config", "dj1")])
    client = SnmpClient(timeout=2.0, retries=2)
    try:
        await _read(store, client, sim, device.id)  # before: 10000
        now = datetime.now(UTC)
        base = fx.SPECS[0]
        printed = [
            replace(base, day=now.astimezone().date(), at=now,
                    lines={"mono_lines": (3, 0.5)}),
            replace(base, day=now.astimezone().date(), at=now,
                    lines={"color_lines": (5, 1.0)}, user="bob"),
            # On another printer: not this printer's count.
            replace(base, day=now.astimezone().date(), at=now,
                    printer="dj2", lines={"color_lines": (7, 1.0)}),
        ]  # fmt: skip
        ids = await fx.load(store, printed)
        # The printer counts printgate's 3 + 5 impressions and 4 more sent straight to it.
        _printer_counts(sim, 10000 + 3 + 5 + 4)
        await store.write(
            lambda s: s.execute(
                update(JobRow).where(JobRow.id == ids[1]).values(meter_mismatch=True, meter_delta=9)
            )
        )
        await _read(store, client, sim, device.id)  # after: 10012
    finally:
        client.close()

    today = Period(now.astimezone().date(), now.astimezone().date())
    report = await reconciliation(store, today)
    by_printer = {p.printer: p for p in report.printers}
    dj1 = by_printer["dj1"]
    assert (dj1.meter_start, dj1.meter_end) == (10000, 10012)
    assert (dj1.counted, dj1.charged_jobs, dj1.charged, dj1.difference) == (12, 2, 8, 4)
    assert [(j.id, j.impressions, j.meter_delta) for j in dj1.mismatches] == [(ids[1], 5, 9)]
    assert by_printer["dj2"].counted is None and by_printer["dj2"].charged == 7

    only = await reconciliation(store, today, Target("printer", "dj1"))
    assert [p.printer for p in only.printers] == ["dj1"]
    # A scope of projects sees no counter: a counter cannot be split by project.
    scoped = await reconciliation(store, today, scope=Scope(projects=frozenset({"Bridge"})))
    assert scoped.printers == ()

    text = (await render(store, ReportRequest("reconciliation", today), "csv")).body
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    row = next(r for r in rows if r and r[0] == "dj1")
    assert row[4:10] == ["10000", "10012", "12", "2", "8", "4"]
    assert any(r and r[0] == str(ids[1]) for r in rows)
