"""The web UI, attached to printgate's aiohttp application through the `printgate.web` entry
point (gateway never imports webui). For now: queues, their state and their recent jobs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from gateway.config import Config
from gateway.jobs import ACTIVE_STATES, TERMINAL_STATES
from gateway.operations import Gateway
from gateway.printer_attrs import Origin

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
)
GATEWAY_KEY = web.AppKey("webui-gateway", Gateway)
RECENT_JOBS = 50


def setup(app: web.Application, gateway: Gateway, config: Config) -> None:
    app[GATEWAY_KEY] = gateway
    app.router.add_get("/", home)
    app.router.add_get("/queues/{name}", queue_page)
    app.router.add_static("/static", Path(__file__).parent / "static")


def _render(name: str, **context: Any) -> web.Response:
    return web.Response(
        text=TEMPLATES.get_template(name).render(**context), content_type="text/html"
    )


def _origin(request: web.Request) -> Origin:
    return Origin(host=request.host, secure=request.secure)


async def home(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY_KEY]
    origin = _origin(request)
    queues = []
    for view in gateway.queues.values():
        state, _reasons, message = view.state()
        queues.append(
            {
                "name": view.name,
                "info": view.queue.info,
                "uri": f"{origin.ipp_scheme}://{origin.host}/ipp/print/{view.name}",
                "state": state.name.lower(),
                "message": message,
                "jobs": gateway.jobs.queued_count(view.name),
                "printers": [(p.name, p.up, p.last_error) for p in view.printers],
            }
        )
    return _render("home.html", queues=queues)


async def queue_page(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY_KEY]
    view = gateway.queues.get(request.match_info["name"])
    if view is None:
        raise web.HTTPNotFound(text="no such queue")
    jobs = await gateway.jobs.list(
        view.name, ACTIVE_STATES + TERMINAL_STATES, limit=RECENT_JOBS, newest_first=True
    )
    origin = _origin(request)
    return _render(
        "queue.html",
        queue=view,
        uri=f"{origin.ipp_scheme}://{origin.host}/ipp/print/{view.name}",
        state=view.state(),
        jobs=jobs,
        now=time.time(),
    )
