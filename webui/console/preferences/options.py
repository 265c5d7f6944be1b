"""Preferences, Options: the console's default language, the accounting options (units,
currency, cost basis, tax; the same settings and checks as `printgate settings set`), and the
company logo for reports."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from aiohttp import web
from babel.numbers import list_currencies

from gateway.accounting.costing import BASES, UNITS, RateError, Settings
from gateway.accounting.rates import Rates, parse_rate_file
from gateway.runtime.console_settings import LANGUAGE

from ... import i18n
from ...forms import Form
from ...i18n import gettext
from ...pages import render
from ...security.guard import accepts_upload
from ...security.uploads import read_form
from .common import actor, context, saved_message
from .logo import MAX_UPLOAD, LogoError, reencode

PAGE = "/preferences/options"
ACCOUNTING_FIELDS = ("cost_basis", "units", "currency", "tax_rate")


def _choices() -> dict[str, list[tuple[str, str]]]:
    basis = {
        "categories": gettext("Print categories"),
        "coverage": gettext("Ink coverage"),
    }
    units = {"metric": gettext("Metric (m², ml)"), "imperial": gettext("Imperial (ft², fl oz)")}
    return {
        "language": [("", gettext("Each browser's own")), *i18n.LANGUAGES.items()],
        "cost_basis": [(value, basis.get(value, value)) for value in BASES],
        "units": [(value, units.get(value, value)) for value in UNITS],
    }


async def _current(request: web.Request) -> Form:
    settings = context(request).settings
    stored = await Rates(context(request).store).settings()
    accounting = Settings.parse(stored)
    values = {
        "language": (await settings.stored((LANGUAGE,))).get(LANGUAGE, ""),
        "cost_basis": accounting.basis,
        "units": accounting.units,
        "currency": accounting.currency,
        "tax_rate": str(accounting.tax_rate),
    }
    if accounting.rates_include_tax:
        values["rates_include_tax"] = "on"
    return Form(values)


async def page(
    request: web.Request, status: int = 200, form: Form | None = None, logo_error: str = ""
) -> web.Response:
    logo = await context(request).settings.logo()
    return render(
        request,
        "console/preferences/options.html",
        status,
        form=form or await _current(request),
        choices=_choices(),
        has_logo=logo is not None,
        logo_bytes=len(logo or b""),
        logo_error=logo_error,
        max_upload_mb=MAX_UPLOAD >> 20,
        saved=saved_message(request),
    )


async def show(request: web.Request) -> web.Response:
    return await page(request)


async def save(request: web.Request) -> web.Response:
    form = Form(await request.post())
    language = form.choice("language", ["", *i18n.LANGUAGES])
    basis = form.choice("cost_basis", BASES)
    units = form.choice("units", UNITS)
    currency = form.text("currency", required=True, max_length=3).upper()
    if currency and currency not in list_currencies():
        form.error("currency", gettext("Not an ISO 4217 currency code (such as EUR, USD, CHF)."))
    tax = form.decimal("tax_rate", minimum=Decimal(0))
    if tax is not None and tax >= 1000:
        form.error("tax_rate", gettext("A percentage under 1000."))
    if not form.ok:
        return await page(request, 400, form)
    accounting = {
        "cost_basis": basis,
        "units": units,
        "currency": currency,
        "tax_rate": str(tax),
        "rates_include_tax": "true" if form.boolean("rates_include_tax") else "false",
    }
    rates = Rates(context(request).store)
    try:
        # As `printgate settings set`: the rate tables must still read under the new options
        # (a change of cost basis renames the lines of every table).
        parse_rate_file(
            {"settings": accounting, "models": await rates.models()}, await rates.settings()
        )
    except RateError as exc:
        field = next((f for f in ACCOUNTING_FIELDS if str(exc).startswith(f)), "cost_basis")
        form.error(field, str(exc))
        return await page(request, 400, form)
    await context(request).settings.save(
        actor(request), "settings.options", "options", {LANGUAGE: language, **accounting}
    )
    raise web.HTTPSeeOther(f"{PAGE}?saved=options")


@accepts_upload
async def upload_logo(request: web.Request) -> web.Response:
    if not request.content_type.startswith("multipart/form-data"):
        return await page(request, 400, logo_error=gettext("Choose an image file."))
    async with read_form(request, MAX_UPLOAD) as upload:
        sent = upload.files.get("logo")
        if sent is None or sent.size == 0:
            return await page(request, 400, logo_error=gettext("Choose an image file."))
        try:
            png = await asyncio.to_thread(reencode, sent.path, sent.filename)
        except LogoError as exc:
            return await page(request, 400, logo_error=str(exc))
    await context(request).settings.save_logo(actor(request), png)
    raise web.HTTPSeeOther(f"{PAGE}?saved=logo#logo")


async def remove_logo(request: web.Request) -> web.Response:
    await context(request).settings.save_logo(actor(request), None)
    raise web.HTTPSeeOther(f"{PAGE}?saved=logo#logo")


async def logo(request: web.Request) -> web.Response:
    png = await context(request).settings.logo()
    if png is None:
        raise web.HTTPNotFound(text="no logo")
    return web.Response(body=png, content_type="image/png")


def register(app: web.Application) -> None:
    app.router.add_get("/options", show)
    app.router.add_post("/options", save)
    app.router.add_post("/options/logo", upload_logo)
    app.router.add_post("/options/logo/remove", remove_logo)
    app.router.add_get("/options/logo.png", logo)
