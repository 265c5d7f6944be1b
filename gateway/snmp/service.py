"""What `printgate serve` starts for the fleet when SNMP is configured: the poll loop, and the
recurring tasks (discovery, meter report) for the shared scheduler."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..runtime.mail import Mailer
from ..runtime.scheduler import Recurring
from ..store.store import Store
from .client import SnmpClient
from .meter import SnmpMeter
from .monitor import FleetMonitor, printer_target


def configured(config: Config) -> bool:
    snmp = config.snmp
    return bool(snmp.devices or snmp.networks or any(p.snmp for p in config.printers))


@dataclass
class Fleet:
    monitor: FleetMonitor
    client: SnmpClient

    def recurring(self) -> list[Recurring]:
        settings = self.monitor.settings
        tasks = []
        if settings.networks and settings.discover_schedule:
            tasks.append(
                Recurring(
                    "snmp-discovery", settings.discover_schedule, self.monitor.scheduled_discovery
                )
            )
        if settings.report_schedule:
            tasks.append(
                Recurring("meter-report", settings.report_schedule, self.monitor.send_report)
            )
        return tasks

    def meter(self) -> SnmpMeter | None:
        """The per-job meter check's reader, when it is on ([snmp] meter_check)."""
        config = self.monitor.config
        if not config.snmp.meter_check:
            return None
        targets = {
            p.name: printer_target(p.uri, p.snmp) for p in config.printers if p.snmp is not None
        }
        return SnmpMeter(self.client, targets) if targets else None

    def close(self) -> None:
        self.client.close()


async def open_fleet(config: Config, store: Store, mailer: Mailer) -> Fleet | None:
    if not configured(config):
        return None
    client = SnmpClient(config.snmp.timeout, config.snmp.retries)
    monitor = FleetMonitor(config, store, client, mailer)
    await monitor.sync_devices()
    return Fleet(monitor, client)
