"""Who is printing: the credential checks behind the gate, against printgate's own lists
(sql.py, an Identity) or a directory (ldap.py, a Directory)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Verdict(enum.Enum):
    OK = "ok"
    UNKNOWN = "unknown"  # no such name in the list or directory
    DISABLED = "disabled"
    BAD_PASSWORD = "bad-password"
    PASSWORD_NEEDED = "password-needed"  # the entry has a password and none was given
    UNAVAILABLE = "unavailable"  # the store or the directory cannot be reached
    UNCHECKED = "unchecked"  # all but the password hash checked (internal to identity sources)


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    name: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK


class Identity(Protocol):
    """A source of truth for one queue's users (and its projects and departments)."""

    async def check_user(self, queue: str, name: str, password: str | None) -> Check:
        """password None: the name alone is checked (it must be an enabled entry)."""
        ...

    async def check_account(self, queue: str, kind: str, name: str, password: str | None) -> Check:
        """A project or department: enabled, and its password if it has one."""
        ...


class DirectoryUnavailable(Exception):
    """The directory could not check the credentials: unreachable, silent, or misconfigured."""


@dataclass(frozen=True)
class DirectoryUser:
    """Whom the directory accepted. Optional fields are None where the entry lacks them."""

    username: str
    dn: str
    display_name: str | None = None
    email: str | None = None
    department: str | None = None


class Directory(Protocol):
    """A directory that checks passwords itself (LDAP / Active Directory): what the gate and
    the metrics use of it."""

    async def authenticate(self, username: str, password: str) -> DirectoryUser | None:
        """The user if the directory accepts the password; None if not.
        DirectoryUnavailable when it cannot say."""
        ...

    async def test_connection(self) -> tuple[bool, str]:
        """(ok, one sentence for the administrator); never raises for an unreachable server."""
        ...
