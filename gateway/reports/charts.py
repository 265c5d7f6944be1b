"""The reports' charts, drawn once with reportlab.graphics: the same Drawing becomes inline SVG
in the console's pages (`svg`) and a vector drawing in the PDF (a Drawing is a flowable)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Circle, Drawing, String, Wedge
from reportlab.lib import colors

from ..accounting.costing import CHANNELS
from .figures import CHANNEL_TITLES, Slice

PALETTE = (
    colors.HexColor("#1f77b4"),
    colors.HexColor("#ff7f0e"),
    colors.HexColor("#2ca02c"),
    colors.HexColor("#d62728"),
    colors.HexColor("#9467bd"),
    colors.HexColor("#8c564b"),
    colors.HexColor("#7f7f7f"),
)
INKS = {
    "c": colors.HexColor("#00a0e0"),
    "m": colors.HexColor("#e0007a"),
    "y": colors.HexColor("#f2d600"),
    "k": colors.HexColor("#222222"),
}
EMPTY = colors.HexColor("#d9d9d9")  # a pie with nothing to show: a grey disc, as the guide says
FONT = "Helvetica"
WIDTH, HEIGHT = 260, 190


@dataclass(frozen=True)
class Chart:
    """A titled drawing; `title` is also the SVG's accessible name."""

    key: str  # stable id: pages, area, ink, coverage, fees, names
    title: str
    drawing: Drawing


def _title(drawing: Drawing, text: str) -> None:
    drawing.add(
        String(
            WIDTH / 2, HEIGHT - 14, text, fontName=FONT + "-Bold", fontSize=10, textAnchor="middle"
        )
    )


def pie(title: str, slices: Sequence[Slice], fills: Sequence[colors.Color] = PALETTE) -> Drawing:
    """A pie of the slices with a legend of label and share; a grey disc when all are zero."""
    drawing = Drawing(WIDTH, HEIGHT)
    _title(drawing, title)
    total = sum(max(s.value, 0.0) for s in slices)
    if not slices or total <= 0:
        drawing.add(Circle(80, 85, 60, fillColor=EMPTY, strokeColor=colors.white))
        drawing.add(String(80, 82, "No data", fontName=FONT, fontSize=9, textAnchor="middle"))
        return drawing
    chart = Pie()
    chart.x, chart.y, chart.width, chart.height = 20, 25, 120, 120
    chart.data = [max(s.value, 0.0) for s in slices]
    chart.labels = None
    chart.slices.strokeColor = colors.white
    chart.slices.strokeWidth = 0.5
    for index in range(len(slices)):
        chart.slices[index].fillColor = fills[index % len(fills)]
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 148, 140
    legend.fontName, legend.fontSize = FONT, 7
    legend.dy = legend.dx = 7
    legend.deltay = 12
    legend.columnMaximum = 8  # one column beside the pie
    legend.alignment = "right"
    legend.colorNamePairs = [
        (fills[i % len(fills)], f"{s.label[:18]} {100 * max(s.value, 0.0) / total:.1f} %")
        for i, s in enumerate(slices)
    ]
    drawing.add(legend)
    return drawing


def bars(title: str, slices: Sequence[Slice], unit: str = "") -> Drawing:
    """One bar per slice (cost against price, different values side by side)."""
    drawing = Drawing(WIDTH, HEIGHT)
    _title(drawing, title + (f" ({unit})" if unit else ""))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 45, 30, 190, 120
    chart.data = [[s.value for s in slices]]
    chart.categoryAxis.categoryNames = [s.label for s in slices]
    chart.categoryAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = PALETTE[0]
    for index in range(len(slices)):
        chart.bars[(0, index)].fillColor = PALETTE[index % len(PALETTE)]
    drawing.add(chart)
    return drawing


def coverage_wheel(coverage: Mapping[str, float]) -> Drawing:
    """The mean coverage: a ring per ink, each filled to its channel's coverage, and the total
    (all channels) in the middle."""
    drawing = Drawing(WIDTH, HEIGHT)
    _title(drawing, "Average coverage")
    cx, cy = WIDTH / 2, 82
    for ring, channel in enumerate(CHANNELS):
        radius = 72 - ring * 12
        share = min(max(coverage.get(channel, 0.0), 0.0), 1.0)
        drawing.add(
            Wedge(cx, cy, radius, 0, 360, radius1=radius - 10, fillColor=EMPTY, strokeColor=None)
        )
        if share > 0:
            drawing.add(
                Wedge(
                    cx,
                    cy,
                    radius,
                    90 - 360 * share,
                    90,
                    radius1=radius - 10,
                    fillColor=INKS[channel],
                    strokeColor=None,
                )
            )
    total = 100 * sum(coverage.get(c, 0.0) for c in CHANNELS)
    drawing.add(
        String(
            cx, cy - 4, f"{total:.1f} %", fontName=FONT + "-Bold", fontSize=11, textAnchor="middle"
        )
    )
    return drawing


def ink_pie(ink_ml: Mapping[str, float]) -> Drawing:
    slices = [Slice(CHANNEL_TITLES[c], ink_ml.get(c, 0.0)) for c in CHANNELS]
    return pie("Ink by colour (ml)", slices, [INKS[c] for c in CHANNELS])


_IDS = re.compile(r'\bid="([^"]+)"')
_PROLOG = re.compile(r"^\s*<\?xml[^>]*\?>\s*(<!DOCTYPE[^>]*>\s*)?", re.S)


def svg(chart: Chart) -> str:
    """The chart as an <svg> element to put inline in a page: no XML prolog, a role and the
    title as its accessible name. reportlab escapes the drawing's own strings."""
    text = _PROLOG.sub("", renderSVG.drawToString(chart.drawing))
    text = text.replace("<title>...</title>", f"<title>{escape(chart.title)}</title>", 1)
    text = text.replace("<desc>...</desc>", "", 1)
    # Several charts share a page: each one's ids (and what refers to them) get its key.
    for name in set(_IDS.findall(text)):
        text = text.replace(f'id="{name}"', f'id="{chart.key}-{name}"')
        text = text.replace(f"url(#{name})", f"url(#{chart.key}-{name})")
        text = text.replace(f'href="#{name}"', f'href="#{chart.key}-{name}"')
    return text.replace("<svg ", f'<svg role="img" aria-label={quoteattr(chart.title)} ', 1)
