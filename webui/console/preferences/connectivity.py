"""Preferences, Connectivity: outgoing mail, the directory, and the host name DNS-SD
advertises. Each has its own form; mail and directory forms also have a test button that
tries the settings as typed (an empty password field: the saved one) without saving them.

What is saved here overrides printgate.toml key by key (gateway/runtime/console_settings.py);
the directory takes effect for "directory" queues at once, mail for the console's mails at
once.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.config import MAIL_SECURITY
from gateway.runtime.console_settings import (
    DIRECTORY_KEYS,
    DNS_SD_HOST,
    SettingError,
    is_host_name,
)
from gateway.runtime.mail import MailError

from ...forms import Form
from ...i18n import gettext
from ...pages import render
from .common import account, actor, context, saved_message
from .directory import FoundEntry, apply_saved_directory, probe

MB = 1 << 20
PAGE = "/preferences/connectivity"
# Form field -> stored key.
MAIL_FIELDS = {
    "mail_host": "mail.host",
    "mail_port": "mail.port",
    "mail_security": "mail.security",
    "mail_username": "mail.username",
    "mail_sender": "mail.sender",
}
DIRECTORY_FIELDS = {
    "dir_url": "directory.url",
    "dir_bind_dn": "directory.bind_dn",
    "dir_base_dn": "directory.base_dn",
    "dir_search_attribute": "directory.search_attribute",
    "dir_filter": "directory.filter",
    "dir_starttls": "directory.starttls",
    "dir_bind_password": "directory.bind_password",
}
FIELD_OF_KEY = {key: field for field, key in DIRECTORY_FIELDS.items()}


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str
    entries: list[FoundEntry] | None = None


def _security_choices() -> list[tuple[str, str]]:
    names = {
        "none": gettext("None (plain SMTP)"),
        "starttls": gettext("STARTTLS"),
        "ssl": gettext("TLS from the start (SMTPS)"),
    }
    return [(value, names[value]) for value in MAIL_SECURITY]


async def _mail_form(request: web.Request) -> tuple[Form, bool]:
    config, password = await context(request).settings.mail()
    has_password = password is not None or bool(config.password_file)
    form = Form(
        {
            "mail_host": config.host,
            "mail_port": str(config.port),
            "mail_security": config.security,
            "mail_username": config.username,
            "mail_sender": config.sender,
            "mail_max_mb": str(max(1, config.max_attachment_bytes // MB)),
            "mail_test_to": account(request).email,
        }
    )
    return form, has_password


async def _directory_form(request: web.Request) -> tuple[Form, bool]:
    """The saved keys over the TOML's, as stored (even a set-up that no longer checks out)."""
    base = context(request).config.directory
    stored = await context(request).settings.stored(DIRECTORY_KEYS)

    def get(key: str, default: str | None) -> str:
        return stored.get(f"directory.{key}", default or "")

    values = {
        "dir_url": get("url", base.url if base else ""),
        "dir_bind_dn": get("bind_dn", base.bind_dn if base else ""),
        "dir_base_dn": get("base_dn", base.base_dn if base else ""),
        "dir_search_attribute": get("search_attribute", base.search_attribute if base else "uid"),
        "dir_filter": get("filter", base.filter if base else ""),
    }
    if get("starttls", "true" if base and base.starttls else "false") == "true":
        values["dir_starttls"] = "on"
    has_password = bool(stored.get("directory.bind_password")) or bool(
        base and base.bind_password_file
    )
    return Form(values), has_password


async def page(
    request: web.Request,
    status: int = 200,
    mail: Form | None = None,
    directory: Form | None = None,
    dns: Form | None = None,
    mail_result: ProbeResult | None = None,
    directory_result: ProbeResult | None = None,
) -> web.Response:
    mail_form, mail_password = await _mail_form(request)
    directory_form, directory_password = await _directory_form(request)
    if dns is None:
        dns = Form({"dns_host": await context(request).settings.dns_sd_host()})
    return render(
        request,
        "console/preferences/connectivity.html",
        status,
        mail=mail or mail_form,
        mail_password=mail_password,
        security_choices=_security_choices(),
        directory=directory or directory_form,
        directory_password=directory_password,
        dns=dns,
        mail_result=mail_result,
        directory_result=directory_result,
        saved=saved_message(request),
    )


async def show(request: web.Request) -> web.Response:
    return await page(request)


# --- outgoing mail ------------------------------------------------------------------------


def _mail_changes(form: Form) -> dict[str, str]:
    """The stored keys the form sets; errors beside the fields."""
    host = form.text("mail_host")
    if host and not is_host_name(host):
        form.error("mail_host", gettext("This is not a host name."))
    port = form.integer("mail_port", minimum=1, maximum=65535)
    form.choice("mail_security", MAIL_SECURITY)
    form.text("mail_username")
    form.email("mail_sender", required=True)
    size = form.integer("mail_max_mb", minimum=1, maximum=1000)
    changes = {key: form.raw(field) for field, key in MAIL_FIELDS.items()}
    changes["mail.port"] = str(port)
    changes["mail.max_attachment_bytes"] = str((size or 0) * MB)
    password = form.values.get("mail_password", "")
    if password:
        changes["mail.password"] = password
    return changes


async def mail_post(request: web.Request) -> web.Response:
    form = Form(await request.post())
    changes = _mail_changes(form)
    testing = form.raw("action") == "test"
    to = form.email("mail_test_to", required=True) if testing else ""
    if not form.ok:
        return await page(request, 400, mail=form)
    settings = context(request).settings
    if testing:
        mailer = await settings.mailer(changes)
        try:
            await mailer.test(to)
        except MailError as exc:
            result = ProbeResult(False, str(exc))
        else:
            result = ProbeResult(True, gettext("A test message was sent to %(to)s.", to=to))
        return await page(request, mail=form, mail_result=result)
    await settings.save(actor(request), "settings.mail", "mail", changes)
    raise web.HTTPSeeOther(f"{PAGE}?saved=mail#mail")


# --- the directory ------------------------------------------------------------------------


def _require_fields(form: Form, names: tuple[str, ...]) -> None:
    """A form that lacks one of its fields altogether (not one left empty) saves nothing: it
    did not come from this page."""
    for name in names:
        if name not in form.values:
            form.error(name, gettext("This field is required."))


def _directory_changes(form: Form) -> dict[str, str]:
    _require_fields(form, ("dir_url", "dir_base_dn", "dir_search_attribute"))
    for field in ("dir_url", "dir_bind_dn", "dir_base_dn", "dir_search_attribute", "dir_filter"):
        form.text(field, max_length=1000)
    changes = {key: form.raw(field) for field, key in DIRECTORY_FIELDS.items()}
    changes["directory.starttls"] = "true" if form.boolean("dir_starttls") else "false"
    password = form.values.get("dir_bind_password", "")
    if password:
        changes["directory.bind_password"] = password
    else:
        del changes["directory.bind_password"]  # empty: the saved one, unchanged
    return changes


async def directory_post(request: web.Request) -> web.Response:
    form = Form(await request.post())
    changes = _directory_changes(form)
    testing = form.raw("action") == "test"
    test_user = form.text("dir_test_user", max_length=100) if testing else ""
    settings = context(request).settings
    saved = None
    if form.ok:
        try:
            saved = await settings.directory(changes)
        except SettingError as exc:
            form.error(FIELD_OF_KEY.get(exc.key, "dir_url"), exc.problem)
    if testing and form.ok and saved is None:
        form.error("dir_url", gettext("Give the directory's address to test it."))
    if not form.ok:
        return await page(request, 400, directory=form)
    if testing:
        assert saved is not None
        ok, message, entries = await probe(saved, test_user)
        if ok and test_user and entries is not None and len(entries) != 1:
            ok = False
            message += " " + (
                gettext("No entry is named %(name)s.", name=test_user)
                if not entries
                else gettext(
                    "Several entries are named %(name)s: none may sign in.", name=test_user
                )
            )
        return await page(
            request, directory=form, directory_result=ProbeResult(ok, message, entries)
        )
    await settings.save(actor(request), "settings.directory", "directory", changes)
    await apply_saved_directory(context(request))
    raise web.HTTPSeeOther(f"{PAGE}?saved=directory#directory")


# --- DNS-SD -------------------------------------------------------------------------------


async def dns_post(request: web.Request) -> web.Response:
    form = Form(await request.post())
    _require_fields(form, ("dns_host",))
    host = form.text("dns_host", max_length=253)
    if host and not is_host_name(host):
        form.error("dns_host", gettext("This is not a host name."))
    if not form.ok:
        return await page(request, 400, dns=form)
    await context(request).settings.save(
        actor(request), "settings.dns_sd", "dns_sd", {DNS_SD_HOST: host}
    )
    raise web.HTTPSeeOther(f"{PAGE}?saved=dns-sd#dns-sd")


def register(app: web.Application) -> None:
    app.router.add_get("/connectivity", show)
    app.router.add_post("/connectivity/mail", mail_post)
    app.router.add_post("/connectivity/directory", directory_post)
    app.router.add_post("/connectivity/dns-sd", dns_post)
