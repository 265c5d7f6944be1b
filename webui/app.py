"""The web UI, attached to printgate's aiohttp application through the `printgate.web` entry
point (gateway never imports webui). For now: queues, their state and their recent jobs.
The handlers see the gateway only through the WebContext that setup builds once."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from gateway.accounting.costing import quantum
from gateway.config import Config
from gateway.identity.release import Claim, ReleaseError
from gateway.server.operations import Gateway
from gateway.server.queue_attrs import Origin

from .context import WebContext, from_gateway

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
)


def _money(amount: Decimal | None, currency: str) -> str:
    """An amount to its currency's minor unit, with the currency: "1.50 EUR"."""
    if amount is None:
        return ""
    return f"{amount.quantize(quantum(currency))} {currency}"


TEMPLATES.filters["money"] = _money
CONTEXT_KEY = web.AppKey("webui-context", WebContext)
RECENT_JOBS = 50


def setup(app: web.Application, gateway: Gateway, config: Config) -> None:
    """The `printgate.web` entry point: service.py calls it with its aiohttp application."""
    app[CONTEXT_KEY] = from_gateway(gateway, config)
    app.router.add_get("/", home)
    app.router.add_get("/fleet", fleet_page)
    app.router.add_get("/queues/{name}", queue_page)
    app.router.add_get("/release", release_page)
    app.router.add_post("/release/{job_id:\\d+}", release_claim)
    app.router.add_static("/static", Path(__file__).parent / "static")


def _render(name: str, **context: Any) -> web.Response:
    return web.Response(
        text=TEMPLATES.get_template(name).render(**context), content_type="text/html"
    )


def _origin(request: web.Request) -> Origin:
    return Origin(host=request.host, secure=request.secure)


async def home(request: web.Request) -> web.Response:
    context = request.app[CONTEXT_KEY]
    origin = _origin(request)
    queues = []
    for view in context.queues.values():
        state, _reasons, message = view.state()
        queues.append(
            {
                "name": view.name,
                "info": view.queue.info,
                "uri": f"{origin.ipp_scheme}://{origin.host}/ipp/print/{view.name}",
                "state": state.name.lower(),
                "message": message,
                "jobs": context.queued_count(view.name),
                "printers": [(p.name, p.up, p.last_error) for p in view.printers],
            }
        )
    return _render("home.html", queues=queues)


async def fleet_page(request: web.Request) -> web.Response:
    """The printers read over SNMP: latest meters and supplies (new and stale highlighted as in
    the mailed report), and the alert episodes still open."""
    fleet = await request.app[CONTEXT_KEY].fleet()
    return _render("fleet.html", rows=fleet.rows, alerts=fleet.alerts)


async def queue_page(request: web.Request) -> web.Response:
    context = request.app[CONTEXT_KEY]
    view = context.queues.get(request.match_info["name"])
    if view is None:
        raise web.HTTPNotFound(text="no such queue")
    jobs = await context.recent_jobs(view.name, RECENT_JOBS)
    origin = _origin(request)
    return _render(
        "queue.html",
        queue=view,
        uri=f"{origin.ipp_scheme}://{origin.host}/ipp/print/{view.name}",
        state=view.state(),
        jobs=jobs,
        now=time.time(),
    )


async def release_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    """Held jobs (phones and other clients that cannot authenticate end up here), each with a
    form to claim it: credentials, project, department and, where the queue allows, the
    billable choice and a comment."""
    context = request.app[CONTEXT_KEY]
    held = await context.held_jobs()
    queues = {name: view.queue for name, view in context.queues.items()}
    response = _render(
        "release.html",
        jobs=held,
        queues=queues,
        error=error,
        released=request.query.get("released", ""),
    )
    response.set_status(status)
    return response


async def release_claim(request: web.Request) -> web.Response:
    context = request.app[CONTEXT_KEY]
    form = await request.post()

    def field(name: str) -> str:
        value = form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    claim = Claim(
        user=field("user"),
        password=field("password") or None,
        project=field("project"),
        department=field("department"),
        project_password=field("project_password") or None,
        department_password=field("department_password") or None,
        billable=field("billable") == "on" if "billable_offered" in form else None,
        comment=field("comment"),
    )
    job_id = int(request.match_info["job_id"])
    try:
        await context.claim(job_id, claim)
    except ReleaseError as exc:
        return await release_page(request, error=f"Job {job_id}: {exc}", status=400)
    raise web.HTTPSeeOther(f"/release?released={job_id}")
