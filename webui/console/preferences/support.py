"""Preferences, Support and about: printgate's version, its database revision and how long it
has been running; `printgate check` against a printer address, each result shown; and the
diagnostic bundle for support (versions, check results, the config without its secrets, the
recent log lines)."""

from __future__ import annotations

import platform
import time
from datetime import UTC, datetime, timedelta

from aiohttp import web

from gateway import __version__
from gateway.maintenance import bundle
from gateway.maintenance.address_check import AddressError, check_address
from gateway.maintenance.check import run_checks
from gateway.maintenance.restore import head_revision
from gateway.store import audit

from ...forms import Form
from ...pages import render
from .common import actor, context

STARTED_KEY = web.AppKey("support-started", float)


def _uptime(request: web.Request) -> timedelta:
    return timedelta(seconds=round(time.monotonic() - request.app[STARTED_KEY]))


async def _about(request: web.Request) -> dict[str, str]:
    ctx = context(request)
    try:
        revision = await bundle.store_revision(ctx.store)
    except Exception as exc:  # the page must still say what it can
        revision = f"unreadable: {exc}"
    uptime = _uptime(request)
    return {
        "version": __version__,
        "python": platform.python_version(),
        "revision": revision,
        "head": head_revision(),
        "uptime": str(uptime),
        "since": (datetime.now(UTC) - uptime).isoformat(timespec="seconds"),
        "config": ctx.config.source,
        "data_dir": str(ctx.config.server.data_dir),
        "database": ctx.store.engine.url.render_as_string(hide_password=True),
    }


async def show(request: web.Request, status: int = 200, form: Form | None = None) -> web.Response:
    return render(
        request,
        "console/preferences/support.html",
        status,
        about=await _about(request),
        form=form or Form(),
        results=None,
    )


async def check(request: web.Request) -> web.Response:
    form = Form(await request.post())
    address = form.text("address", required=True, max_length=1000)
    community = form.text("community", max_length=255)
    if not form.ok:
        return await show(request, 400, form)
    try:
        results = await check_address(context(request).config, address, community)
    except AddressError as exc:
        form.error("address", str(exc))
        return await show(request, 400, form)
    return render(
        request,
        "console/preferences/support.html",
        about=await _about(request),
        form=form,
        results=results,
    )


async def download_bundle(request: web.Request) -> web.Response:
    """The bundle, with the checks of `printgate check` run now."""
    ctx = context(request)
    about = await _about(request)
    results = await run_checks(ctx.config)
    data = await bundle.build(ctx.config, about, results, bundle.RecentLog.install())
    name = f"printgate-support-{datetime.now():%Y%m%d-%H%M%S}.tar.gz"
    await audit.append(ctx.store, actor(request), "support.bundle", name)
    return web.Response(
        body=data,
        content_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def register(app: web.Application) -> None:
    app[STARTED_KEY] = time.monotonic()
    bundle.RecentLog.install()  # from now on, the bundle has the log lines to show
    app.router.add_get("/support", show)
    app.router.add_post("/support/check", check)
    app.router.add_post("/support/bundle", download_bundle)
