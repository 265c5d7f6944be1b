"""Rendering a page: the jinja environment (autoescaped, with gettext), and what every page's
template sees besides its own values: the signed-in account, the CSRF token for its forms,
the console areas the account may open, and the language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from babel.dates import format_datetime

from gateway.accounting.costing import quantum

from . import i18n
from .security.guard import csrf_token, signed_in

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)


def _money(amount: Decimal | None, currency: str) -> str:
    """An amount to its currency's minor unit, with the currency: "1.50 EUR"."""
    if amount is None:
        return ""
    return f"{amount.quantize(quantum(currency))} {currency}"


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_datetime(value, "short", locale=i18n.current_language())


TEMPLATES.filters["money"] = _money
TEMPLATES.filters["when"] = _when


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str


def navigation(role: str | None) -> list[NavItem]:
    """The links of the header: what this role may open, and nothing it may not."""
    if role is None:
        return []
    items = [
        NavItem("/console/", i18n.gettext("Queues")),
        NavItem("/console/jobs", i18n.gettext("Jobs")),
        NavItem("/console/fleet", i18n.gettext("Printers")),
        NavItem("/reports/", i18n.gettext("Reports")),
    ]
    if role == "admin":
        items += [
            NavItem("/preferences/", i18n.gettext("Preferences")),
            NavItem("/audit/", i18n.gettext("Audit log")),
        ]
    items.append(NavItem("/account/", i18n.gettext("My account")))
    return items


def render(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    signed = signed_in(request)
    text = TEMPLATES.get_template(name).render(
        signed=signed,
        account=signed.account if signed is not None else None,
        csrf_token=csrf_token(request),
        nav=navigation(signed.account.role if signed is not None else None),
        path=request.path,
        lang=i18n.current_language(),
        languages=i18n.LANGUAGES,
        **values,
    )
    return web.Response(text=text, status=status, content_type="text/html")
