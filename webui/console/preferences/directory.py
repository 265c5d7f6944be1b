"""The directory as the console saved it: an LdapDirectory whose service-account password may
be the one stored in the settings (instead of a file), and that can look a user up by name
without a password, for the Connectivity panel's "test" button.

The gate checks "directory" queues with the saved settings from the moment they are saved
(`apply_saved_directory`, also run at start-up), without a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from gateway.identity.ldap import LdapDirectory
from gateway.identity.protocol import DirectoryUnavailable
from gateway.runtime.console_settings import DirectorySettings, SettingError

from ...context import WebContext

log = logging.getLogger(__name__)
SHOWN_ATTRIBUTES = ("displayName", "cn", "mail")


@dataclass(frozen=True)
class FoundEntry:
    dn: str
    attributes: dict[str, str]


def directory_of(settings: DirectorySettings) -> LdapDirectory:
    """The directory as saved: its service password is the stored one when there is one."""
    return LdapDirectory(settings.config, max_threads=4, bind_password=settings.password)


async def lookup(directory: LdapDirectory, username: str) -> list[FoundEntry]:
    """What the gate would find for this name, with the attributes worth showing."""
    return [FoundEntry(dn, _shown(attrs)) for dn, attrs in await directory.lookup(username)]


def _shown(attributes: dict[str, Any]) -> dict[str, str]:
    shown = {}
    for name in SHOWN_ATTRIBUTES:
        for key, value in attributes.items():
            if key.lower() == name.lower() and value:
                values = value if isinstance(value, list | tuple) else [value]
                shown[name] = ", ".join(str(v) for v in values)
    return shown


async def apply_saved_directory(context: WebContext) -> None:
    """Point the gate at the directory the console saved (nothing to do if it never saved
    one: the TOML's is in force). A saved set-up that no longer checks out against the TOML
    is logged and the TOML's directory kept."""
    settings = context.settings
    if not await settings.directory_saved():
        return
    try:
        saved = await settings.directory()
    except SettingError as exc:
        log.error("the directory saved in the console is unusable, keeping the TOML's: %s", exc)
        return
    context.use_directory(directory_of(saved) if saved is not None else None)


async def probe(
    saved: DirectorySettings, username: str
) -> tuple[bool, str, list[FoundEntry] | None]:
    """(ok, the directory's answer, the entries found for `username` or None if not asked)."""
    directory = directory_of(saved)
    try:
        ok, message = await directory.test_connection()
        found = None
        if ok and username:
            try:
                found = await lookup(directory, username)
            except DirectoryUnavailable as exc:
                return False, str(exc), None
        return ok, message, found
    finally:
        directory.close()
