"""What a printer or a printer group made in the console must satisfy: the config's own rules
for names, addresses, auth modes and required fields, plus what only a running set can say
(names taken, printers in use). Pure: a list of problems, one per field, no IO.

Problems carry a code (the web console words and translates them) and an English message
(for logs and the CLI)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..config import (
    AUTH_MODES,
    REQUIRABLE_FIELDS,
    RESERVED_NAMES,
    SNMP_AUTH,
    SNMP_PRIV,
    SNMP_VERSIONS,
    ConfigError,
    PrinterConfig,
    QueueConfig,
    SnmpAccess,
    _check_name,
)
from ..store.printer_setup import TOUCH_POINTS

NETWORK_SCHEMES = ("ipp", "ipps", "http", "https")
MAX_TEXT = 255

MESSAGES = {
    "name-format": "use letters, digits, '.', '_' or '-' (at most 100), starting with a letter"
    " or digit",
    "name-reserved": "this name is reserved",
    "name-taken": "this name is already taken",
    "uri-scheme": "the address must be ipp://, ipps://, http://, https:// or file:",
    "uri-host": "the address names no host",
    "uri-file": "a virtual printer writes inside printgate's data directory only",
    "auth-mode": "unknown authentication mode",
    "require": "only project and department can be required",
    "touch-point": "unknown submission path",
    "no-printer": "a group needs at least one printer",
    "unknown-printer": "no such printer: {detail}",
    "member-twice": "a printer is in the group twice: {detail}",
    "in-use": "used by the groups {detail}: take it out of them first",
    "locked": "managed in printgate.toml",
    "not-found": "no such printer or group",
    "busy": "{detail} jobs are not finished yet: try again when they are",
    "text": "at most 255 characters, without control characters",
    "snmp-version": "SNMP version 1, 2c or 3",
    "snmp-user": "SNMPv3 needs a user",
    "snmp-auth": "unknown SNMPv3 authentication protocol",
    "snmp-priv": "unknown SNMPv3 privacy protocol",
    "snmp-priv-needs-auth": "SNMPv3 privacy needs authentication too",
    "snmp-port": "a port between 1 and 65535",
}


@dataclass(frozen=True)
class Problem:
    field: str
    code: str  # a key of MESSAGES
    detail: str = ""

    def __str__(self) -> str:
        return MESSAGES[self.code].format(detail=self.detail)


class Invalid(Exception):
    """A change refused; nothing of it was saved or applied."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.field}: {p}" for p in problems))
        self.problems = problems

    def by_field(self) -> dict[str, Problem]:
        found: dict[str, Problem] = {}
        for problem in self.problems:
            found.setdefault(problem.field, problem)
        return found


def printer_uri(text: str) -> str:
    """What the person typed as "URI or host": a bare host (with or without a port) is an
    IPP Everywhere printer's usual address."""
    text = text.strip()
    if "://" in text or text.startswith("file:"):
        return text
    return f"ipp://{text}/ipp/print" if text else ""


def name_problems(name: str, field: str = "name") -> list[Problem]:
    try:
        _check_name(name, field)
    except ConfigError:
        code = "name-reserved" if name.lower() in RESERVED_NAMES else "name-format"
        return [Problem(field, code)]
    return []


def text_problems(value: str, field: str) -> list[Problem]:
    if len(value) > MAX_TEXT or not value.isprintable():
        return [Problem(field, "text")]
    return []


def uri_problems(uri: str, data_dir: Path, field: str = "uri") -> list[Problem]:
    parts = urlsplit(uri)
    if parts.scheme == "file":
        # The console must not become a way to write files anywhere on the machine.
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(data_dir.resolve()):
            return [Problem(field, "uri-file")]
        return []
    if parts.scheme not in NETWORK_SCHEMES:
        return [Problem(field, "uri-scheme")]
    try:
        port = parts.port
    except ValueError:
        return [Problem(field, "uri-host")]
    if not parts.hostname or (port is not None and not 0 < port < 65536):
        return [Problem(field, "uri-host")]
    return []


def snmp_problems(access: SnmpAccess | None) -> list[Problem]:
    if access is None:
        return []
    problems = []
    if access.version not in SNMP_VERSIONS:
        problems.append(Problem("snmp_version", "snmp-version"))
    if access.version == "3" and not access.user:
        problems.append(Problem("snmp_user", "snmp-user"))
    if access.auth_protocol.upper() not in SNMP_AUTH:
        problems.append(Problem("snmp_auth_protocol", "snmp-auth"))
    if access.priv_protocol.upper() not in SNMP_PRIV:
        problems.append(Problem("snmp_priv_protocol", "snmp-priv"))
    elif access.priv_protocol and not access.auth_protocol:
        problems.append(Problem("snmp_priv_protocol", "snmp-priv-needs-auth"))
    if not 0 < access.port < 65536:
        problems.append(Problem("snmp_port", "snmp-port"))
    return problems


def printer_problems(
    printer: PrinterConfig, taken: Collection[str], data_dir: Path
) -> list[Problem]:
    """taken: the names of the other printers."""
    problems = name_problems(printer.name)
    if not problems and printer.name in taken:
        problems.append(Problem("name", "name-taken"))
    return [*problems, *uri_problems(printer.uri, data_dir), *snmp_problems(printer.snmp)]


def group_problems(
    group: QueueConfig,
    touch_points: Collection[str],
    taken: Collection[str],
    printers: Collection[str],
) -> list[Problem]:
    """taken: the names of the other groups; printers: every printer's name."""
    problems = name_problems(group.name)
    if not problems and group.name in taken:
        problems.append(Problem("name", "name-taken"))
    if not group.printers:
        problems.append(Problem("printers", "no-printer"))
    unknown = [p for p in group.printers if p not in printers]
    if unknown:
        problems.append(Problem("printers", "unknown-printer", ", ".join(unknown)))
    twice = sorted({p for p in group.printers if group.printers.count(p) > 1})
    if twice:
        problems.append(Problem("printers", "member-twice", ", ".join(twice)))
    if group.auth not in AUTH_MODES:
        problems.append(Problem("auth", "auth-mode"))
    if any(item not in REQUIRABLE_FIELDS for item in group.require):
        problems.append(Problem("require", "require"))
    if any(point not in TOUCH_POINTS for point in touch_points):
        problems.append(Problem("touch_points", "touch-point"))
    problems += text_problems(group.info, "info") + text_problems(group.location, "location")
    return problems


def in_use(printer: str, groups: Mapping[str, QueueConfig]) -> list[str]:
    """The groups that have this printer as a member."""
    return sorted(name for name, group in groups.items() if printer in group.printers)
