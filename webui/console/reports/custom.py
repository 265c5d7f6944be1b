"""/reports/custom/: custom reports saved per console account. A report looks at users,
projects or departments (all, or some names) and holds panels in the order the person set:
each a graphic or a table of usage (pages, area, ink, paper) or fees (cost or price; billable,
non-billable or both; with or without tax). A graphic comparing one value across names is a
pie; one showing several values is bars. Every change is saved at once; reports.js reorders
panels by dragging (up and down buttons work without it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gateway.reports.by_name import DIMENSIONS, ByNameOptions, ByNameReport, NameRow, by_name
from gateway.reports.charts import Chart, bars, pie
from gateway.reports.document import Column, Kind, Table
from gateway.reports.figures import Slice

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from .common import account, actor, context, read_query, scope, tab_names
from .designs import Design, DesignError, delete_design, design, designs, save_design
from .shared import inline_charts, page_values

KIND = "custom"
PAGE = "/reports/custom/"
FAMILIES = {
    "usage": ("pages", "area", "ink_ml", "paper_area"),
    "fees": ("ink", "service", "paper", "total"),
}
KINDS: dict[str, Kind] = {
    "pages": "int",
    "area": "number",
    "ink_ml": "number",
    "paper_area": "number",
}
TOP = 8  # a pie's slices before "Others"
MAX_PANELS = 20
MAX_NAMES = 200


def measure_titles() -> dict[str, str]:
    return {
        "pages": gettext("Pages"),
        "area": gettext("Printed area"),
        "ink_ml": gettext("Ink (ml)"),
        "paper_area": gettext("Paper used"),
        "ink": gettext("Ink"),
        "service": gettext("Service"),
        "paper": gettext("Paper"),
        "total": gettext("Total"),
    }


@dataclass(frozen=True)
class Panel:
    display: str  # graphic | table
    family: str  # usage | fees
    measures: tuple[str, ...]
    fees: str = "cost"
    billable: str = "both"
    with_tax: bool = False

    @property
    def options(self) -> ByNameOptions:
        return ByNameOptions(self.billable, self.fees, self.with_tax)  # type: ignore[arg-type]

    @property
    def chart(self) -> str:
        """pie: one value compared across names; bars: several values side by side."""
        if self.display == "table":
            return "table"
        return "pie" if len(self.measures) == 1 else "bars"

    def as_json(self) -> dict[str, Any]:
        return {
            "display": self.display,
            "family": self.family,
            "measures": list(self.measures),
            "fees": self.fees,
            "billable": self.billable,
            "with_tax": self.with_tax,
        }


def panels_of(body: dict[str, Any]) -> list[Panel]:
    return [
        Panel(
            p["display"],
            p["family"],
            tuple(p["measures"]),
            p.get("fees", "cost"),
            p.get("billable", "both"),
            bool(p.get("with_tax", False)),
        )
        for p in body.get("panels", [])
    ]


def body_of(dimension: str, names: list[str], panels: list[Panel]) -> dict[str, Any]:
    return {"dimension": dimension, "names": names, "panels": [p.as_json() for p in panels]}


def read_panel(form: Form) -> Panel:
    display = form.choice("display", ("graphic", "table"))
    family = form.choice("family", tuple(FAMILIES))
    measures = tuple(m for m in FAMILIES.get(family, ()) if form.boolean(f"m_{m}"))
    if family in FAMILIES and not measures:
        form.error("measures", gettext("Choose at least one value to show."))
    fees = form.choice("fees", ("cost", "price"), required=False) or "cost"
    billable = form.choice("billable", ("both", "billable", "non-billable"), required=False)
    return Panel(display, family, measures, fees, billable or "both", form.boolean("with_tax"))


def read_names(text: str) -> list[str]:
    return sorted({n.strip() for n in text.replace("\n", ",").split(",") if n.strip()})


# --- figures ------------------------------------------------------------------------------


def _value(row: NameRow, measure: str) -> Any:
    return getattr(row, measure)


def panel_title(panel: Panel, titles: dict[str, str]) -> str:
    values = ", ".join(titles[m] for m in panel.measures)
    if panel.family == "fees":
        fees = gettext("price") if panel.fees == "price" else gettext("cost")
        return f"{values} ({fees})"
    return values


def panel_chart(panel: Panel, report: ByNameReport, title: str, key: str) -> Chart:
    if panel.chart == "pie":
        measure = panel.measures[0]
        ranked = sorted(report.rows, key=lambda r: (-float(_value(r, measure)), r.name))
        slices = [Slice(r.name, float(_value(r, measure))) for r in ranked[:TOP]]
        rest = sum(float(_value(r, measure)) for r in ranked[TOP:])
        if ranked[TOP:]:
            slices.append(Slice(gettext("Others"), rest))
        return Chart(key, title, pie(title, slices))
    slices = [Slice(measure_titles()[m], float(_value(report.overall, m))) for m in panel.measures]
    unit = report.units.currency if panel.family == "fees" else ""
    return Chart(key, title, bars(title, slices, unit))


def panel_table(panel: Panel, report: ByNameReport, title: str, key: str) -> Table:
    titles = measure_titles()
    columns = (
        Column(gettext("Name")),
        *(Column(titles[m], KINDS.get(m, "money")) for m in panel.measures),
    )

    def row(r: NameRow) -> tuple[Any, ...]:
        return (r.name, *(_value(r, m) for m in panel.measures))

    return Table(key, title, columns, [row(r) for r in report.rows], footer=row(report.overall))


@dataclass(frozen=True)
class ShownPanel:
    index: int
    panel: Panel
    title: str
    svg: Any  # Markup, for a graphic
    table: Table | None
    currency: str


async def shown_panels(request: web.Request, found: Design, query: Any) -> list[ShownPanel]:
    body = found.body
    dimension = DIMENSIONS[body["dimension"]]
    names = frozenset(body.get("names") or []) or None
    allowed = await scope(request)
    reports: dict[ByNameOptions, ByNameReport] = {}
    titles = measure_titles()
    result = []
    for index, panel in enumerate(panels_of(body)):
        if panel.options not in reports:
            reports[panel.options] = await by_name(
                context(request).store,
                dimension,
                query.period,
                query.target,
                panel.options,
                allowed,
                page_size=None,
                names=names,
            )
        report = reports[panel.options]
        title = panel_title(panel, titles)
        key = f"panel-{index}"
        if panel.chart == "table":
            table = panel_table(panel, report, title, key)
            result.append(ShownPanel(index, panel, title, None, table, report.units.currency))
        else:
            chart = inline_charts([panel_chart(panel, report, title, key)])[0]
            result.append(ShownPanel(index, panel, title, chart, None, report.units.currency))
    return result


# --- pages --------------------------------------------------------------------------------


def _url(design_id: int, tail: str = "") -> str:
    return f"{PAGE}{design_id}{tail}"


def _id(request: web.Request) -> int:
    text = request.match_info["id"]
    return int(text) if text.isdigit() else 0


async def _mine(request: web.Request) -> Design:
    """The signed-in account's design named in the path. Another account's is not found; a
    change posted to one that is gone goes back to the list, nothing changed."""
    found = await design(context(request).store, account(request).username, KIND, _id(request))
    if found is None:
        if request.method == "POST":
            raise web.HTTPSeeOther(PAGE)
        raise web.HTTPNotFound(text="no such custom report")
    return found


async def listing(
    request: web.Request, form: Form | None = None, status: int = 200
) -> web.Response:
    store = context(request).store
    query = read_query({})
    return render(
        request,
        "console/reports/custom_list.html",
        status,
        designs=await designs(store, account(request).username, KIND),
        new=form or Form({"dimension": "users"}),
        dimensions=list((await tab_names(request, query.target)).items()),
        kind="custom",
        tabs=await tab_names(request, query.target),
        querystring="",
    )


async def create(request: web.Request) -> web.Response:
    form = Form(await request.post())
    name = form.text("name", required=True, max_length=100)
    dimension = form.choice("dimension", tuple(DIMENSIONS))
    if not form.ok:
        return await listing(request, form, 400)
    try:
        new_id = await save_design(
            context(request).store, actor(request), KIND, name, body_of(dimension, [], [])
        )
    except DesignError:
        form.error("name", gettext("You already have a report of this name."))
        return await listing(request, form, 400)
    raise web.HTTPSeeOther(_url(new_id))


async def view(request: web.Request) -> web.Response:
    return await _render(request, await _mine(request))


async def _render(
    request: web.Request,
    found: Design,
    panel_form: Form | None = None,
    settings_form: Form | None = None,
    status: int = 200,
) -> web.Response:
    query = read_query(dict(request.query))
    allowed = await scope(request)
    values = await page_values(request, query, KIND, allowed)
    panels = await shown_panels(request, found, query) if query.ok else []
    body = found.body
    names_text = ", ".join(body.get("names") or [])
    return render(
        request,
        "console/reports/custom.html",
        status if query.ok else 400,
        design=found,
        panels=panels,
        dimension=body["dimension"],
        panel_form=panel_form or Form({"display": "graphic", "family": "fees"}),
        settings_form=settings_form or Form({"name": found.name, "names": names_text}),
        families=FAMILIES,
        titles=measure_titles(),
        action=_url(found.id),
        saved=request.query.get("saved", ""),
        **values,
    )


async def _save(request: web.Request, found: Design, body: dict[str, Any], name: str = "") -> None:
    await save_design(
        context(request).store, actor(request), KIND, name or found.name, body, found.id
    )


async def add_panel(request: web.Request) -> web.Response:
    found = await _mine(request)
    form = Form(await request.post())
    panel = read_panel(form)
    panels = panels_of(found.body)
    if len(panels) >= MAX_PANELS:
        form.error("display", gettext("At most %(n)s panels.", n=MAX_PANELS))
    if not form.ok:
        return await _render(request, found, panel_form=form, status=400)
    body = body_of(found.body["dimension"], found.body.get("names") or [], [*panels, panel])
    await _save(request, found, body)
    raise web.HTTPSeeOther(_url(found.id) + f"#panel-{len(panels)}")


def _reordered(panels: list[Panel], order: list[int]) -> list[Panel]:
    if sorted(order) != list(range(len(panels))):
        raise web.HTTPBadRequest(text="the order must name every panel once")
    return [panels[i] for i in order]


async def change_panel(request: web.Request) -> web.Response:
    """Delete a panel, or move it up or down (the no-script way to reorder)."""
    found = await _mine(request)
    panels = panels_of(found.body)
    index_text, action = request.match_info["index"], request.match_info["action"]
    index = int(index_text) if index_text.isdigit() else -1
    if not 0 <= index < len(panels):
        raise web.HTTPSeeOther(_url(found.id))  # gone already (a second click)
    order = list(range(len(panels)))
    if action == "delete":
        order.remove(index)
        panels = [panels[i] for i in order]
    elif action in ("up", "down"):
        other = index - 1 if action == "up" else index + 1
        if 0 <= other < len(panels):
            order[index], order[other] = order[other], order[index]
        panels = _reordered(panels, order)
    body = body_of(found.body["dimension"], found.body.get("names") or [], panels)
    await _save(request, found, body)
    raise web.HTTPSeeOther(_url(found.id))


async def reorder(request: web.Request) -> web.Response:
    """The order reports.js sends after a drag: the panels' present positions, new order."""
    found = await _mine(request)
    form = Form(await request.post())
    parts = [p for p in form.raw("order").split(",") if p]
    if not all(p.isdigit() for p in parts):
        raise web.HTTPBadRequest(text="the order is a list of panel numbers")
    panels = _reordered(panels_of(found.body), [int(p) for p in parts])
    body = body_of(found.body["dimension"], found.body.get("names") or [], panels)
    await _save(request, found, body)
    raise web.HTTPSeeOther(_url(found.id))


async def save_settings(request: web.Request) -> web.Response:
    """Save the report under a (new) name, with the names it looks at."""
    found = await _mine(request)
    form = Form(await request.post())
    name = form.text("name", required=True, max_length=100)
    names = read_names(form.text("names", max_length=20_000))
    if len(names) > MAX_NAMES:
        form.error("names", gettext("At most %(n)s names.", n=MAX_NAMES))
    if form.ok:
        body = body_of(found.body["dimension"], names, panels_of(found.body))
        try:
            await _save(request, found, body, name)
        except DesignError:
            form.error("name", gettext("You already have a report of this name."))
    if not form.ok:
        return await _render(request, found, settings_form=form, status=400)
    raise web.HTTPSeeOther(_url(found.id) + "?saved=1")


async def remove(request: web.Request) -> web.Response:
    await delete_design(context(request).store, actor(request), KIND, _id(request))
    raise web.HTTPSeeOther(PAGE + "?removed=1")


def register(app: web.Application) -> None:
    app.router.add_get("/custom/", listing)
    app.router.add_post("/custom/", create)
    app.router.add_get("/custom/{id}", view)
    app.router.add_post("/custom/{id}/panels", add_panel)
    app.router.add_post("/custom/{id}/panels/{index}/{action:delete|up|down}", change_panel)
    app.router.add_post("/custom/{id}/order", reorder)
    app.router.add_post("/custom/{id}/settings", save_settings)
    app.router.add_post("/custom/{id}/delete", remove)
