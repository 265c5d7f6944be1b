"""[directory]: the LDAP / Active Directory settings, checked when built."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError

LDAP_PORTS = {"ldap": 389, "ldaps": 636}
# An attribute description: a name (RFC 4512 keystring) or a numeric OID.
_ATTRIBUTE_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$")


@dataclass(frozen=True)
class DirectoryConfig:
    """[directory]: LDAP / Active Directory for queues with auth = "directory". Checked when
    built, so a DirectoryConfig is always usable (empty strings in the file count as absent)."""

    url: str  # ldap://host[:port] or ldaps://host[:port]
    base_dn: str
    search_attribute: str
    filter: str = ""
    starttls: bool = False
    bind_dn: str | None = None
    bind_password_file: Path | None = None  # read at each bind, so a new secret needs no restart
    timeout: float = 5.0
    ca_file: Path | None = None
    tls_verify: bool = True

    def __post_init__(self) -> None:
        _check_directory(self)

    @property
    def endpoint(self) -> tuple[bool, str, int]:  # (use_ssl, host, port) of the url
        return _split_ldap_url(self.url)

    @property
    def encrypted(self) -> bool:
        return self.endpoint[0] or self.starttls


def _bad(key: str, problem: str) -> ConfigError:
    return ConfigError(f"[directory] {key}: {problem}")


def _split_ldap_url(url: str) -> tuple[bool, str, int]:
    """(use_ssl, host, port) of an ldap:// or ldaps:// URL; ConfigError naming `url` if not."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in LDAP_PORTS:
        raise _bad("url", f"must start with ldap:// or ldaps:// (got {url!r})")
    try:
        port = parts.port or LDAP_PORTS[scheme]
    except ValueError:
        raise _bad("url", f"bad port in {url!r}") from None
    if not parts.hostname:
        raise _bad("url", f"needs a host name (got {url!r})")
    if parts.username is not None or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _bad("url", f"must be just scheme://host[:port] (got {url!r})")
    return scheme == "ldaps", parts.hostname, port


def _check_directory(directory: DirectoryConfig) -> None:
    # ldap3 parses DNs and filters; imported here, as only a configured directory needs it.
    from ldap3.core.exceptions import LDAPInvalidDnError, LDAPInvalidFilterError
    from ldap3.operation.search import parse_filter
    from ldap3.utils.dn import parse_dn

    if directory.endpoint[0] and directory.starttls:
        raise _bad("starttls", "use either an ldaps:// url or starttls = true, not both")
    try:
        parse_dn(directory.base_dn)
    except LDAPInvalidDnError:
        problem = f"is not a distinguished name (got {directory.base_dn!r})"
        raise _bad("base_dn", problem if directory.base_dn.strip() else "is empty") from None
    if not _ATTRIBUTE_RE.match(directory.search_attribute):
        example = "an attribute name such as sAMAccountName or uid"
        raise _bad("search_attribute", f"must be {example} (got {directory.search_attribute!r})")
    extra, depth = directory.filter, 0
    for i, char in enumerate(extra):
        depth += {"(": 1, ")": -1}.get(char, 0)
        # Escaped parentheses are \28 and \29, so a bare one always nests: reaching depth 0
        # before the end means two filters side by side, which would escape ldap.py's (& ...).
        if depth < 0 or (depth == 0) != (i == len(extra) - 1) or not extra.startswith("("):
            raise _bad("filter", f"must be one LDAP filter in parentheses (got {extra!r})")
    try:
        parse_filter(f"(&(objectClass=*){extra})", None, True, True, None, False)
    except LDAPInvalidFilterError as exc:
        raise _bad("filter", f"is not a valid LDAP filter: {exc} (got {extra!r})") from None
    if (directory.bind_dn is None) != (directory.bind_password_file is None):
        missing = "bind_password_file" if directory.bind_password_file is None else "bind_dn"
        raise _bad(missing, "bind_dn and bind_password_file go together (one is missing)")
    if directory.bind_dn is not None and not directory.bind_dn.isprintable():
        raise _bad("bind_dn", "must not contain control characters")
    if not 0 < directory.timeout <= 600:
        raise _bad("timeout", "must be more than 0 and at most 600 seconds")
    if directory.ca_file is not None and not directory.encrypted:
        raise _bad("ca_file", "is used only with an ldaps:// url or starttls = true")
