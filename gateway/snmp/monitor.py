"""The fleet inside `printgate serve`: reads every known device each poll interval, stores the
readings, opens and closes alert episodes and mails new ones, and scans the configured networks
for new printers on their schedule."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import Config, SnmpAccess
from ..runtime.mail import Mail, Mailer, MailError
from ..store.models import SnmpAlertRow, SnmpDeviceRow
from ..store.store import Store, StoreUnavailable, now
from . import alerts, discovery, fleet_settings, records, report
from .client import Credentials, SnmpClient, SnmpError, Target, split_host_port
from .poller import bounded, read_device
from .reading import DeviceReading

log = logging.getLogger(__name__)


def credentials_of(access: SnmpAccess) -> Credentials:
    return Credentials(
        version=access.version,
        community=access.community,
        user=access.user,
        auth_protocol=access.auth_protocol,
        auth_password=access.auth_password,
        priv_protocol=access.priv_protocol,
        priv_password=access.priv_password,
        context=access.context,
    )


def printer_target(uri: str, access: SnmpAccess) -> Target:
    """Where a configured printer answers SNMP: snmp.host, else its uri's host."""
    host = access.host or urlsplit(uri).hostname or "localhost"
    return Target(host, access.port, credentials_of(access))


@dataclass(frozen=True)
class RoundResult:
    read: int
    failed: int
    opened: tuple[str, ...]  # messages of the episodes opened this round
    mailed: int


class FleetMonitor:
    def __init__(self, config: Config, store: Store, client: SnmpClient, mailer: Mailer):
        self.config = config
        self.settings = config.snmp
        self.store = store
        self.client = client
        self.mailer = mailer
        self.limits = alerts.Thresholds(
            self.settings.low_supply_percent, self.settings.supply_recovered_percent
        )
        self.last_readings: dict[int, DeviceReading] = {}

    # --- which devices, reached how --------------------------------------------------------

    def configured(self) -> list[records.DeviceEntry]:
        entries = [
            records.DeviceEntry(printer_target(p.uri, p.snmp).address, "config", p.name)
            for p in self.config.printers
            if p.snmp is not None
        ]
        for text in self.settings.devices:
            host, port = split_host_port(text, self.settings.port)
            entries.append(records.DeviceEntry(f"{host}:{port}", "manual"))
        return entries

    def target(self, device: SnmpDeviceRow) -> Target:
        for printer in self.config.printers:
            if printer.snmp is not None and printer.name == device.printer:
                return printer_target(printer.uri, printer.snmp)
        host, port = split_host_port(device.address, self.settings.port)
        return Target(host, port, self.default_credentials)

    @property
    def default_credentials(self) -> Credentials:
        return Credentials(version=self.settings.version, community=self.settings.community)

    async def sync_devices(self) -> None:
        await records.ensure_devices(self.store, self.configured())

    # --- one round --------------------------------------------------------------------------

    async def poll_all(self) -> RoundResult:
        """Read every device once (bounded concurrency), store what was read, then alerts."""
        known = await records.devices(self.store)
        results: dict[int, DeviceReading | None] = {}

        async def one(device: SnmpDeviceRow) -> None:
            try:
                result = await read_device(self.client, self.target(device))
            except SnmpError as exc:
                results[device.id] = None
                await records.record_failure(self.store, device.id, str(exc))
                return
            results[device.id] = result
            await records.record_reading(self.store, device.id, result)

        await bounded(known, self.settings.concurrency, one)
        for device_id, result in results.items():
            if result is not None:
                self.last_readings[device_id] = result
        opened = await self._alerts(await records.devices(self.store), results)
        mailed = await self.mail_alerts()
        failed = sum(1 for r in results.values() if r is None)
        return RoundResult(len(results) - failed, failed, opened, mailed)

    async def _alerts(
        self, known: Sequence[SnmpDeviceRow], results: dict[int, DeviceReading | None]
    ) -> tuple[str, ...]:
        current = [
            alerts.OpenEpisode(row.id, row.device_id, row.kind, row.subject)
            for row in await records.open_alerts(self.store)
        ]
        opened: list[alerts.Episode] = []
        closed: list[int] = []
        moment = now()
        for device in known:
            result = results.get(device.id)
            if result is not None:
                change = alerts.after_reading(
                    device.id, device.address, result, current, self.limits
                )
            else:
                stale = alerts.is_stale(
                    device.last_read, device.first_seen, moment, self.settings.stale_after
                )
                change = alerts.stale_changes(
                    device.id, device.address, stale, current, self.settings.stale_after / 86400
                )
            opened.extend(change.opened)
            closed.extend(change.closed)
        rows = await records.apply_episodes(self.store, opened, closed, moment)
        for row in rows:
            log.warning("alert: %s", row.message)
        return tuple(row.message for row in rows)

    async def mail_alerts(self) -> int:
        """Mail every episode not mailed yet, in one message; each episode is mailed once."""
        if not self.mailer.configured:
            return 0
        pending = await records.unmailed_alerts(self.store)
        if not pending:
            return 0
        to = self.mailer.recipients(await self.store.admin_emails())
        subject = _subject(pending)
        body = "\n".join(f"- {row.message}" for row in pending)
        try:
            await self.mailer.send(Mail(to, subject, body + "\n"))
        except MailError as exc:
            log.error("alert mail not sent (tried again next round): %s", exc)
            return 0
        await records.mark_mailed(self.store, [row.id for row in pending], now())
        return len(pending)

    # --- loops and scheduled work ----------------------------------------------------------------

    async def poll_loop(self) -> None:
        """Poll now, then every poll_interval; a failing round does not stop the loop."""
        while True:
            started = asyncio.get_running_loop().time()
            try:
                result = await self.poll_all()
                log.info("meter read: %d devices read, %d failed", result.read, result.failed)
            except Exception:
                log.exception("meter read round failed")
            elapsed = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(1.0, await self._poll_interval() - elapsed))

    async def _poll_interval(self) -> float:
        """As saved in the console (read each round, so a change applies at once), else
        [snmp] poll_interval."""
        try:
            return (await fleet_settings.in_force(self.settings, self.store)).poll_interval
        except StoreUnavailable:
            return self.settings.poll_interval

    async def send_report(self, formats: Sequence[str] | None = None) -> int:
        """Mail the meter report; new devices count as reported once it has gone out."""
        rows = await report.rows_from_store(self.store, self.settings)
        stamp = now().strftime("%Y-%m-%d")
        files = report.attachments(rows, formats or self.settings.report_formats, stamp)
        chosen = (await fleet_settings.in_force(self.settings, self.store)).report_to
        to = chosen or self.mailer.recipients(await self.store.admin_emails())
        await self.mailer.send(
            Mail(to, f"printgate meter report {stamp}", report.summary(rows), tuple(files))
        )
        await records.mark_reported(self.store, [r.device_id for r in rows if r.flag == "new"])
        return len(rows)

    async def scheduled_discovery(self) -> None:
        """Scan, and when new printers turned up, mail a report at once (highlighting them)."""
        added = await self.discover()
        if added and self.mailer.configured:
            await self.send_report()

    # --- discovery --------------------------------------------------------------------------

    async def discover(self, cidrs: Sequence[str] | None = None) -> list[SnmpDeviceRow]:
        """Scan the networks; record printers not known yet; the new devices' rows."""
        found = await discovery.scan(
            self.client,
            list(cidrs if cidrs is not None else self.settings.networks),
            self.settings.port,
            self.default_credentials,
            self.settings.discover_timeout,
            self.settings.discover_concurrency,
        )
        entries = [records.DeviceEntry(f.address, "discovered") for f in found if f.is_printer]
        added = await records.ensure_devices(self.store, entries)
        for row in added:
            log.info("discovered a new printer at %s", row.address)
        return added


def _subject(pending: Sequence[SnmpAlertRow]) -> str:
    if len(pending) == 1:
        return f"printgate alert: {pending[0].message}"[:200]
    return f"printgate: {len(pending)} printer alerts"
