"""/console/jobs: the live view of jobs, a job's page and its actions."""

from __future__ import annotations

from aiohttp import web

from . import actions, detail, stream, view


def add_routes(app: web.Application) -> None:
    """Into the overview area (both roles; the administrators' changes check the role)."""
    app.router.add_get("/jobs", view.jobs_page)
    app.router.add_get("/jobs/events", stream.events)
    app.router.add_get(r"/jobs/{job_id:\d+}", detail.job_page)
    app.router.add_post(r"/jobs/{job_id:\d+}/release", actions.release)
    app.router.add_post(r"/jobs/{job_id:\d+}/cancel", actions.cancel)
    app.router.add_post(r"/jobs/{job_id:\d+}/amend", actions.amend_job)
    app[stream.OPEN_KEY] = {}
    app.on_shutdown.append(stream.close_streams)
