"""The fleet's settings an administrator changes in the console, over the TOML's [snmp]: the
reading interval, the networks discovery scans and its schedule, the meter report's schedule
and its recipients. Kept as settings in the store (keys fleet.*), audited with each save.

The reading interval and the recipients are read afresh by the running monitor (each round,
each report); the schedules and networks are given to the scheduler at start-up, so they apply
from printgate's next start."""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..config import SnmpConfig
from ..schedule import parse_schedule
from ..store.audit import Actor, record
from ..store.models import SettingRow
from ..store.store import Store

log = logging.getLogger(__name__)
SETTING_PREFIX = "fleet."
FIELDS = ("poll_interval", "networks", "discover_schedule", "report_schedule", "report_to")
EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+$")
MIN_POLL, MAX_POLL = 60.0, 7 * 86400.0


class FleetSettingsError(ValueError):
    """A value refused: `field` says which."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FleetSettings:
    poll_interval: float
    networks: tuple[str, ...]
    discover_schedule: str
    report_schedule: str
    report_to: tuple[str, ...]  # empty: [mail] to, else the administrators

    def as_text(self) -> dict[str, str]:
        return {
            "poll_interval": f"{self.poll_interval:g}",
            "networks": ", ".join(self.networks),
            "discover_schedule": self.discover_schedule,
            "report_schedule": self.report_schedule,
            "report_to": ", ".join(self.report_to),
        }

    def applied(self, base: SnmpConfig) -> SnmpConfig:
        return replace(
            base,
            poll_interval=self.poll_interval,
            networks=self.networks,
            discover_schedule=self.discover_schedule,
            report_schedule=self.report_schedule,
        )


def _items(text: str) -> tuple[str, ...]:
    return tuple(item for item in re.split(r"[\s,;]+", text) if item)


def _schedule(field: str, text: str) -> str:
    text = " ".join(text.split())
    if text:
        try:
            parse_schedule(text)
        except ValueError as exc:
            raise FleetSettingsError(field, str(exc)) from exc
    return text


def checked(values: dict[str, str]) -> FleetSettings:
    """The settings from their texts, else FleetSettingsError naming the field."""
    try:
        poll = float(values["poll_interval"])
    except ValueError:
        raise FleetSettingsError("poll_interval", "a number of seconds is needed") from None
    if not MIN_POLL <= poll <= MAX_POLL:
        raise FleetSettingsError("poll_interval", f"between {MIN_POLL:g} and {MAX_POLL:g} s")
    networks = _items(values["networks"])
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise FleetSettingsError("networks", f"{network} is not a network") from None
    recipients = _items(values["report_to"])
    for address in recipients:
        if not EMAIL.match(address):
            raise FleetSettingsError("report_to", f"{address} is not an e-mail address")
    return FleetSettings(
        poll,
        networks,
        _schedule("discover_schedule", values["discover_schedule"]),
        _schedule("report_schedule", values["report_schedule"]),
        recipients,
    )


def from_config(base: SnmpConfig) -> FleetSettings:
    return FleetSettings(
        base.poll_interval, base.networks, base.discover_schedule, base.report_schedule, ()
    )


async def overrides(store: Store) -> dict[str, str]:
    async def fn(session: AsyncSession) -> dict[str, str]:
        keys = [SETTING_PREFIX + name for name in FIELDS]
        rows = await session.scalars(select(SettingRow).where(SettingRow.key.in_(keys)))
        return {row.key.removeprefix(SETTING_PREFIX): row.value for row in rows}

    return await store.read(fn)


async def in_force(base: SnmpConfig, store: Store) -> FleetSettings:
    """The TOML's [snmp] with the console's values over it; stored values that no longer read
    (edited by hand) are ignored rather than stopping the fleet's work."""
    stored = await overrides(store)
    if not stored:
        return from_config(base)
    values = from_config(base).as_text() | stored
    try:
        return checked(values)
    except FleetSettingsError:
        log.warning("the console's fleet settings do not read; using [snmp] of the config")
        return from_config(base)


async def save(store: Store, actor: Actor, base: SnmpConfig, settings: FleetSettings) -> None:
    """Store every field (the TOML no longer decides them), with the audit entry."""
    after = settings.as_text()

    def fn(session: Session) -> None:
        stored = {
            row.key.removeprefix(SETTING_PREFIX): row.value
            for row in session.scalars(
                select(SettingRow).where(SettingRow.key.startswith(SETTING_PREFIX))
            )
        }
        before = from_config(base).as_text() | stored
        for name, value in after.items():
            session.merge(SettingRow(key=SETTING_PREFIX + name, value=value))
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        if changed:
            record(
                session,
                actor,
                "snmp.settings",
                "fleet",
                {k: before.get(k, "") for k in changed},
                changed,
            )

    await store.write(fn)
