"""/reports/: the bookkeepers' and administrators' reports."""

from __future__ import annotations

from aiohttp import web

from ...security.areas import EVERY_ROLE, area


def make() -> web.Application:
    return area("reports", EVERY_ROLE)
