"""/account/: "My account", for every console role: the account's details and language, its
password (also the forced change at the first sign-in), and its second factor."""

from __future__ import annotations

from aiohttp import web

from ...security.areas import EVERY_ROLE, area
from . import password, profile, second_factor


def make() -> web.Application:
    app = area("account", EVERY_ROLE)
    app.router.add_get("/", profile.overview)
    app.router.add_post("/language", profile.choose_language)
    app.router.add_get("/password", password.password_page)
    app.router.add_post("/password", password.change_password)
    app.router.add_get("/totp", second_factor.enrolment_page)
    app.router.add_post("/totp", second_factor.confirm_enrolment)
    app.router.add_post("/totp/disable", second_factor.disable)
    return app
