"""The administrator's Preferences over real HTTP against a whole printgate: Connectivity (mail
with a test mail received by aiosmtpd, the directory tested against a real slapd and used by
the gate at once, DNS-SD), Options (accounting settings, language, the logo upload judged by
content), Permissions (console accounts). Every save is checked in the store and in the audit
log, every refusal leaves the input on the page and nothing saved; bookkeepers are turned
away from every page. Then the logo upload in a real browser."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounting.costing import Settings
from gateway.accounting.rates import Rates
from gateway.identity.accounts import Accounts
from gateway.runtime.console_settings import ConsoleSettings
from gateway.store.audit import Actor, AuditEntry, AuditFilter, entries
from gateway.store.models import SettingRow
from gateway.store.store import Store
from tests.harness import InProcess, in_process
from tests.slapd import BASE_DN, DISABLED_FILTER, READER_DN, READER_PASSWORD, USERS, Slapd
from tests.snmp_peers import SmtpSink
from tests.web_client import TOKEN_RE, Reply, WebClient
from webui import audit, preferences

ADMIN_PASSWORD = "a long admin password"
KEEPER_PASSWORD = "a long keeper password"


@pytest.fixture
async def gw(tmp_path: Path, database_url: str) -> AsyncIterator[InProcess]:
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
        queues=[
            {"name": "demo", "printers": ["virtual"]},
            {"name": "staff", "printers": ["virtual"], "auth": "directory"},
        ],
    ) as running:
        accounts = Accounts(running.gateway.jobs.store)
        await accounts.set_password(_cli(), "admin", ADMIN_PASSWORD)
        await accounts.add(_cli(), "keeper", KEEPER_PASSWORD, "bookkeeper", "keeper@example.org")
        yield running


@pytest.fixture
async def admin(gw: InProcess) -> AsyncIterator[WebClient]:
    async with WebClient(f"http://127.0.0.1:{gw.port}") as client:
        assert (await client.sign_in("admin", ADMIN_PASSWORD)).status == 303
        yield client


@pytest.fixture
def auth_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(users={"printgate": "s3cret"}).start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with Slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


def _cli() -> Actor:
    return Actor.cli()


def store_of(gw: InProcess) -> Store:
    return gw.gateway.jobs.store


async def stored(gw: InProcess) -> dict[str, str]:
    async def fn(session: AsyncSession) -> dict[str, str]:
        return {row.key: row.value for row in await session.scalars(select(SettingRow))}

    return await store_of(gw).read(fn)


async def audited(gw: InProcess, action: str) -> list[AuditEntry]:
    return await entries(store_of(gw), AuditFilter(action=action))


async def token(client: WebClient, page: str) -> str:
    reply = await client.get(page)
    assert reply.status == 200, (page, reply.status, reply.text[:300])
    found = TOKEN_RE.search(reply.text)
    assert found, page
    return found.group(1)


async def post(client: WebClient, path: str, page: str, data: dict[str, str]) -> Reply:
    return await client.post(path, data, token=await token(client, page))


def error_beside(text: str, field: str) -> str:
    """The error shown beside a form field (macros.html: id="e-FIELD")."""
    found = re.search(rf'<div class="error" id="e-{field}"[^>]*>([^<]*)</div>', text)
    assert found, f"no error beside {field}"
    return found.group(1)


def value_of(text: str, field: str) -> str:
    found = re.search(rf'id="f-{field}" name="{field}" type="[a-z]+" value="([^"]*)"', text)
    assert found, f"no value for {field}"
    return found.group(1)


CONNECTIVITY = "/preferences/connectivity"
MAIL = {
    "mail_port": "25",
    "mail_security": "none",
    "mail_username": "printgate",
    "mail_sender": "printgate@example.org",
    "mail_max_mb": "5",
}


# --- the index ----------------------------------------------------------------------------


async def test_the_index_links_every_panel(admin: WebClient) -> None:
    page = await admin.get("/preferences/")
    assert page.status == 200
    for path, _title, _register in preferences.PANELS:
        assert f'href="/preferences{path}"' in page.text
        assert (await admin.get(f"/preferences{path}")).status == 200, path


# --- outgoing mail ------------------------------------------------------------------------


async def test_mail_settings_are_saved_and_the_test_mail_arrives(
    gw: InProcess, admin: WebClient, auth_sink: SmtpSink
) -> None:
    form = {
        **MAIL,
        "mail_host": auth_sink.host,
        "mail_port": str(auth_sink.port),
        "mail_password": "s3cret",
        "action": "save",
    }
    reply = await post(admin, f"{CONNECTIVITY}/mail", CONNECTIVITY, form)
    assert reply.status == 303, reply.text[:500]
    saved = await stored(gw)
    assert saved["mail.host"] == auth_sink.host and saved["mail.port"] == str(auth_sink.port)
    assert saved["mail.password"] == "s3cret"
    assert saved["mail.max_attachment_bytes"] == str(5 << 20)

    page = await admin.get(CONNECTIVITY)
    assert value_of(page.text, "mail_host") == auth_sink.host
    assert "s3cret" not in page.text  # a saved password is never shown back
    assert "A password is saved" in page.text

    # The test mail with an empty password field uses the saved one, to the address typed.
    test = {**form, "mail_password": "", "action": "test", "mail_test_to": "ops@example.org"}
    reply = await post(admin, f"{CONNECTIVITY}/mail", CONNECTIVITY, test)
    assert reply.status == 200 and "A test message was sent to ops@example.org" in reply.text
    (message,) = auth_sink.received()
    assert message["To"] == "ops@example.org" and message["From"] == "printgate@example.org"

    # What the console's mails use from now on.
    mailer = await ConsoleSettings(store_of(gw), gw.config).mailer()
    assert (mailer.settings.host, mailer.settings.port) == (auth_sink.host, auth_sink.port)
    assert mailer.password == "s3cret"

    (entry,) = await audited(gw, "settings.mail")
    assert entry.actor == "admin" and entry.source == "console"
    assert entry.before["mail.host"] is None and entry.after["mail.host"] == auth_sink.host
    assert entry.after["mail.password"] == "(changed)"
    assert "s3cret" not in json.dumps([entry.before, entry.after])


async def test_a_failed_test_mail_says_why(gw: InProcess, admin: WebClient) -> None:
    from tests.peers import free_port

    form = {**MAIL, "mail_host": "127.0.0.1", "mail_port": str(free_port()), "action": "test"}
    form["mail_test_to"] = "ops@example.org"
    reply = await post(admin, f"{CONNECTIVITY}/mail", CONNECTIVITY, form)
    assert reply.status == 200 and "cannot send mail via 127.0.0.1" in reply.text
    assert await stored(gw) == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mail_port", "70000", "Between 1 and 65535."),
        ("mail_port", "twenty-five", "A whole number is needed."),
        ("mail_sender", "not-an-address", "This is not an e-mail address."),
        ("mail_host", "smtp example", "This is not a host name."),
        ("mail_security", "tls13", "Choose one of the options."),
    ],
)
async def test_mail_errors_show_beside_the_field_and_nothing_is_saved(
    gw: InProcess, admin: WebClient, field: str, value: str, message: str
) -> None:
    form = {**MAIL, "mail_host": "smtp.example.org", "action": "save", field: value}
    reply = await post(admin, f"{CONNECTIVITY}/mail", CONNECTIVITY, form)
    assert reply.status == 400
    assert error_beside(reply.text, field) == message
    if field != "mail_security":
        assert value_of(reply.text, field) == value  # the input is kept
    assert value_of(reply.text, "mail_host") == form["mail_host"]
    assert await stored(gw) == {}
    assert await audited(gw, "settings.") == []


# --- the directory ------------------------------------------------------------------------


def directory_form(server: Slapd, **changes: str) -> dict[str, str]:
    form = {
        "dir_url": server.url,
        "dir_bind_dn": READER_DN,
        "dir_bind_password": READER_PASSWORD,
        "dir_base_dn": BASE_DN,
        "dir_search_attribute": "uid",
        "dir_filter": DISABLED_FILTER,
        "action": "save",
    }
    form.update(changes)
    return form


async def test_the_directory_test_binds_and_finds_the_user_without_saving(
    gw: InProcess, admin: WebClient, slapd: Slapd
) -> None:
    form = directory_form(slapd, action="test", dir_test_user="alice")
    reply = await post(admin, f"{CONNECTIVITY}/directory", CONNECTIVITY, form)
    assert reply.status == 200, reply.text[:500]
    assert USERS["alice"].dn in reply.text and "Alice Liddell" in reply.text
    assert 'class="ok"' in reply.text
    assert await stored(gw) == {}

    ambiguous = directory_form(slapd, action="test", dir_test_user="sam")
    reply = await post(admin, f"{CONNECTIVITY}/directory", CONNECTIVITY, ambiguous)
    assert "Several entries are named sam" in reply.text

    wrong = directory_form(slapd, action="test", dir_bind_password="nope", dir_test_user="alice")
    reply = await post(admin, f"{CONNECTIVITY}/directory", CONNECTIVITY, wrong)
    assert reply.status == 200 and "refused the bind" in reply.text
    assert 'role="alert"' in reply.text


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("dir_url", "http://ldap.example.org", "must start with ldap:// or ldaps://"),
        ("dir_base_dn", "not a dn", "is not a distinguished name"),
        ("dir_search_attribute", "uid name", "must be an attribute name"),
        ("dir_filter", "uid=x", "must be one LDAP filter in parentheses"),
        ("dir_bind_password", "", "a bind DN needs its password"),
    ],
)
async def test_directory_errors_show_beside_the_field_and_nothing_is_saved(
    gw: InProcess, admin: WebClient, slapd: Slapd, field: str, value: str, expected: str
) -> None:
    form = directory_form(slapd, **{field: value})
    reply = await post(admin, f"{CONNECTIVITY}/directory", CONNECTIVITY, form)
    assert reply.status == 400
    assert expected in error_beside(reply.text, field)
    if field != "dir_bind_password":
        assert value_of(reply.text, field) == value
    assert await stored(gw) == {}


async def test_a_saved_directory_is_used_by_the_gate_at_once(
    gw: InProcess, admin: WebClient, slapd: Slapd
) -> None:
    assert gw.gateway.gate.directory is None  # none in the TOML
    reply = await post(admin, f"{CONNECTIVITY}/directory", CONNECTIVITY, directory_form(slapd))
    assert reply.status == 303, reply.text[:500]
    directory = gw.gateway.gate.directory
    assert directory is not None
    alice = USERS["alice"]
    found = await directory.authenticate("alice", alice.password)
    assert found is not None and found.dn == alice.dn
    assert await directory.authenticate("dave", USERS["dave"].password) is None  # filtered

    # The page shows the saved set-up, never the password; an empty password keeps it.
    page = await admin.get(CONNECTIVITY)
    assert value_of(page.text, "dir_url") == slapd.url and READER_PASSWORD not in page.text
    again = directory_form(slapd, dir_bind_password="", dir_filter="")
    assert (await post(admin, f"{CONNECTIVITY}/directory", CONNECTIVITY, again)).status == 303
    directory = gw.gateway.gate.directory
    assert directory is not None
    assert await directory.authenticate("dave", USERS["dave"].password) is not None

    first, second = reversed(await audited(gw, "settings.directory"))
    assert first.after["directory.url"] == slapd.url
    assert first.after["directory.bind_password"] == "(changed)"
    assert second.before == {"directory.filter": DISABLED_FILTER}
    assert second.after == {"directory.filter": ""}

    # An empty address turns the directory off.
    off = directory_form(slapd, dir_url="", dir_bind_password="")
    assert (await post(admin, f"{CONNECTIVITY}/directory", CONNECTIVITY, off)).status == 303
    assert gw.gateway.gate.directory is None


async def test_a_saved_directory_is_used_after_a_restart(
    tmp_path: Path, database_url: str, slapd: Slapd
) -> None:
    tables: dict[str, Any] = {
        "printers": [{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
        "queues": [{"name": "staff", "printers": ["virtual"], "auth": "directory"}],
    }
    async with in_process(tmp_path, database_url, **tables) as first:
        await Accounts(store_of(first)).set_password(_cli(), "admin", ADMIN_PASSWORD)
        async with WebClient(f"http://127.0.0.1:{first.port}") as client:
            await client.sign_in("admin", ADMIN_PASSWORD)
            form = directory_form(slapd)
            assert (
                await post(client, f"{CONNECTIVITY}/directory", CONNECTIVITY, form)
            ).status == 303
    async with in_process(tmp_path, database_url, **tables) as second:
        directory = second.gateway.gate.directory
        assert directory is not None
        assert await directory.authenticate("bob", USERS["bob"].password) is not None


async def test_empty_forms_change_nothing(gw: InProcess, admin: WebClient) -> None:
    """A POST that lacks the page's fields (not one left empty) is refused, never read as
    "everything empty": that would turn the TOML's directory off."""
    csrf = await token(admin, CONNECTIVITY)
    for path in ("/connectivity/mail", "/connectivity/directory", "/connectivity/dns-sd"):
        reply = await admin.post(f"/preferences{path}", {}, token=csrf)
        assert reply.status == 400, path
    for path in ("/options", "/options/logo", "/permissions/new", "/permissions/keeper/edit"):
        reply = await admin.post(f"/preferences{path}", {}, token=csrf)
        assert reply.status == 400, path
    reply = await admin.post("/preferences/permissions/keeper/remove", {}, token=csrf)
    assert reply.status == 400
    assert await stored(gw) == {}
    assert await Accounts(store_of(gw)).get("keeper") is not None


async def test_the_dns_sd_host_name(gw: InProcess, admin: WebClient) -> None:
    bad = await post(admin, f"{CONNECTIVITY}/dns-sd", CONNECTIVITY, {"dns_host": "print gate"})
    assert bad.status == 400 and error_beside(bad.text, "dns_host") == "This is not a host name."
    assert value_of(bad.text, "dns_host") == "print gate"
    assert await stored(gw) == {}
    good = {"dns_host": "printgate.example.org"}
    assert (await post(admin, f"{CONNECTIVITY}/dns-sd", CONNECTIVITY, good)).status == 303
    assert await ConsoleSettings(store_of(gw), gw.config).dns_sd_host() == "printgate.example.org"
    (entry,) = await audited(gw, "settings.dns_sd")
    assert entry.after == {"dns_sd.host": "printgate.example.org"}


def test_stored_directory_keys_override_the_tomls_one_by_one(tmp_path: Path) -> None:
    from gateway.config import parse
    from gateway.runtime.console_settings import STORED_PASSWORD, SettingError, directory_settings

    secret = tmp_path / "ldap.secret"
    toml = {
        "url": "ldaps://dc.example.org",
        "base_dn": BASE_DN,
        "search_attribute": "sAMAccountName",
        "bind_dn": READER_DN,
        "bind_password_file": str(secret),
        "ca_file": str(tmp_path / "ca.pem"),
        "timeout": 3,
    }
    base = parse({"directory": toml}).directory
    assert base is not None
    assert directory_settings(base, {}) == directory_settings(base, {"mail.host": "x"})
    kept = directory_settings(base, {"directory.filter": DISABLED_FILTER})
    assert kept is not None and kept.password is None
    assert kept.config.bind_password_file == secret and kept.config.timeout == 3
    assert (kept.config.url, kept.config.filter) == (toml["url"], DISABLED_FILTER)
    stored = directory_settings(base, {"directory.bind_password": "pw"})
    assert stored is not None and stored.password == "pw"
    assert stored.config.bind_password_file == STORED_PASSWORD
    plain = directory_settings(base, {"directory.url": "ldap://dc.example.org"})
    assert plain is not None and plain.config.ca_file is None  # only with TLS
    anonymous = directory_settings(base, {"directory.bind_dn": "", "directory.bind_password": "x"})
    assert anonymous is not None and anonymous.config.bind_dn is None and anonymous.password is None
    assert directory_settings(base, {"directory.url": ""}) is None
    assert directory_settings(None, {"directory.url": ""}) is None
    with pytest.raises(SettingError) as refused:
        lone_dn = {
            "url": "ldap://x",
            "bind_dn": READER_DN,
            "base_dn": BASE_DN,
            "search_attribute": "uid",
        }
        directory_settings(None, {f"directory.{k}": v for k, v in lone_dn.items()})
    assert refused.value.key == "directory.bind_password"
    with pytest.raises(SettingError) as refused:
        directory_settings(base, {"directory.starttls": "true"})  # with ldaps://: one or other
    assert refused.value.key == "directory.starttls"


# --- options ------------------------------------------------------------------------------

OPTIONS = "/preferences/options"


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
    await Accounts(store_of(gw)).set_language(_cli(), "admin", "en")
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
    await Rates(store_of(gw)).load({"models": {"*": {"cost": table}}}, actor=_cli())
    before = await stored(gw)
    form = {"language": "", "units": "metric", "currency": "EUR", "cost_basis": "coverage"}
    form["tax_rate"] = "0"
    reply = await post(admin, OPTIONS, OPTIONS, form)
    assert reply.status == 400
    assert "is not a line of the coverage basis" in error_beside(reply.text, "cost_basis")
    assert await stored(gw) == before
    assert await audited(gw, "settings.") == []


# --- the logo -----------------------------------------------------------------------------


def png_bytes(size: tuple[int, int] = (40, 20), text: str = "") -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if text:
        info.add_text("Comment", text)
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


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

PEOPLE = "/preferences/permissions/"


async def test_accounts_are_added_edited_and_removed(gw: InProcess, admin: WebClient) -> None:
    accounts = Accounts(store_of(gw))
    new = {
        "username": "carol",
        "first_name": "Carol",
        "last_name": "Danvers",
        "email": "carol@example.org",
        "role": "admin",
        "password": "carol's long password",
        "password2": "carol's long password",
        "must_change": "on",
    }
    reply = await post(admin, f"{PEOPLE}new", f"{PEOPLE}new", new)
    assert reply.status == 303, reply.text[:500]
    carol = await accounts.get("carol")
    assert carol is not None and carol.role == "admin" and carol.must_change_password
    assert (carol.first_name, carol.last_name) == ("Carol", "Danvers")
    listing = await admin.get(PEOPLE)
    assert "carol@example.org" in listing.text and "Carol Danvers" in listing.text

    edit = {
        "first_name": "Carol",
        "last_name": "Marvel",
        "email": "cm@example.org",
        "role": "bookkeeper",
        "password": "",
        "password2": "",
    }
    reply = await post(admin, f"{PEOPLE}carol/edit", f"{PEOPLE}carol/edit", edit)
    assert reply.status == 303, reply.text[:500]
    carol = await accounts.get("carol")
    assert carol is not None and (carol.role, carol.email) == ("bookkeeper", "cm@example.org")
    assert await accounts.check_password("carol", "carol's long password") is not None

    with_password = {
        **edit,
        "password": "a brand new password",
        "password2": "a brand new password",
    }
    reply = await post(admin, f"{PEOPLE}carol/edit", f"{PEOPLE}carol/edit", with_password)
    assert reply.status == 303
    carol = await accounts.get("carol")
    assert carol is not None and not carol.must_change_password
    assert await accounts.check_password("carol", "a brand new password") is not None

    confirm = await admin.get(f"{PEOPLE}carol/remove")
    assert confirm.status == 200 and "Remove the account" in confirm.text
    assert await accounts.get("carol") is not None  # the confirmation page changes nothing
    unconfirmed = await post(admin, f"{PEOPLE}carol/remove", f"{PEOPLE}carol/remove", {})
    assert unconfirmed.status == 400 and await accounts.get("carol") is not None
    confirmed = {"confirm": "carol"}
    reply = await post(admin, f"{PEOPLE}carol/remove", f"{PEOPLE}carol/remove", confirmed)
    assert reply.status == 303
    assert await accounts.get("carol") is None

    carol_entries = [e for e in reversed(await audited(gw, "account.")) if e.target == "carol"]
    assert [e.action for e in carol_entries] == [
        "account.add",
        "account.role",
        "account.edit",
        "account.edit",
        "account.password",
        "account.remove",
    ]
    adds = [e for e in await audited(gw, "account.add") if e.target == "carol"]
    assert adds[0].after["email"] == "carol@example.org" and adds[0].actor == "admin"
    (role,) = [e for e in await audited(gw, "account.role") if e.target == "carol"]
    assert role.before == {"role": "admin"} and role.after == {"role": "bookkeeper"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "", "This field is required."),
        ("email", "carol", "This is not an e-mail address."),
        ("username", "<script>alert(1)</script>", None),
        ("password", "short", "At least 10 characters."),
        ("password2", "something else entirely", "The two passwords differ."),
        ("role", "owner", "Choose one of the options."),
    ],
)
async def test_add_errors_show_beside_the_field_and_nothing_is_saved(
    gw: InProcess, admin: WebClient, field: str, value: str, message: str | None
) -> None:
    new = {
        "username": "carol",
        "email": "carol@example.org",
        "role": "bookkeeper",
        "password": "carol's long password",
        "password2": "carol's long password",
        field: value,
    }
    reply = await post(admin, f"{PEOPLE}new", f"{PEOPLE}new", new)
    assert reply.status == 400
    error = error_beside(reply.text, field)
    assert message is None or error == message
    if field in ("email", "username"):
        assert value_of(reply.text, field) == value.replace("<", "&lt;").replace(">", "&gt;")
    assert "<script>alert(1)</script>" not in reply.text
    assert {a.username for a in await Accounts(store_of(gw)).everyone()} == {"admin", "keeper"}


async def test_the_last_administrator_is_neither_demoted_nor_removed(
    gw: InProcess, admin: WebClient
) -> None:
    demote = {"email": "admin@localhost", "role": "bookkeeper", "first_name": "Changed"}
    reply = await post(admin, f"{PEOPLE}admin/edit", f"{PEOPLE}admin/edit", demote)
    assert reply.status == 400 and "admin is the last administrator" in reply.text
    assert value_of(reply.text, "first_name") == "Changed"
    admin_account = await Accounts(store_of(gw)).get("admin")
    assert admin_account is not None and admin_account.role == "admin"
    assert admin_account.first_name != "Changed"  # nothing of the refused edit is saved

    mine = {"confirm": "admin"}
    reply = await post(admin, f"{PEOPLE}admin/remove", f"{PEOPLE}admin/remove", mine)
    assert reply.status == 400 and "your own account" in reply.text
    await Accounts(store_of(gw)).add(_cli(), "root2", ADMIN_PASSWORD, "admin", "r@example.org")
    async with WebClient(admin.base_url) as other:
        await other.sign_in("root2", ADMIN_PASSWORD)
        await Accounts(store_of(gw)).set_role(_cli(), "admin", "bookkeeper")
        reply = await post(
            other,
            f"{PEOPLE}root2/edit",
            f"{PEOPLE}root2/edit",
            {"email": "r@example.org", "role": "bookkeeper"},
        )
        assert reply.status == 400 and "root2 is the last administrator" in reply.text


async def test_a_missing_account_is_404(admin: WebClient) -> None:
    assert (await admin.get(f"{PEOPLE}nobody/edit")).status == 404
    assert (await admin.get(f"{PEOPLE}nobody/remove")).status == 404


# --- roles --------------------------------------------------------------------------------


def area_paths() -> list[tuple[str, str]]:
    """(method, path) of every route of the Preferences and audit areas."""
    paths = []
    for prefix, app in (("/preferences", preferences.make()), ("/audit", audit.make())):
        for route in app.router.routes():
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter", "")
            if route.method in ("GET", "POST"):
                # Any value will do: the role check answers before a handler looks it up.
                paths.append((route.method, prefix + re.sub(r"\{[^}]+\}", "1", path)))
    return paths


async def test_a_bookkeeper_is_turned_away_from_every_page(gw: InProcess) -> None:
    paths = area_paths()
    assert ("GET", "/preferences/connectivity") in paths and ("GET", "/audit/") in paths
    async with WebClient(f"http://127.0.0.1:{gw.port}") as keeper:
        assert (await keeper.sign_in("keeper", KEEPER_PASSWORD)).status == 303
        csrf = await keeper.token_for()
        for method, path in paths:
            if method == "GET":
                reply = await keeper.get(path)
            else:
                reply = await keeper.request("POST", path, data={"csrf_token": csrf})
            assert reply.status == 403, (method, path, reply.status)
    assert await stored(gw) == {}
    async with WebClient(f"http://127.0.0.1:{gw.port}") as anonymous:
        reply = await anonymous.get("/preferences/options")
        assert reply.status == 303 and reply.location.startswith("/signin")


async def test_my_pages_speak_french(gw: InProcess, admin: WebClient) -> None:
    await Accounts(store_of(gw)).set_language(_cli(), "admin", "fr")
    expected = {
        "/preferences/": "Préférences",
        CONNECTIVITY: "Courrier sortant",
        OPTIONS: "Logo de l'entreprise pour les rapports",
        PEOPLE: "Ajouter un compte",
        f"{PEOPLE}new": "Le mot de passe, à nouveau",
        f"{PEOPLE}keeper/edit": "Nouveau mot de passe (facultatif)",
        f"{PEOPLE}keeper/remove": "Supprimer le compte",
        "/audit/": "Appliquer le filtre",
    }
    for path, text in expected.items():
        page = await admin.get(path)
        assert page.status == 200 and '<html lang="fr">' in page.text, path
        assert text in page.text, path


# --- in a browser -------------------------------------------------------------------------


async def test_uploading_a_logo_in_the_browser(console: Any, tmp_path: Path) -> None:
    logo = tmp_path / "company.png"
    logo.write_bytes(png_bytes((120, 60)))
    page = await console.signed_in_page()
    await console.visit(page, "/preferences/")
    await page.get_by_role("link", name="Options").click()
    await page.wait_for_load_state()
    await console.keep(page)
    await page.get_by_label("Image file").set_input_files(str(logo))
    await page.get_by_role("button", name="Upload the logo").click()
    await page.wait_for_load_state()
    await page.get_by_text("The logo is saved.").wait_for()
    image = page.get_by_role("img", name="The company logo")
    await image.wait_for()
    assert await image.evaluate("img => img.naturalWidth") == 120
    await console.visit(page, "/preferences/options")

    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    await page.get_by_label("Image file").set_input_files(str(text))
    await page.get_by_role("button", name="Upload the logo").click()
    await page.wait_for_load_state()
    await page.get_by_text("not an image printgate can read").wait_for()
    await console.keep(page)
    kept = await ConsoleSettings(console.gw.gateway.jobs.store, console.gw.config).logo()
    assert kept is not None
    with Image.open(io.BytesIO(kept)) as image_file:
        assert image_file.size == (120, 60)  # the refused file replaced nothing


async def test_every_page_in_a_browser_passes_axe(console: Any) -> None:
    """Each page of these panels and of the audit log: a screenshot kept, no serious or
    critical accessibility violation; then a form error as a browser shows it."""
    await console.accounts.add(_cli(), "keeper", KEEPER_PASSWORD, "bookkeeper", "k@example.org")
    page = await console.signed_in_page()
    for path in (
        "/preferences/",
        CONNECTIVITY,
        OPTIONS,
        PEOPLE,
        f"{PEOPLE}new",
        f"{PEOPLE}keeper/edit",
        f"{PEOPLE}keeper/remove",
        "/audit/",
        "/audit/?action=account.",
    ):
        await console.visit(page, path)
    await console.visit(page, CONNECTIVITY)
    await page.get_by_label("Port").fill("70000")
    await page.locator("#mail").get_by_role("button", name="Save").click()
    await page.wait_for_load_state()
    await page.get_by_text("Between 1 and 65535.").wait_for()
    await console.keep(page)
