"""Preferences over real HTTP against a whole printgate: the index, Connectivity (mail with a
test mail received by aiosmtpd, the directory tested against a real slapd and used by the
gate at once, DNS-SD), the French pages, and every page in a browser with axe."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gateway.identity.accounts import Accounts
from gateway.runtime.console_settings import ConsoleSettings
from tests.console_fixtures import (
    ADMIN_PASSWORD,
    CONNECTIVITY,
    KEEPER_PASSWORD,
    OPTIONS,
    PEOPLE,
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
from tests.harness import InProcess, in_process
from tests.slapd import BASE_DN, DISABLED_FILTER, READER_DN, READER_PASSWORD, USERS, Slapd
from tests.snmp_peers import SmtpSink
from tests.web_client import WebClient
from webui.console import preferences

# The fixtures gw, admin, auth_sink and slapd.
pytest_plugins = ("tests.console_fixtures",)


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
        await Accounts(store_of(first)).set_password(cli_actor(), "admin", ADMIN_PASSWORD)
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


async def test_my_pages_speak_french(gw: InProcess, admin: WebClient) -> None:
    await Accounts(store_of(gw)).set_language(cli_actor(), "admin", "fr")
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
    await console.accounts.add(
        cli_actor(), "keeper", KEEPER_PASSWORD, "bookkeeper", "k@example.org"
    )
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
