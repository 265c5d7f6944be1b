"""Alert episodes: which conditions start and which end, from the latest reading and the
episodes already open. Policy only: no IO, no clock.

An episode opens when a condition starts and is mailed once; it stays open while the condition
holds and closes only when it has clearly ended. A supply closes its episode only once its level
is back above `recovered_percent` (a new cartridge), so a level wobbling around the low
threshold does not alert again and again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .reading import SERIOUS_ERRORS, DeviceReading, Supply

LOW, EMPTY, FULL, ERROR, STALE = "low-supply", "supply-empty", "supply-full", "error", "stale"
SUPPLY_KINDS = (LOW, EMPTY, FULL)


@dataclass(frozen=True)
class Episode:
    """A condition that has started."""

    device_id: int
    kind: str
    subject: str
    message: str


@dataclass(frozen=True)
class OpenEpisode:
    id: int
    device_id: int
    kind: str
    subject: str


@dataclass(frozen=True)
class Changes:
    opened: tuple[Episode, ...] = ()
    closed: tuple[int, ...] = ()


@dataclass(frozen=True)
class Thresholds:
    low_percent: int
    recovered_percent: int


def _supply_conditions(supply: Supply, limits: Thresholds) -> set[str]:
    if supply.percent is None:
        return {EMPTY} if supply.level == 0 and supply.supply_class != "receptacle" else set()
    if supply.supply_class == "receptacle":  # waste toner: the problem is being full
        if supply.percent >= 100:
            return {FULL}
        return {LOW} if supply.percent >= 100 - limits.low_percent else set()
    if supply.level == 0:
        return {EMPTY}
    return {LOW} if supply.percent <= limits.low_percent else set()


def _supply_recovered(supply: Supply, limits: Thresholds) -> bool:
    if supply.state == "some-remaining":
        return True  # a new cartridge that only says "some remains"
    if supply.percent is None:
        return False
    if supply.supply_class == "receptacle":
        return supply.percent <= 100 - limits.recovered_percent
    return supply.percent >= limits.recovered_percent


def after_reading(
    device_id: int,
    address: str,
    reading: DeviceReading,
    open_episodes: Iterable[OpenEpisode],
    limits: Thresholds,
) -> Changes:
    mine = [e for e in open_episodes if e.device_id == device_id]
    is_open = {(e.kind, e.subject) for e in mine}
    opened: list[Episode] = []
    closed: list[int] = []
    name = reading.model or address
    supplies = {s.description: s for s in reading.supplies}
    for supply in reading.supplies:
        conditions = _supply_conditions(supply, limits)
        # One episode per supply and condition; an empty supply that was already low (or
        # is reported both ways at once) alerts as empty only.
        for kind in conditions:
            if (kind, supply.description) in is_open:
                continue
            if kind == LOW and (EMPTY, supply.description) in is_open:
                continue
            opened.append(
                Episode(
                    device_id, kind, supply.description, _supply_text(kind, supply, name, address)
                )
            )
    for episode in mine:
        if episode.kind in SUPPLY_KINDS:
            now_supply = supplies.get(episode.subject)
            if now_supply is not None and _supply_recovered(now_supply, limits):
                closed.append(episode.id)
        elif episode.kind == ERROR and episode.subject not in reading.errors:
            closed.append(episode.id)
        elif episode.kind == STALE:
            closed.append(episode.id)  # it answered
    for error in reading.errors:
        if error in SERIOUS_ERRORS and (ERROR, error) not in is_open:
            opened.append(Episode(device_id, ERROR, error, f"{name} ({address}) reports {error}"))
    return Changes(tuple(opened), tuple(closed))


def _supply_text(kind: str, supply: Supply, name: str, address: str) -> str:
    level = f"{supply.percent}%" if supply.percent is not None else "level unknown"
    what = {
        LOW: "is low" if supply.supply_class != "receptacle" else "is nearly full",
        EMPTY: "is empty",
        FULL: "is full",
    }[kind]
    return f"{name} ({address}): {supply.description} {what} ({level})"


def is_stale(last_read: datetime | None, first_seen: datetime, now: datetime, after: float) -> bool:
    """No meter read for `after` seconds (counted from when it was first seen if never read)."""
    return now - (last_read or first_seen) >= timedelta(seconds=after)


def stale_changes(
    device_id: int,
    address: str,
    stale: bool,
    open_episodes: Iterable[OpenEpisode],
    days: float,
) -> Changes:
    if not stale or any(e.device_id == device_id and e.kind == STALE for e in open_episodes):
        return Changes()
    text = f"{address}: no meter read for {days:g} days"
    return Changes(opened=(Episode(device_id, STALE, "", text),))
