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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ldap3 import ANONYMOUS, BASE, NONE, SIMPLE, SUBTREE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPInvalidDnError, LDAPInvalidFilterError
from ldap3.operation.search import parse_filter
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

__all__ = [
    "MAX_NAME_LENGTH",
    "DirectorySettings",
    "DirectoryUnavailable",
    "DirectoryUser",
    "LdapDirectory",
]

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100
DEFAULT_TIMEOUT = 5.0
MAX_TIMEOUT = 600.0
_DEFAULT_PORTS = {"ldap": 389, "ldaps": 636}
_KEYS = (
    "url",
    "starttls",
    "base_dn",
    "search_attribute",
    "filter",
    "bind_dn",
    "bind_password_file",
    "timeout",
    "ca_file",
    "tls_verify",
)
# An attribute description: a name (RFC 4512 keystring) or a numeric OID.
_ATTRIBUTE_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$")

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


def _bad(key: str, problem: str) -> ValueError:
    return ValueError(f"[directory] {key}: {problem}")


def _split_url(url: str) -> tuple[bool, str, int]:
    """(use_ssl, host, port) of an ldap:// or ldaps:// URL; ValueError naming `url` if not."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise _bad("url", f"must start with ldap:// or ldaps:// (got {url!r})")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise _bad("url", f"bad port in {url!r}") from None
    if not parts.hostname:
        raise _bad("url", f"needs a host name (got {url!r})")
    if parts.username is not None or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _bad("url", f"must be just scheme://host[:port] (got {url!r})")
    return scheme == "ldaps", parts.hostname, port


def _check_filter(extra: str) -> None:
    if not (extra.startswith("(") and extra.endswith(")")):
        raise _bad("filter", f"must be one LDAP filter in parentheses (got {extra!r})")
    depth = 0
    for i, char in enumerate(extra):
        depth += {"(": 1, ")": -1}.get(char, 0)
        # Escaped parentheses are \28 and \29, so a bare one always nests: reaching depth 0
        # before the end means two filters side by side, which would escape the (& ...) below.
        if depth < 0 or (depth == 0 and i < len(extra) - 1):
            raise _bad("filter", f"must be one LDAP filter in parentheses (got {extra!r})")
    try:
        parse_filter(f"(&(objectClass=*){extra})", None, True, True, None, False)
    except LDAPInvalidFilterError as exc:
        raise _bad("filter", f"is not a valid LDAP filter: {exc} (got {extra!r})") from None


@dataclass(frozen=True)
class DirectorySettings:
    """The `[directory]` table, validated. Empty strings count as absent."""

    url: str
    base_dn: str
    search_attribute: str
    filter: str = ""
    starttls: bool = False
    bind_dn: str | None = None
    bind_password_file: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    ca_file: Path | None = None
    tls_verify: bool = True

    def __post_init__(self) -> None:
        use_ssl, _, _ = _split_url(self.url)
        if self.starttls and use_ssl:
            raise _bad("starttls", "use either an ldaps:// url or starttls = true, not both")
        if not self.base_dn.strip():
            raise _bad("base_dn", "must not be empty")
        try:
            parse_dn(self.base_dn)
        except LDAPInvalidDnError:
            raise _bad("base_dn", f"is not a distinguished name (got {self.base_dn!r})") from None
        if not _ATTRIBUTE_RE.match(self.search_attribute):
            raise _bad(
                "search_attribute",
                f"must be an attribute name such as sAMAccountName or uid "
                f"(got {self.search_attribute!r})",
            )
        if self.filter:
            _check_filter(self.filter)
        if (self.bind_dn is None) != (self.bind_password_file is None):
            missing = "bind_password_file" if self.bind_password_file is None else "bind_dn"
            raise _bad(missing, "bind_dn and bind_password_file go together (one is missing)")
        if self.bind_dn is not None and not self.bind_dn.isprintable():
            raise _bad("bind_dn", "must not contain control characters")
        if not 0 < self.timeout <= MAX_TIMEOUT:
            raise _bad("timeout", f"must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
        if self.ca_file is not None and not self.encrypted:
            raise _bad("ca_file", "is used only with an ldaps:// url or starttls = true")

    @classmethod
    def from_config(cls, mapping: Mapping[str, Any]) -> DirectorySettings:
        """Build from the config's `[directory]` table; ValueError naming the bad key."""
        for key in mapping:
            if key not in _KEYS:
                raise _bad(key, f"unknown key (known: {', '.join(_KEYS)})")
        for key in ("url", "base_dn", "search_attribute"):
            if not mapping.get(key):
                raise _bad(key, "is required")
        bind_password_file = _string(mapping, "bind_password_file")
        ca_file = _string(mapping, "ca_file")
        return cls(
            url=_string(mapping, "url") or "",
            base_dn=_string(mapping, "base_dn") or "",
            search_attribute=_string(mapping, "search_attribute") or "",
            filter=_string(mapping, "filter") or "",
            starttls=_boolean(mapping, "starttls", False),
            bind_dn=_string(mapping, "bind_dn"),
            bind_password_file=Path(bind_password_file) if bind_password_file else None,
            timeout=_number(mapping, "timeout", DEFAULT_TIMEOUT),
            ca_file=Path(ca_file) if ca_file else None,
            tls_verify=_boolean(mapping, "tls_verify", True),
        )

    @property
    def use_ssl(self) -> bool:
        return _split_url(self.url)[0]

    @property
    def host(self) -> str:
        return _split_url(self.url)[1]

    @property
    def port(self) -> int:
        return _split_url(self.url)[2]

    @property
    def encrypted(self) -> bool:
        return self.use_ssl or self.starttls


def _string(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(key, f"expected a string (got {value!r})")
    return value


def _boolean(mapping: Mapping[str, Any], key: str, default: bool) -> bool:
    value = mapping.get(key, default)
    if not isinstance(value, bool):
        raise _bad(key, f"expected true or false (got {value!r})")
    return value


def _number(mapping: Mapping[str, Any], key: str, default: float) -> float:
    value = mapping.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(key, f"expected a number of seconds (got {value!r})")
    if not math.isfinite(value):
        raise _bad(key, f"expected a finite number of seconds (got {value!r})")
    return float(value)


class _Refused(Exception):
    """Inside the worker thread: the directory could not check (becomes DirectoryUnavailable)."""


_T = TypeVar("_T")


class LdapDirectory:
    """Checks user names and passwords against one directory server."""

    def __init__(self, settings: DirectorySettings, *, max_threads: int = 8) -> None:
        self.settings = settings
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
            settings.host,
            port=settings.port,
            use_ssl=settings.use_ssl,
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
