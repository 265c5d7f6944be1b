"""A device's page: what it is, its meter history (the newest readings) as a chart and a
table, its supplies' levels at the last read, and its alerts, open and closed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gateway.store.models import MeterReadingRow

from ...context import CONTEXT_KEY
from ...i18n import gettext
from ...pages import render
from . import history
from .chart import meter_chart

HISTORY_ROWS = 50  # the newest readings listed under the chart


@dataclass(frozen=True)
class Supply:
    description: str
    percent: int | None
    state: str


def supplies(reading: MeterReadingRow | None) -> list[Supply]:
    if reading is None:
        return []
    found: list[dict[str, Any]] = json.loads(reading.supplies or "[]")
    return [
        Supply(str(s.get("description", "")), s.get("percent"), str(s.get("state", "")))
        for s in found
    ]


async def device_page(request: web.Request) -> web.Response:
    store = request.config_dict[CONTEXT_KEY].store
    device_id = int(request.match_info["device_id"])
    found = await history.device(store, device_id)
    if found is None:
        raise web.HTTPNotFound(text=gettext("No such device."))
    readings = await history.newest_readings(store, device_id)
    counted = [(r.read_at, r.total) for r in readings if r.total is not None]
    episodes = await history.alerts(store, device_id)
    return render(
        request,
        "console/fleet/device.html",
        device=found,
        chart=meter_chart(counted),
        readings=readings[::-1][:HISTORY_ROWS],
        supplies=supplies(readings[-1] if readings else None),
        open_alerts=[a for a in episodes if a.closed_at is None],
        closed_alerts=[a for a in episodes if a.closed_at is not None],
    )
