"""What every report page shares: the querystring read as a period, a target and the report's
options (one Form, so a bad date shows beside its field), the signed-in account's scope, and
the names of the Projects and Departments tabs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.maintenance.report_scopes import scope_for
from gateway.reports.by_name import ByNameOptions
from gateway.reports.period import PRESETS, Period, PeriodError, between, preset
from gateway.reports.scope import ALL_PRINTERS, Scope, Target
from gateway.store.models import GridTabRow

from ...forms import Form
from ...i18n import gettext
from ..common import account as account
from ..common import actor as actor
from ..common import context as context

BY_NAME = ("users", "projects", "departments")
CUSTOM_PERIOD = "dates"
QUERY_FIELDS = ("period", "from", "to", "target", "with_tax", "billable", "fees")


async def scope(request: web.Request) -> Scope:
    """What the signed-in account's reports may show: everything for administrators, the
    limits saved in Preferences > Permissions for a bookkeeper."""
    who = account(request)
    return await scope_for(context(request).store, who.username, who.role)


def period_choices() -> list[tuple[str, str]]:
    names = {
        "today": gettext("Today"),
        "yesterday": gettext("Yesterday"),
        "this-week": gettext("This week"),
        "last-week": gettext("Last week"),
        "this-month": gettext("This month"),
        "last-month": gettext("Last month"),
        "this-year": gettext("This year"),
    }
    return [(name, names[name]) for name in PRESETS] + [(CUSTOM_PERIOD, gettext("Any dates"))]


def billable_choices() -> list[tuple[str, str]]:
    return [
        ("both", gettext("Billable and non-billable")),
        ("billable", gettext("Billable only")),
        ("non-billable", gettext("Non-billable only")),
    ]


def fees_choices() -> list[tuple[str, str]]:
    return [("cost", gettext("Cost")), ("price", gettext("Price"))]


@dataclass(frozen=True)
class ReportQuery:
    """The querystring of a report page, read: what to show and how."""

    form: Form
    period: Period
    target: Target
    options: ByNameOptions

    @property
    def ok(self) -> bool:
        return self.form.ok

    def querystring(self, **changes: str) -> str:
        values = {k: v for k, v in self.form.values.items() if k in QUERY_FIELDS and v}
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v})


def target_choices(request: web.Request, allowed: Scope) -> list[tuple[str, str]]:
    """All printers, each printer group and each printer the account's scope lets it see."""
    queues = context(request).queues
    choices = [("", gettext("All printers"))]
    printers: set[str] = set()
    for name, view in sorted(queues.items()):
        if allowed.queues is not None and name not in allowed.queues:
            continue
        choices.append((f"group:{name}", gettext("Group %(name)s", name=name)))
        printers.update(printer.config.name for printer in view.printers)
    choices += [(f"printer:{p}", gettext("Printer %(name)s", name=p)) for p in sorted(printers)]
    return choices


def read_query(data: dict[str, str]) -> ReportQuery:
    """The period (a preset, or any dates), the target and the options; errors beside their
    fields, with this month shown meanwhile."""
    form = Form({"period": "this-month", **data})
    chosen = form.choice("period", [*PRESETS, CUSTOM_PERIOD])
    period = preset("this-month")
    if chosen == CUSTOM_PERIOD:
        first, last = form.raw("from"), form.raw("to")
        if not first:
            form.error("from", gettext("A date such as 2025-03-31 is needed."))
        if not last:
            form.error("to", gettext("A date such as 2025-03-31 is needed."))
        if first and last:
            try:
                period = between(first, last)
            except PeriodError:
                form.error("to", gettext("Dates such as 2025-03-31, the end after the start."))
    elif chosen in PRESETS:
        period = preset(chosen)
    target = ALL_PRINTERS
    kind, _, name = form.text("target", max_length=120).partition(":")
    if kind in ("group", "printer") and name:
        target = Target(kind, name)  # type: ignore[arg-type]
    elif kind:
        form.error("target", gettext("Choose one of the options."))
    billable = form.choice("billable", [c for c, _ in billable_choices()], required=False)
    fees = form.choice("fees", [c for c, _ in fees_choices()], required=False)
    options = ByNameOptions(
        billable=billable or "both",  # type: ignore[arg-type]
        fees=fees or "cost",  # type: ignore[arg-type]
        with_tax=form.boolean("with_tax"),
    )
    return ReportQuery(form, period, target, options)


def page_number(request: web.Request) -> int:
    text = request.query.get("page", "1")
    return max(1, int(text)) if text.isdigit() else 1


async def tab_names(request: web.Request, target: Target) -> dict[str, str]:
    """The Users, Projects and Departments tabs' names: a printer group's own names for its
    Projects and Departments tabs (saved in its grids) when one group is shown."""
    names = {
        "users": gettext("Users"),
        "projects": gettext("Projects"),
        "departments": gettext("Departments"),
    }
    if target.kind != "group":
        return names

    async def fn(session: AsyncSession) -> dict[str, str]:
        rows = await session.scalars(select(GridTabRow).where(GridTabRow.queue == target.name))
        return {f"{row.kind}s": row.label for row in rows if row.label}

    saved = await context(request).store.read(fn)
    return names | {k: v for k, v in saved.items() if k in ("projects", "departments")}
