"""Every route of the web UI, for anonymous, bookkeeper and administrator, answers as its
declaration says: a route outside the areas must be listed in webui.app.PUBLIC_ROUTES, and a
route inside an area answers by the area's roles (sign-in redirect for anonymous, 403 for a
role without access, the page itself for a role with it). A new route nobody declared fails
here, and so does one whose area forgot its role check."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from aiohttp import web
from PIL import Image

from gateway.identity.accounts import Accounts
from gateway.runtime.console_settings import ConsoleSettings
from gateway.snmp import records
from gateway.snmp.records import DeviceEntry
from gateway.store.audit import Actor
from tests.harness import in_process
from tests.ipp_call import print_job
from tests.web_client import Reply, WebClient
from webui import app as webui_app
from webui.security.areas import AREA_KEY, Area

BOOKKEEPER_PASSWORD = "a long bookkeeper password"
ADMIN_PASSWORD = "a long admin password"
# Values for the path parameters of the routes walked here: things that exist in the
# gateway the test starts. A route with a parameter not named here fails: add its sample.
SAMPLES = {
    "name": "demo",
    "queue": "demo",
    "printer": "virtual",
    "job_id": "1",
    "token": "not-a-real-token",
    "username": "book",
    "model": "*",
    "device_id": "1",
    "kind": "users",
    "format": "csv",
    "id": "1",
    "index": "0",
    "action": "up",
}
# Where one parameter name means different things in different areas: samples by prefix.
PREFIX_SAMPLES = {
    "/preferences/permissions/": {"name": "book"},
    "/preferences/printers/": {"name": "virtual"},
}
# Routes in an area of both roles whose handler lets only administrators through.
ADMIN_ONLY = {
    "/console/jobs/{job_id}/amend",
    "/console/fleet/devices",
    "/console/fleet/scan",
    "/console/fleet/report",
    "/console/fleet/settings",
}
# Event streams: only their status and type are checked (their body never ends).
STREAMS = {"/console/jobs/events"}
# Routes whose GET is a download or otherwise not an HTML page still answer 200 to an
# allowed role; routes whose GET answers something else on purpose are listed here.
GET_ANSWERS: dict[str, int] = {
    "/": 303,  # to the console when signed in, to the sign-in page otherwise
    "/signin": 200,
    "/reports/custom/{id}": 404,  # the sample's custom report does not exist
    "/reports/raw/{id}.{format}": 404,
}


def _routes(app: web.Application, area: Area | None = None) -> list[tuple]:
    """(method, path pattern, area or None) of every route, sub-applications included."""
    found: list[tuple] = []
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            sub = resource._app
            assert AREA_KEY in sub, f"sub-application at {resource.canonical} has no area role"
            found += _routes(sub, sub[AREA_KEY])  # its routes carry the prefix already
            continue
        for route in resource:
            if route.method == "HEAD":
                continue
            found.append((route.method, resource.canonical, area))
    return found


def _fill(pattern: str) -> str:
    prefixes = [prefix for prefix in PREFIX_SAMPLES if pattern.startswith(prefix)]
    chosen = {**SAMPLES, **(PREFIX_SAMPLES[max(prefixes, key=len)] if prefixes else {})}

    def sample(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        assert name in chosen, f"{pattern}: add a sample value for {{{name}}} to SAMPLES"
        return chosen[name]

    return re.sub(r"\{([^}]+)\}", sample, pattern)


async def _stream_status(client: WebClient, path: str) -> Reply:
    """An event stream's answer without its body, which never ends."""
    url = client.base_url + path
    async with client.session.get(url, allow_redirects=False) as response:
        if response.status == 200:
            assert response.headers["Content-Type"].startswith("text/event-stream"), path
        return Reply(response.status, "", response.headers)


async def test_every_route_answers_each_role_as_declared(
    tmp_path: Path, database_url: str, tmp_pdf: Path
) -> None:
    out = tmp_path / "out"
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{out}"}],
        queues=[{"name": "demo", "printers": ["virtual"]}],
    ) as gw:
        accounts = Accounts(gw.gateway.jobs.store)
        await accounts.set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        await accounts.add(
            Actor.cli(), "book", BOOKKEEPER_PASSWORD, "bookkeeper", "book@example.org"
        )
        # A company logo, so that its route has something to serve.
        logo = io.BytesIO()
        Image.new("RGB", (40, 20), (200, 30, 30)).save(logo, "PNG")
        await ConsoleSettings(gw.gateway.jobs.store, gw.config).save_logo(
            Actor.cli(), logo.getvalue()
        )
        # A job and an SNMP device, so that the pages of one have something to show.
        await asyncio.to_thread(print_job, gw.queue_uri("demo"), tmp_pdf.read_bytes())
        await records.ensure_devices(
            gw.gateway.jobs.store, [DeviceEntry("192.0.2.9:161", "manual")]
        )
        walked = web.Application()
        webui_app.setup(walked, gw.gateway, gw.config)
        routes = _routes(walked)
        assert len(routes) > 5
        base = f"http://127.0.0.1:{gw.port}"
        async with WebClient(base) as anonymous, WebClient(base) as book, WebClient(base) as admin:
            assert (await book.sign_in("book", BOOKKEEPER_PASSWORD)).status == 303
            assert (await admin.sign_in("admin", ADMIN_PASSWORD)).status == 303
            problems: list[str] = []
            # GETs first; POSTs after (an empty form must change nothing), sign-out last.
            ordered = sorted(routes, key=lambda r: (r[0] != "GET", r[1] == "/signout"))
            for method, pattern, area in ordered:
                if pattern.startswith("/static"):
                    continue
                path = _fill(pattern)
                if area is None:
                    if pattern not in webui_app.PUBLIC_ROUTES:
                        problems.append(f"{method} {pattern}: in no area and not in PUBLIC_ROUTES")
                    continue
                for who, client in (("anonymous", anonymous), ("book", book), ("admin", admin)):
                    role = {"anonymous": None, "book": "bookkeeper", "admin": "admin"}[who]
                    if method == "GET" and pattern in STREAMS:
                        reply = await _stream_status(client, path)
                    elif method == "GET":
                        reply = await client.get(path)
                    else:
                        token = await client.token_for()
                        reply = await client.request(method, path, data={"csrf_token": token})
                    if role is None:
                        ok = reply.status == 303 and reply.location.startswith("/signin?next=")
                        want = "303 to /signin"
                    elif role not in area.roles or (role != "admin" and pattern in ADMIN_ONLY):
                        ok, want = reply.status == 403, "403"
                    elif method == "GET":
                        expected = GET_ANSWERS.get(pattern, 200)
                        ok, want = reply.status == expected, str(expected)
                    else:
                        ok = reply.status not in (401, 403, 404, 405, 500) and not (
                            reply.location.startswith("/signin")
                        )
                        want = "an answer of the page (not 401/403/404/405/500)"
                    if not ok:
                        problems.append(
                            f"{method} {path} as {who}: {reply.status} {reply.location}"
                            f" (wanted {want})"
                        )
            assert not problems, "\n".join(problems)


async def test_public_routes_are_those_declared(tmp_path: Path, database_url: str) -> None:
    """PUBLIC_ROUTES names only routes that exist: a stale entry would hide nothing, but a
    declared list that drifts from the router stops being read."""
    async with in_process(tmp_path, database_url) as gw:
        walked = web.Application()
        webui_app.setup(walked, gw.gateway, gw.config)
        public = {pattern for _m, pattern, area in _routes(walked) if area is None}
        assert set(webui_app.PUBLIC_ROUTES) <= public | {"/static"}
