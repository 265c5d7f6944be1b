"""A device's meter history as an SVG line chart, drawn on the server: the points of the
polyline and the axes' labels, computed here, rendered by the template (no script, and it
prints as it shows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 10, 30  # room for the axes' labels


@dataclass(frozen=True)
class Chart:
    points: str  # "x,y x,y ..." for <polyline points>
    dots: list[tuple[float, float, str]]  # x, y, title (each reading, for its tooltip)
    y_labels: list[tuple[float, str]]  # y, counter value
    x_labels: list[tuple[float, str]]  # x, date
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = HEIGHT - BOTTOM


def meter_chart(readings: Sequence[tuple[datetime, int]]) -> Chart | None:
    """The total counter over time; None with fewer than one reading to draw."""
    if not readings:
        return None
    times = [t.timestamp() for t, _ in readings]
    values = [v for _, v in readings]
    t0, t1 = min(times), max(times)
    v0, v1 = min(values), max(values)
    span_t = (t1 - t0) or 1.0
    span_v = (v1 - v0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return round(LEFT + (t - t0) / span_t * plot_w, 1)

    def y(v: int) -> float:
        return round(TOP + plot_h - (v - v0) / span_v * plot_h, 1)

    dots = [(x(t.timestamp()), y(v), f"{t.strftime('%Y-%m-%d %H:%M')}: {v}") for t, v in readings]
    return Chart(
        points=" ".join(f"{px},{py}" for px, py, _ in dots),
        dots=dots,
        y_labels=[(y(v0), str(v0)), (y(v1), str(v1))] if v1 != v0 else [(y(v0), str(v0))],
        x_labels=[
            (x(t0), readings[0][0].strftime("%Y-%m-%d %H:%M")),
            (x(t1), readings[-1][0].strftime("%Y-%m-%d %H:%M")),
        ],
    )
