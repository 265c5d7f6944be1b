"""/console/jobs: the live view of jobs, a job's page and its actions."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Into the overview area (both roles)."""
