"""The pure parts of fleet monitoring: decoding answers, alert episodes, schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.schedule import parse_schedule
from gateway.snmp import alerts, oids, reading
from gateway.snmp.reading import DeviceReading, Supply, decode_errors, supply

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
LIMITS = alerts.Thresholds(low_percent=10, recovered_percent=50)


@pytest.mark.parametrize(
    ("octets", "names"),
    [
        (b"\x00\x00", ()),
        (b"\x80", ("lowPaper",)),
        (b"\x01", ("serviceRequested",)),
        (b"\x0c\x02", ("doorOpen", "jammed", "overduePreventMaint")),
        (b"\x00\x80", ("inputTrayMissing",)),
    ],
)
def test_error_state_bits_are_decoded_most_significant_first(
    octets: bytes, names: tuple[str, ...]
) -> None:
    assert decode_errors(octets) == names


@pytest.mark.parametrize(
    ("level", "capacity", "klass", "percent", "state"),
    [
        (450, 9000, 3, 5, "ok"),
        (0, 9000, 3, 0, "empty"),
        (-3, 100, 3, None, "some-remaining"),
        (-2, 100, 3, None, "unknown"),
        (-1, 100, 3, None, "unknown"),
        (50, -2, 3, None, "unknown"),
        (100, 100, 4, 100, "full"),
        (20, 100, 4, 20, "ok"),
    ],
)
def test_supply_special_values(
    level: int, capacity: int, klass: int, percent: int | None, state: str
) -> None:
    found = supply("Black", 21, klass, level, capacity)
    assert (found.percent, found.state) == (percent, state)


def _reading(*supplies: Supply, errors: tuple[str, ...] = ()) -> DeviceReading:
    return DeviceReading(
        address="10.0.0.5:161",
        read_at=NOW,
        model="Laser",
        serial="S1",
        sys_descr="",
        sys_name="",
        location="",
        sys_object_id="",
        is_printer=True,
        total=1,
        mono=None,
        color=None,
        unit="impressions",
        status="idle",
        errors=errors,
        supplies=supplies,
    )


def _replay(levels: list[int], errors: list[tuple[str, ...]] | None = None) -> list[str]:
    """Feed readings through the policy as the monitor does; the kinds opened, in order."""
    open_now: list[alerts.OpenEpisode] = []
    opened: list[str] = []
    next_id = 1
    for i, level in enumerate(levels):
        current = _reading(supply("Black", 21, 3, level, 100), errors=errors[i] if errors else ())
        change = alerts.after_reading(7, "10.0.0.5:161", current, open_now, LIMITS)
        open_now = [e for e in open_now if e.id not in change.closed]
        for episode in change.opened:
            open_now.append(alerts.OpenEpisode(next_id, 7, episode.kind, episode.subject))
            opened.append(f"{episode.kind}:{episode.subject}")
            next_id += 1
    return opened


def test_a_level_wavering_around_the_threshold_alerts_once() -> None:
    assert _replay([40, 10, 11, 9, 12, 8, 11, 9]) == ["low-supply:Black"]


def test_a_new_cartridge_ends_the_episode_and_the_next_low_alerts_again() -> None:
    assert _replay([9, 9, 95, 60, 9]) == ["low-supply:Black", "low-supply:Black"]


def test_empty_alerts_once_and_does_not_add_a_low_alert() -> None:
    assert _replay([0, 0, 0]) == ["supply-empty:Black"]
    assert _replay([5, 0, 0]) == ["low-supply:Black", "supply-empty:Black"]


def test_error_bits_alert_per_episode() -> None:
    errors = [("doorOpen",), ("doorOpen",), (), ("doorOpen", "lowPaper")]
    assert _replay([80, 80, 80, 80], errors) == ["error:doorOpen", "error:doorOpen"]


def test_stale_is_counted_from_the_last_read() -> None:
    week = 7 * 86400.0
    assert not alerts.is_stale(NOW - timedelta(days=6), NOW - timedelta(days=30), NOW, week)
    assert alerts.is_stale(NOW - timedelta(days=7), NOW - timedelta(days=30), NOW, week)
    assert alerts.is_stale(None, NOW - timedelta(days=8), NOW, week)


def test_counters_prefer_the_pwg_counter_mib_and_derive_a_missing_part() -> None:
    values = {
        (*oids.PRT_MARKER_LIFE_COUNT, 1, 1): 1000,
        (*oids.PRT_MARKER_UNIT, 1, 1): 7,
        (*oids.IC_IMPRESSION_TOTAL, 1, 3, 3): 1000,
        (*oids.IC_IMPRESSION_MONO, 1, 3, 3): 700,
        (*oids.IC_IMPRESSION_TOTAL, 1, 4, 3): 5,  # waste, not work totals
    }
    found, unit = reading.counters(values, None)
    assert (found.total, found.mono, found.color, unit) == (1000, 700, 300, "impressions")
    assert found.source == "PWG-IMAGING-COUNTER-MIB"


def test_ricoh_counters_are_found_by_their_type() -> None:
    values = {
        (*oids.RICOH_COUNTER_TYPE, 1): 10,
        (*oids.RICOH_COUNTER_VALUE, 1): 500,
        (*oids.RICOH_COUNTER_TYPE, 2): 401,
        (*oids.RICOH_COUNTER_VALUE, 2): 300,
        (*oids.RICOH_COUNTER_TYPE, 3): 201,
        (*oids.RICOH_COUNTER_VALUE, 3): 50,
        (*oids.RICOH_COUNTER_TYPE, 4): 402,
        (*oids.RICOH_COUNTER_VALUE, 4): 150,
    }
    found, _ = reading.counters(values, oids.RICOH_ENTERPRISE)
    assert (found.total, found.mono, found.color) == (500, 350, 150)


def test_every_vendor_oid_names_its_source() -> None:
    vendors = {c.vendor for c in oids.VENDOR_COUNTERS}
    assert {"HP", "Xerox", "Kyocera", "Canon", "Konica Minolta"} <= vendors
    assert all(c.source and c.kind in ("total", "mono", "color") for c in oids.VENDOR_COUNTERS)


def test_schedules() -> None:
    weekly = parse_schedule("weekly mon,thu 14:00")
    first = weekly.next_after(NOW)
    local = first.astimezone()
    assert local.weekday() in (0, 3) and (local.hour, local.minute) == (14, 0)
    assert weekly.next_after(first) - first in (timedelta(days=3), timedelta(days=4))
    every = parse_schedule("every 15m from 2026-11-02T12:05:00+00:00")
    assert every.next_after(NOW) == datetime(2026, 11, 2, 12, 5, tzinfo=UTC)
    assert every.next_after(datetime(2026, 11, 2, 12, 5, tzinfo=UTC)) == datetime(
        2026, 11, 2, 12, 20, tzinfo=UTC
    )
    monthly = parse_schedule("monthly 31 02:00")  # the last day where a month is shorter
    runs = [monthly.next_after(datetime(2026, 1, 31, 12, tzinfo=UTC))]
    runs.append(monthly.next_after(runs[-1]))
    assert [r.astimezone().date().isoformat() for r in runs] == ["2026-02-28", "2026-03-31"]
    assert all((r.astimezone().hour, r.astimezone().minute) == (2, 0) for r in runs)
    for bad in ("weekly funday 14:00", "daily 25:00", "every 0s", "hourly", "monthly 32 01:00"):
        with pytest.raises(ValueError):
            parse_schedule(bad)
