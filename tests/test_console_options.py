"""Preferences, Options: the accounting settings and language, and the company logo judged by
its content (re-encoded; SVG, non-images, a 50 MB file and a name that lies refused, nothing
stored)."""

from __future__ import annotations

import io

import aiohttp
import pytest
from PIL import Image

from gateway.accounting.costing import Settings
from gateway.accounting.rates import Rates
from gateway.identity.accounts import Accounts
from gateway.runtime.console_settings import ConsoleSettings
from tests.console_fixtures import (
    OPTIONS,
    audited,
    cli_actor,
    error_beside,
    png_bytes,
    post,
    store_of,
    stored,
    token,
    value_of,
)
from tests.harness import InProcess
from tests.web_client import Reply, WebClient

# The fixtures gw, admin, auth_sink and slapd.
pytest_plugins = ("tests.console_fixtures",)


async def test_options_are_saved_as_printgate_settings_keeps_them(
    gw: InProcess, admin: WebClient
) -> None:
    form = {
        "language": "fr",
        "units": "imperial",
        "currency": "chf",
        "cost_basis": "coverage",
        "tax_rate": "7,7",
        "rates_include_tax": "on",
    }
    reply = await post(admin, OPTIONS, OPTIONS, form)
    assert reply.status == 303, reply.text[:500]
    settings = Settings.parse(await Rates(store_of(gw)).settings())
    assert (settings.units, settings.currency, settings.basis) == ("imperial", "CHF", "coverage")
    assert str(settings.tax_rate) == "7.7" and settings.rates_include_tax
    (entry,) = await audited(gw, "settings.options")
    assert entry.after["currency"] == "CHF" and entry.after["console.language"] == "fr"
    assert entry.before["currency"] is None

    # The console's language is now French for accounts without their own, and for visitors.
    page = await admin.get(OPTIONS)
    assert '<html lang="fr">' in page.text
    assert value_of(page.text, "currency") == "CHF"
    async with WebClient(admin.base_url) as visitor:
        signin = await visitor.get("/signin", headers={"Accept-Language": "en"})
        assert '<html lang="fr">' in signin.text
    await Accounts(store_of(gw)).set_language(cli_actor(), "admin", "en")
    assert '<html lang="en">' in (await admin.get(OPTIONS)).text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("currency", "EUR1", "At most 3 characters."),
        ("currency", "ABC", "Not an ISO 4217 currency code (such as EUR, USD, CHF)."),
        ("tax_rate", "lots", "A number is needed, such as 1.25."),
        ("tax_rate", "1000", "A percentage under 1000."),
        ("units", "cubits", "Choose one of the options."),
    ],
)
async def test_option_errors_show_beside_the_field_and_nothing_is_saved(
    gw: InProcess, admin: WebClient, field: str, value: str, message: str
) -> None:
    form = {"language": "", "units": "metric", "currency": "EUR", "cost_basis": "categories"}
    form["tax_rate"] = "0"
    form[field] = value
    reply = await post(admin, OPTIONS, OPTIONS, form)
    assert reply.status == 400
    assert error_beside(reply.text, field) == message
    if field != "units":
        assert value_of(reply.text, field) == value
    assert await stored(gw) == {}


async def test_a_cost_basis_the_rate_tables_cannot_follow_is_refused(
    gw: InProcess, admin: WebClient
) -> None:
    # A table of the categories basis: its lines mean nothing under the coverage basis.
    table = {"lines": {"mono_lines": {"area_printed": 1}}}
    await Rates(store_of(gw)).load({"models": {"*": {"cost": table}}}, actor=cli_actor())
    before = await stored(gw)
    form = {"language": "", "units": "metric", "currency": "EUR", "cost_basis": "coverage"}
    form["tax_rate"] = "0"
    reply = await post(admin, OPTIONS, OPTIONS, form)
    assert reply.status == 400
    assert "is not a line of the coverage basis" in error_beside(reply.text, "cost_basis")
    assert await stored(gw) == before
    assert await audited(gw, "settings.") == []


# --- the logo -----------------------------------------------------------------------------


async def upload(client: WebClient, content: bytes, filename: str, mime: str) -> Reply:
    form = aiohttp.FormData()
    form.add_field("csrf_token", await token(client, OPTIONS))
    form.add_field("logo", content, filename=filename, content_type=mime)
    return await client.request("POST", f"{OPTIONS}/logo", data=form)


async def test_a_png_logo_is_re_encoded_and_shown(gw: InProcess, admin: WebClient) -> None:
    sent = png_bytes(text="trailing secrets") + b"extra bytes after IEND"
    reply = await upload(admin, sent, "logo.png", "image/png")
    assert reply.status == 303, reply.text[:500]
    kept = await ConsoleSettings(store_of(gw), gw.config).logo()
    assert kept is not None and kept != sent
    assert b"trailing secrets" not in kept and b"extra bytes" not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert (image.format, image.size) == ("PNG", (40, 20))
    page = await admin.get(OPTIONS)
    assert 'src="/preferences/options/logo.png"' in page.text
    served = await admin.get(f"{OPTIONS}/logo.png")
    assert served.status == 200 and served.headers["Content-Type"] == "image/png"
    (entry,) = await audited(gw, "settings.logo")
    assert entry.before == {"console.logo": None}
    assert entry.after["console.logo"].startswith(f"PNG, {len(kept)} bytes")

    reply = await admin.post(f"{OPTIONS}/logo/remove", token=await token(admin, OPTIONS))
    assert reply.status == 303
    assert await ConsoleSettings(store_of(gw), gw.config).logo() is None
    assert (await admin.get(f"{OPTIONS}/logo.png")).status == 404


async def test_a_png_named_jpg_is_refused_and_a_big_one_scaled(
    gw: InProcess, admin: WebClient
) -> None:
    reply = await upload(admin, png_bytes((3000, 1500)), "photo.jpg", "image/jpeg")
    assert reply.status == 400 and "holds a PNG image" in reply.text
    assert await ConsoleSettings(store_of(gw), gw.config).logo() is None
    # Named as what it is, the same picture is kept, scaled for reports.
    reply = await upload(admin, png_bytes((3000, 1500)), "photo.png", "image/jpeg")
    assert reply.status == 303
    kept = await ConsoleSettings(store_of(gw), gw.config).logo()
    assert kept is not None
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "PNG" and image.size == (1024, 512)  # scaled for reports


@pytest.mark.parametrize(
    ("content", "filename", "mime"),
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b"<script>alert(1)</script><rect width='10' height='10'/></svg>",
            "logo.svg",
            "image/svg+xml",
        ),
        (b"just some text, not an image\n" * 10, "logo.png", "image/png"),
        (png_bytes()[:60], "cut.png", "image/png"),  # truncated: not decodable whole
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "logo.eps", "image/png"),
    ],
    ids=["svg-with-script", "text-named-png", "truncated-png", "eps"],
)
async def test_what_is_not_a_raster_image_is_refused(
    gw: InProcess, admin: WebClient, content: bytes, filename: str, mime: str
) -> None:
    reply = await upload(admin, content, filename, mime)
    assert reply.status == 400
    assert "not an image printgate can read" in error_beside(reply.text, "logo")
    assert await stored(gw) == {}
    assert await audited(gw, "settings.logo") == []


async def test_a_50_mb_logo_is_refused(gw: InProcess, admin: WebClient) -> None:
    big = png_bytes() + bytes(50 << 20)
    try:
        reply = await upload(admin, big, "huge.png", "image/png")
    except aiohttp.ClientError:
        pass  # the server may close before all 50 MB are sent: nothing was stored either way
    else:
        assert reply.status == 413
    assert await stored(gw) == {}


async def test_an_upload_without_the_csrf_token_is_refused(gw: InProcess, admin: WebClient) -> None:
    form = aiohttp.FormData()
    form.add_field("logo", png_bytes(), filename="logo.png", content_type="image/png")
    reply = await admin.request("POST", f"{OPTIONS}/logo", data=form)
    assert reply.status == 403
    assert await stored(gw) == {}


# --- permissions --------------------------------------------------------------------------
