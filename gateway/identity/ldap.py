"""Credential checks against a directory (LDAP / Active Directory), with ldap3.

The check is the usual search-then-bind: a connection bound as the service account (or
anonymously) finds exactly one entry whose `search_attribute` equals the user name, under
`base_dn` and within the optional `filter`; a second, fresh connection then binds as that
entry's DN with the password. The password is never compared here: the directory decides.

Three outcomes, kept apart because the caller treats them differently:

- a `DirectoryUser`: the directory accepted the password;
- None: it did not (wrong password, no such user, filtered out, ambiguous name, empty password);
- `DirectoryUnavailable`: the check could not be made (server unreachable or silent, TLS
  failure, service account refused, base DN missing). Jobs then follow the printer's graceful
  failover policy instead of being refused.

The settings are the config's DirectoryConfig, validated when the config was loaded.

ldap3 is blocking, so every exchange runs in a small thread pool of this directory's own (a
silent server must not starve the event loop's default executor), and the whole check is
bounded by `timeout`, which also bounds each connect and each operation inside the thread.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from ldap3 import ANONYMOUS, BASE, NONE, SIMPLE, SUBTREE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from ..config import DirectoryConfig
from .protocol import DirectoryUnavailable, DirectoryUser

__all__ = [
    "MAX_NAME_LENGTH",
    "DirectoryUnavailable",
    "DirectoryUser",
    "LdapDirectory",
]

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100
# Attributes read from the user's entry, first present wins (AD names, then inetOrgPerson).
_DISPLAY_NAME = ("displayName", "cn")
_EMAIL = ("mail",)
_DEPARTMENT = ("department", "departmentNumber")

# LDAP result codes (RFC 4511, 4.1.9).
_SUCCESS = 0
_SIZE_LIMIT_EXCEEDED = 4
_NO_SUCH_OBJECT = 32
# A bind refused with one of these says "not with that password" (49 also covers locked,
# expired and disabled accounts on AD and with ppolicy); any other code means the directory
# could not decide.
_BIND_REFUSALS = frozenset({48, 49, 50, 53})


class _Refused(Exception):
    """Inside the worker thread: the directory could not check (becomes DirectoryUnavailable)."""


_T = TypeVar("_T")


class LdapDirectory:
    """Checks user names and passwords against one directory server."""

    def __init__(
        self,
        settings: DirectoryConfig,
        *,
        max_threads: int = 8,
        bind_password: str | None = None,
    ) -> None:
        """`bind_password`: the service account's password as given (the console keeps it in
        the store); None: read from settings.bind_password_file at each bind."""
        self.settings = settings
        self._given_password = bind_password
        self._use_ssl, self._host, self._port = settings.endpoint
        self._executor = ThreadPoolExecutor(max_threads, thread_name_prefix="ldap")

    def close(self) -> None:
        """Stop the worker threads (a check in progress finishes within its timeouts)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def authenticate(self, username: str, password: str) -> DirectoryUser | None:
        """The user if the directory accepts the password; None if not.

        DirectoryUnavailable when the directory cannot say, within `timeout` seconds.
        """
        if not username or len(username) > MAX_NAME_LENGTH or not password:
            # An empty password must never reach a bind: a simple bind with a DN and no
            # password is an "unauthenticated" bind that many servers answer with success.
            return None
        return await self._run(self._authenticate, username, password)

    async def lookup(self, username: str) -> list[tuple[str, dict[str, Any]]]:
        """The entries (DN, attributes) a sign-in as `username` would consider: one means it
        can sign in, none or two that it cannot. DirectoryUnavailable when the directory
        cannot say."""
        return await self._run(self._lookup, username)

    async def test_connection(self) -> tuple[bool, str]:
        """(ok, one sentence for the administrator): binds as configured, looks at base_dn."""
        try:
            return await self._run(self._test_connection)
        except DirectoryUnavailable as exc:
            return False, str(exc)

    # --- in the event loop

    async def _run(self, func: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._guarded, func, *args)
        try:
            async with asyncio.timeout(self.settings.timeout):
                return await future
        except TimeoutError:
            raise DirectoryUnavailable(
                f"No answer from the directory at {self.settings.url} "
                f"within {self.settings.timeout:g} s."
            ) from None
        except _Refused as exc:
            raise DirectoryUnavailable(str(exc)) from None

    # --- in a worker thread

    def _guarded(self, func: Callable[..., _T], *args: Any) -> _T:
        try:
            return func(*args)
        except _Refused:
            raise
        except (LDAPException, OSError) as exc:
            # ldap3 raises even with raise_exceptions=False when the socket fails mid-way.
            raise _Refused(self._failure(exc, "Lost the connection to")) from None
        except Exception as exc:
            # ldap3's decoder fails with KeyError, IndexError... on bytes that are not LDAP
            # (a url pointing at some other service). Logged in full in case it is ours.
            log.warning(
                "directory: unexpected error talking to %s", self.settings.url, exc_info=True
            )
            raise _Refused(
                f"The server at {self.settings.url} did not answer like an LDAP directory "
                f"({type(exc).__name__}: {exc})."
            ) from None

    def _authenticate(self, username: str, password: str) -> DirectoryUser | None:
        settings = self.settings
        with self._service_connection() as conn:
            entries = self._find(conn, username)
        if len(entries) != 1:
            if entries:
                log.warning(
                    "directory: %d entries match %s=%r; refusing an ambiguous name",
                    len(entries),
                    settings.search_attribute,
                    username,
                )
            else:
                log.info("directory: no entry for %s=%r", settings.search_attribute, username)
            return None
        dn, attributes = entries[0]
        with self._connection(dn, password) as conn:
            if not self._bind(conn, service=False):
                log.info("directory: password refused for %s", dn)
                return None
        return DirectoryUser(
            username=_canonical_name(attributes, settings.search_attribute, username),
            dn=dn,
            display_name=_first(attributes, _DISPLAY_NAME),
            email=_first(attributes, _EMAIL),
            department=_first(attributes, _DEPARTMENT),
        )

    def _test_connection(self) -> tuple[bool, str]:
        settings = self.settings
        who = settings.bind_dn or "anonymous"
        with self._service_connection() as conn:
            conn.search(
                settings.base_dn,
                "(objectClass=*)",
                search_scope=BASE,
                attributes=["1.1"],
                time_limit=self._time_limit,
            )
            if conn.result["result"] == _NO_SUCH_OBJECT:
                return False, (
                    f"The base DN {settings.base_dn} does not exist on {settings.url} "
                    f"(or {who} may not read it)."
                )
            self._check_result(conn, "looking up the base DN")
            search_filter = self._filter("*")
            conn.search(
                settings.base_dn,
                search_filter,
                search_scope=SUBTREE,
                attributes=["1.1"],
                size_limit=1,
                time_limit=self._time_limit,
            )
            found = any(r.get("type") == "searchResEntry" for r in conn.response or ())
        tls = " with StartTLS" if settings.starttls else ""
        if not found:
            return False, (
                f"Connected to {settings.url}{tls} as {who}, but no entry under "
                f"{settings.base_dn} matches {search_filter}: check search_attribute and filter."
            )
        return True, (
            f"Connected to {settings.url}{tls} as {who}; {settings.base_dn} exists and has "
            f"entries matching {search_filter}."
        )

    def _find(self, conn: Connection, username: str) -> list[tuple[str, dict[str, Any]]]:
        settings = self.settings
        conn.search(
            settings.base_dn,
            self._filter(escape_filter_chars(username)),
            search_scope=SUBTREE,
            attributes=[settings.search_attribute, *_DISPLAY_NAME, *_EMAIL, *_DEPARTMENT],
            size_limit=2,  # two are enough to know the name is ambiguous
            time_limit=self._time_limit,
        )
        if conn.result["result"] != _SIZE_LIMIT_EXCEEDED:
            self._check_result(conn, "searching for the user")
        # References (AD's continuation referrals) are not followed: only entries count.
        return [
            (str(r["dn"]), dict(r.get("attributes") or {}))
            for r in conn.response or ()
            if r.get("type") == "searchResEntry"
        ]

    def _lookup(self, username: str) -> list[tuple[str, dict[str, Any]]]:
        with self._service_connection() as conn:
            return self._find(conn, username)

    def _filter(self, escaped_value: str) -> str:
        return f"(&({self.settings.search_attribute}={escaped_value}){self.settings.filter})"

    @property
    def _time_limit(self) -> int:
        return max(1, math.ceil(self.settings.timeout))

    @contextmanager
    def _service_connection(self) -> Iterator[Connection]:
        settings = self.settings
        password = self._bind_password() if settings.bind_dn else None
        with self._connection(settings.bind_dn, password) as conn:
            if not self._bind(conn, service=True):
                who = settings.bind_dn or "an anonymous client"
                raise _Refused(
                    f"The directory at {settings.url} refused the bind as {who}: "
                    f"{_result_text(conn)}."
                )
            yield conn

    def _bind_password(self) -> str:
        if self._given_password is not None:
            return self._given_password
        path = self.settings.bind_password_file
        assert path is not None
        try:
            secret = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise _Refused(f"Cannot read bind_password_file {path}: {reason}.") from None
        secret = secret.rstrip("\r\n")  # the newline editors add; other spaces are the password's
        if not secret:
            raise _Refused(f"bind_password_file {path} is empty.")
        return secret

    @contextmanager
    def _connection(self, user: str | None, password: str | None) -> Iterator[Connection]:
        """An open (and, with starttls, encrypted) connection, not yet bound."""
        settings = self.settings
        server = Server(
            self._host,
            port=self._port,
            use_ssl=self._use_ssl,
            tls=self._tls() if settings.encrypted else None,
            get_info=NONE,
            connect_timeout=settings.timeout,
        )
        conn = Connection(
            server,
            user=user,
            password=password,
            authentication=SIMPLE if user else ANONYMOUS,
            client_strategy=SYNC,
            auto_bind=False,
            auto_referrals=False,
            check_names=False,  # send the DN exactly as the directory returned it
            read_only=True,
            raise_exceptions=False,
            # ldap3 2.9.1 packs this into SO_RCVTIMEO with struct 'LL': it must be an int.
            receive_timeout=self._time_limit,
        )
        try:
            try:
                conn.open()
                if settings.starttls:
                    conn.start_tls()
            except (LDAPException, OSError) as exc:
                raise _Refused(self._failure(exc, "Cannot reach")) from None
            yield conn
        finally:
            try:
                conn.unbind()
            except (LDAPException, OSError):
                pass  # the server is gone or unwell: nothing to release on its side

    def _tls(self) -> Tls:
        settings = self.settings
        try:
            return Tls(
                validate=ssl.CERT_REQUIRED if settings.tls_verify else ssl.CERT_NONE,
                ca_certs_file=str(settings.ca_file) if settings.ca_file else None,
            )
        except LDAPException:
            raise _Refused(f"Cannot read ca_file {settings.ca_file}.") from None

    def _bind(self, conn: Connection, *, service: bool) -> bool:
        """True if bound. False if refused (for a user); _Refused if the directory cannot say."""
        if conn.bind():
            return True
        code = conn.result.get("result") if conn.result else None
        if service or code in _BIND_REFUSALS:
            return False
        raise _Refused(
            f"The directory at {self.settings.url} could not check a password: "
            f"{_result_text(conn)}."
        )

    def _check_result(self, conn: Connection, doing: str) -> None:
        if conn.result["result"] == _SUCCESS:
            return
        if conn.result["result"] == _NO_SUCH_OBJECT:
            raise _Refused(
                f"The base DN {self.settings.base_dn} does not exist on {self.settings.url} "
                f"(or {self.settings.bind_dn or 'anonymous'} may not read it)."
            )
        raise _Refused(
            f"The directory at {self.settings.url} failed {doing}: {_result_text(conn)}."
        )

    def _failure(self, exc: BaseException, what: str) -> str:
        reason = _reason(exc)
        if "timed out" in reason or isinstance(exc, TimeoutError):
            return (
                f"No answer from the directory at {self.settings.url} "
                f"within {self.settings.timeout:g} s."
            )
        return f"{what} the directory at {self.settings.url}: {reason}."


def _reason(exc: BaseException) -> str:
    """The innermost useful words of an ldap3 exception (it nests socket errors in lists)."""
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "TLS certificate verification failed (check ca_file)"
    if "doesn't match any name" in text:
        return "the TLS certificate does not name this host"
    if "invalid server address" in text:
        return "cannot resolve the host name"
    match = re.search(r"\[Errno -?\d+\] ([^'\]\"]+)", text)
    if match:
        return match.group(1).strip().rstrip(")")
    return text.rstrip(".") or type(exc).__name__


def _result_text(conn: Connection) -> str:
    result = conn.result or {}
    description = str(result.get("description") or "no result")
    message = str(result.get("message") or "").strip()
    return f"{description} ({message})" if message else description


def _values(attributes: Mapping[str, Any], name: str) -> Sequence[Any]:
    # Without a schema, ldap3 keeps the server's spelling of attribute names: match any case.
    for key, value in attributes.items():
        if key.lower() == name.lower():
            return value if isinstance(value, list | tuple) else [value]
    return []


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _first(attributes: Mapping[str, Any], names: Sequence[str]) -> str | None:
    for name in names:
        for value in _values(attributes, name):
            text = _text(value).strip()
            if text:
                return text
    return None


def _canonical_name(attributes: Mapping[str, Any], attribute: str, typed: str) -> str:
    """The directory's own spelling of the name, else the name as typed.

    The directory matched the entry by this attribute with its own rules (case, and the
    "insignificant spaces" of RFC 4518: " Alice " finds alice), so its value is the name; of a
    multi-valued attribute, the value that equals the typed name but for case and spaces.
    """
    values = [_text(value) for value in _values(attributes, attribute)]
    if len(values) > 1:
        values = [v for v in values if v.strip().casefold() == typed.strip().casefold()]
    if len(values) == 1 and 0 < len(values[0]) <= MAX_NAME_LENGTH:
        return values[0]
    return typed
