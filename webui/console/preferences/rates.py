"""Preferences, Costs and prices: the cost and price tables of each printer model (SmartTracker's
Costs and Prices tabs) edited in forms, a preview of what a recent job would cost and be charged
under the edited tables before they are saved, and the JSON import and export of
`printgate rates`.

Saving goes through gateway.accounting.rate_changes (one transaction with its audit entry,
validated as the CLI validates); the preview through gateway.accounting.rate_preview, which
charges with the accountant's own function."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from aiohttp import web

from gateway.accounting import rate_changes, rate_preview
from gateway.accounting.costing import BASES, METRICS, RateError, Settings
from gateway.accounting.rates import ANY_MODEL, Rates

from ...context import CONTEXT_KEY
from ...forms import Form
from ...i18n import gettext
from ...pages import render
from ...security.guard import accepts_upload
from ...security.uploads import read_form
from . import rates_form
from .common import actor

BASE = "/preferences/rates"
MAX_RATE_FILE = 2 << 20
RECENT_JOBS = 30


async def _settings(rates: Rates) -> tuple[dict[str, str], Settings]:
    stored = await rates.settings()
    try:
        return stored, Settings.parse(stored)
    except RateError:
        return stored, Settings()


def _labels() -> dict[str, str]:
    return {
        "ml": gettext("ink (ml)"),
        "area_printed": gettext("area printed"),
        "area_used": gettext("paper used (area)"),
        "linear": gettext("length of paper"),
        "mono_lines": gettext("Mono lines"),
        "color_lines": gettext("Colour lines"),
        "low_density": gettext("Low density image"),
        "high_density": gettext("High density image"),
        "color": gettext("Colour impressions"),
        "mono": gettext("Mono impressions"),
        "cost": gettext("Cost"),
        "price": gettext("Price"),
    }


async def list_page(request: web.Request, status: int = 200, error: str = "") -> web.Response:
    rates = Rates(request.config_dict[CONTEXT_KEY].store)
    models = await rates.models()
    _stored, settings = await _settings(rates)
    return render(
        request,
        "console/preferences/rates.html",
        status,
        models=sorted(models.items(), key=lambda item: (item[0] != ANY_MODEL, item[0].lower())),
        any_model=ANY_MODEL,
        settings=settings,
        error=error,
        saved=request.query.get("saved", ""),
        removed=request.query.get("removed", ""),
        imported=request.query.get("imported", ""),
        form=Form(),
    )


async def _edit(
    request: web.Request,
    form: Form,
    original: str,
    status: int = 200,
    preview: rate_preview.Preview | None = None,
    note: str = "",
) -> web.Response:
    context = request.config_dict[CONTEXT_KEY]
    _stored, settings = await _settings(Rates(context.store))
    jobs = await rate_preview.recent_printed(context.store, RECENT_JOBS)
    return render(
        request,
        "console/preferences/rates_model.html",
        status,
        form=form,
        original=original,
        settings=settings,
        lines=BASES[settings.basis],
        metrics=METRICS,
        labels=_labels(),
        tables=rates_form.TABLES,
        slots=rates_form.SLOTS,
        media_rows={kind: rates_form.media_rows(form.values, kind) for kind in rates_form.TABLES},
        jobs=jobs,
        preview=preview,
        note=note,
        area_unit="ft²" if settings.units == "imperial" else "m²",
        length_unit="ft" if settings.units == "imperial" else "m",
    )


async def edit_page(request: web.Request) -> web.Response:
    """A model's form; without ?model=, a new model's (its cost table on, all lines empty)."""
    rates = Rates(request.config_dict[CONTEXT_KEY].store)
    name = request.query.get("model", "")
    _stored, settings = await _settings(rates)
    if not name:
        return await _edit(request, Form({"conversion": "icc", "cost_on": "on"}), "")
    body = (await rates.models()).get(name)
    if body is None:
        raise web.HTTPNotFound(text=gettext("No tables for this printer model."))
    return await _edit(request, Form(rates_form.to_values(name, body, settings.basis)), name)


async def edit(request: web.Request) -> web.StreamResponse:
    """Save the model's tables, or preview a job under them (nothing saved)."""
    context = request.config_dict[CONTEXT_KEY]
    form = Form(await request.post())
    original = form.raw("original")
    stored, settings = await _settings(Rates(context.store))
    name, body = rates_form.from_form(form, settings.basis)
    if form.ok:
        try:  # the gateway's own validation, as `printgate rates import` applies it
            rate_preview.in_force(stored, body)
        except RateError as exc:
            form.error("tables", str(exc))
    if not form.ok:
        return await _edit(request, form, original, 400)
    if form.raw("action") == "preview":
        return await _preview(request, form, original, stored, name, body)
    models = await Rates(context.store).models()
    if name != original and name in models:
        form.error("name", gettext("This model has tables already: edit them instead."))
        return await _edit(request, form, original, 400)
    try:
        await rate_changes.save_model(context.store, actor(request), name, body, original)
    except RateError as exc:
        form.error("tables", str(exc))
        return await _edit(request, form, original, 400)
    raise web.HTTPSeeOther(f"{BASE}?saved={_quote(name)}")


async def _preview(
    request: web.Request,
    form: Form,
    original: str,
    stored: dict[str, str],
    name: str,
    body: dict[str, Any],
) -> web.Response:
    store = request.config_dict[CONTEXT_KEY].store
    job_id = form.integer("preview_job", minimum=1)
    job = await rate_preview.printed_job(store, job_id) if job_id else None
    if job is None:
        form.error("preview_job", gettext("Choose one of the recent printed jobs."))
        return await _edit(request, form, original, 400)
    # The model the accountant would charge under: the job's own printer model when these
    # are its tables; under "*" or another model's tables, the job as if printed on this one.
    model = job.printer_model if name == ANY_MODEL and job.printer_model else name
    try:
        result = rate_preview.preview(job, stored, model, body)
    except (RateError, ValueError, KeyError) as exc:
        form.error("preview_job", gettext("This job cannot be recomputed: %(e)s", e=str(exc)))
        return await _edit(request, form, original, 400)
    note = ""
    if job.printer_model and job.printer_model != model:
        note = gettext(
            "Job %(id)s printed on %(p)s: these are its figures had it printed on %(m)s.",
            id=job.id,
            p=job.printer_model,
            m=model,
        )
    elif name == ANY_MODEL and job.printer_model in await Rates(store).models():
        note = gettext(
            "%(p)s has tables of its own: its jobs are not charged with those of *.",
            p=job.printer_model,
        )
    return await _edit(request, form, original, 200, preview=result, note=note)


def _quote(text: str) -> str:
    return quote(text, safe="")


async def remove(request: web.Request) -> web.StreamResponse:
    """Remove a model's tables; the edit page's form asks for a confirmation first."""
    form = Form(await request.post())
    name = form.raw("model")
    store = request.config_dict[CONTEXT_KEY].store
    if not form.boolean("confirm"):
        message = gettext("Tick the confirmation to remove the tables of %(m)s.", m=name)
        return await list_page(request, 400, message)
    if not await rate_changes.remove_model(store, actor(request), name):
        return await list_page(request, 400, gettext("No tables for this printer model."))
    raise web.HTTPSeeOther(f"{BASE}?removed={_quote(name)}")


async def export(request: web.Request) -> web.Response:
    """The JSON of `printgate rates export`, as a download."""
    body = await Rates(request.config_dict[CONTEXT_KEY].store).export()
    return web.Response(
        text=json.dumps(body, indent=1, sort_keys=True) + "\n",
        content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="printgate-rates.json"'},
    )


@accepts_upload
async def import_file(request: web.Request) -> web.StreamResponse:
    """A rate file as `printgate rates import` loads it: JSON, checked whole, refused whole."""
    store = request.config_dict[CONTEXT_KEY].store
    if not request.content_type.startswith("multipart/"):
        return await list_page(request, 400, gettext("Choose a JSON rate file."))
    async with read_form(request, MAX_RATE_FILE) as upload:
        uploaded = upload.files.get("file")
        if uploaded is None or not uploaded.size:
            return await list_page(request, 400, gettext("Choose a JSON rate file."))
        try:
            raw = json.loads(uploaded.path.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            message = gettext("This is not a JSON rate file: %(e)s", e=str(exc))
            return await list_page(request, 400, message)
        replace = upload.fields.get("replace", "") == "on"
    try:
        count = await rate_changes.import_file(store, actor(request), raw, replace)
    except RateError as exc:
        message = gettext("The rate file was refused, nothing changed: %(e)s", e=str(exc))
        return await list_page(request, 400, message)
    raise web.HTTPSeeOther(f"{BASE}?imported={count}")


def register(app: web.Application) -> None:
    app.router.add_get("/rates", list_page)
    app.router.add_get("/rates/model", edit_page)
    app.router.add_post("/rates/model", edit)
    app.router.add_post("/rates/remove", remove)
    app.router.add_get("/rates/export", export)
    app.router.add_post("/rates/import", import_file)
