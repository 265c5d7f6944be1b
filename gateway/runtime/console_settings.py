"""What administrators set in the console's Preferences, kept in the store.

Outgoing mail, the directory, the host name DNS-SD advertises, the console's default language
and the company logo live in the settings table (key / value, beside the accounting options
that `printgate settings` keeps there), so a backup holds them and a restore brings them back.
A stored key overrides the same key of the TOML ([mail], [directory], [dns_sd] host); a key
never saved in the console keeps the TOML's value. Passwords saved in the console are stored
as given (the TOML reads its own from files) and never shown back: the audit log says only
that they changed.

Every save writes its keys and its audit entry in one transaction.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..config import Config, ConfigError, DirectoryConfig, MailConfig
from ..store.audit import Actor, record
from ..store.models import SettingRow
from ..store.store import Store, StoreUnavailable
from .mail import Mailer

log = logging.getLogger(__name__)

MAIL_KEYS = tuple(
    f"mail.{key}"
    for key in (
        "host",
        "port",
        "security",
        "username",
        "password",
        "sender",
        "max_attachment_bytes",
    )
)
DIRECTORY_KEYS = tuple(
    f"directory.{key}"
    for key in (
        "url",
        "starttls",
        "bind_dn",
        "bind_password",
        "base_dn",
        "search_attribute",
        "filter",
    )
)
DNS_SD_HOST = "dns_sd.host"
LANGUAGE = "console.language"  # empty: each browser's own
LOGO = "console.logo"  # a PNG, base64
SECRETS = frozenset({"mail.password", "directory.bind_password"})
# What a DirectoryConfig names as its password file when the password is the stored one
# (DirectoryConfig wants bind_dn and a password file together); never read.
STORED_PASSWORD = Path("(the password saved in the console)")
LANGUAGE_TTL = 5.0  # seconds a page may speak the previous default after another gateway's save
_CONFIG_PROBLEM = re.compile(r"^\[directory\] (\w+): (.*)$", re.DOTALL)
_HOST_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?$"
)


class SettingError(ValueError):
    """A value refused, with the key it belongs to (such as "directory.url") and the reason."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class DirectorySettings:
    """The directory in force: its config, and the service account's password when it is the
    one saved in the console (None: the config's bind_password_file holds it)."""

    config: DirectoryConfig
    password: str | None = None


def is_host_name(value: str) -> bool:
    return bool(_HOST_RE.match(value))


def mail_settings(base: MailConfig, stored: Mapping[str, str]) -> tuple[MailConfig, str | None]:
    """[mail] with the stored keys over it, and the stored password (None: the TOML's file).
    Stored values were checked when saved."""

    def get(key: str, default: object) -> str:
        return stored.get(f"mail.{key}", str(default))

    config = replace(
        base,
        host=get("host", base.host),
        port=int(get("port", base.port)),
        security=get("security", base.security),
        username=get("username", base.username),
        sender=get("sender", base.sender),
        max_attachment_bytes=int(get("max_attachment_bytes", base.max_attachment_bytes)),
    )
    return config, stored.get("mail.password") or None


def directory_settings(
    base: DirectoryConfig | None, stored: Mapping[str, str]
) -> DirectorySettings | None:
    """[directory] with the stored keys over it; None when there is no directory (no url).
    SettingError names the key at fault, as DirectoryConfig's own checks judge it."""
    given = {k.removeprefix("directory."): v for k, v in stored.items() if k in DIRECTORY_KEYS}
    if not given:
        return None if base is None else DirectorySettings(base)

    def get(key: str, default: str) -> str:
        return given.get(key, default)

    url = get("url", base.url if base else "")
    if not url:
        return None
    bind_dn = get("bind_dn", (base.bind_dn or "") if base else "") or None
    password = given.get("bind_password") or None
    password_file = base.bind_password_file if base else None
    if bind_dn is None:
        password, password_file = None, None
    elif password is not None:
        password_file = STORED_PASSWORD
    starttls = get("starttls", "true" if base and base.starttls else "false") == "true"
    encrypted = url.lower().startswith("ldaps:") or starttls
    try:
        config = DirectoryConfig(
            url=url,
            base_dn=get("base_dn", base.base_dn if base else ""),
            search_attribute=get("search_attribute", base.search_attribute if base else ""),
            filter=get("filter", base.filter if base else ""),
            starttls=starttls,
            bind_dn=bind_dn,
            bind_password_file=password_file,
            timeout=base.timeout if base else DirectoryConfig.timeout,
            ca_file=base.ca_file if base and encrypted else None,
            tls_verify=base.tls_verify if base else True,
        )
    except ConfigError as exc:
        raise _setting_error(exc) from None
    return DirectorySettings(config, password)


def _setting_error(exc: ConfigError) -> SettingError:
    match = _CONFIG_PROBLEM.match(str(exc))
    if match is None:
        return SettingError("directory.url", str(exc))
    key, problem = match.groups()
    if key in ("bind_password_file", "bind_dn") and "go together" in problem:
        return SettingError("directory.bind_password", "a bind DN needs its password")
    return SettingError(f"directory.{key}", problem)


def _shown(key: str, value: str | None) -> str | None:
    """A value as the audit log shows it: never a secret, and a logo by its size and digest."""
    if value is None:
        return None
    if key in SECRETS:
        return "(set)" if value else ""
    if key == LOGO:
        digest = hashlib.sha256(value.encode()).hexdigest()[:16]
        return f"PNG, {len(base64.b64decode(value))} bytes, sha256 {digest}"
    return value


class ConsoleSettings:
    """The stored settings of one store, and the settings in force made of them and the
    config (`config` is the TOML's)."""

    def __init__(self, store: Store, config: Config):
        self.store = store
        self.config = config
        self._language: tuple[float, str] | None = None

    # --- reading ----------------------------------------------------------------------------

    async def stored(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(keys)

        async def fn(session: AsyncSession) -> dict[str, str]:
            rows = await session.scalars(select(SettingRow).where(SettingRow.key.in_(wanted)))
            return {row.key: row.value for row in rows}

        return await self.store.read(fn)

    async def mail(self, typed: Mapping[str, str] | None = None) -> tuple[MailConfig, str | None]:
        """[mail] in force, or with `typed` (keys as stored, not yet saved) over it."""
        stored = {**await self.stored(MAIL_KEYS), **(typed or {})}
        return mail_settings(self.config.mail, stored)

    async def mailer(self, typed: Mapping[str, str] | None = None) -> Mailer:
        config, password = await self.mail(typed)
        return Mailer(config, password)

    async def directory(self, typed: Mapping[str, str] | None = None) -> DirectorySettings | None:
        """The directory in force, or with `typed` over it. SettingError if that makes an
        unusable one."""
        stored = {**await self.stored(DIRECTORY_KEYS), **(typed or {})}
        return directory_settings(self.config.directory, stored)

    async def directory_saved(self) -> bool:
        """Has the console ever saved the directory (else the TOML's is in force as it is)?"""
        return bool(await self.stored(DIRECTORY_KEYS))

    async def dns_sd_host(self) -> str:
        stored = await self.stored((DNS_SD_HOST,))
        return stored.get(DNS_SD_HOST, self.config.dns_sd.host)

    async def language(self) -> str:
        """The console's default language ("": the browser's), read at most every few seconds:
        every page asks."""
        at = time.monotonic()
        if self._language is not None and at - self._language[0] < LANGUAGE_TTL:
            return self._language[1]
        try:
            value = (await self.stored((LANGUAGE,))).get(LANGUAGE, "")
        except StoreUnavailable:
            value = ""  # pages still open (the release page works without the store)
        self._language = (at, value)
        return value

    async def logo(self) -> bytes | None:
        """The company logo for reports, a PNG; None when there is none."""
        value = (await self.stored((LOGO,))).get(LOGO)
        return base64.b64decode(value) if value else None

    # --- changing ---------------------------------------------------------------------------

    async def save(
        self, actor: Actor, action: str, target: str, changes: Mapping[str, str | None]
    ) -> bool:
        """Write these keys (None: remove, back to the TOML's value) with one audit entry of
        what changed, in one transaction. False when nothing changed (and nothing is logged)."""

        def fn(session: Session) -> bool:
            query = select(SettingRow).where(SettingRow.key.in_(list(changes)))
            rows = {row.key: row for row in session.scalars(query)}
            before: dict[str, str | None] = {}
            after: dict[str, str | None] = {}
            for key, value in changes.items():
                old = rows[key].value if key in rows else None
                if old == value:
                    continue
                before[key], after[key] = _shown(key, old), _shown(key, value)
                if key in SECRETS and value:
                    after[key] = "(changed)"
                if value is None:
                    session.delete(rows[key])
                else:
                    session.merge(SettingRow(key=key, value=value))
            if after:
                record(session, actor, action, target, before, after)
            return bool(after)

        changed = await self.store.write(fn)
        self._language = None
        return changed

    async def save_logo(self, actor: Actor, png: bytes | None) -> bool:
        value = base64.b64encode(png).decode("ascii") if png is not None else None
        return await self.save(actor, "settings.logo", "logo", {LOGO: value})


async def log_overrides(settings: ConsoleSettings) -> None:
    """Say at start-up which console settings override the TOML (what an operator reading
    printgate.toml would otherwise not know)."""
    try:
        keys = await settings.stored((*MAIL_KEYS, *DIRECTORY_KEYS, DNS_SD_HOST))
    except StoreUnavailable:
        return
    if keys:
        log.info(
            "settings saved in the console override printgate.toml: %s",
            ", ".join(sorted(k for k in keys if k not in SECRETS)),
        )
