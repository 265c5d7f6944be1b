"""The one configuration object: loaded once from TOML, validated here, frozen, passed explicitly.

Every key is documented in conf/printgate.toml (tests/test_config.py checks that each field
below appears there). Unknown keys are errors: a typo must not silently fall back to a default.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..schedule import parse_schedule
from .directory import DirectoryConfig as DirectoryConfig
from .directory import _bad
from .errors import ConfigError as ConfigError

AUTH_MODES = ("none", "username", "password", "list", "list-password", "directory")
REQUIRABLE_FIELDS = ("project", "department")
RESERVED_NAMES = frozenset({"guest", "others", "service", "unknown"})
SYSTEM_CONFIG = Path("/etc/printgate/printgate.toml")
DEFAULT_PORT = 8631
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ServerConfig:
    listen: tuple[str, ...] = ("0.0.0.0:631",)
    data_dir: Path = Path("/var/lib/printgate")
    max_document_bytes: int = 8 << 30
    max_attribute_bytes: int = 1 << 20
    shutdown_timeout: float = 20.0
    # TLS (ipps:// and https://): listeners of their own; cert/key empty -> self-signed.
    tls: bool = False
    tls_listen: tuple[str, ...] = ()
    tls_cert: str = ""
    tls_key: str = ""


@dataclass(frozen=True)
class DnsSdConfig:
    advertise: bool = True
    backend: str = "auto"  # auto | avahi | zeroconf
    host: str = ""  # the host name advertised; empty: this machine's


DNS_SD_BACKENDS = ("auto", "avahi", "zeroconf")


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = ""  # empty: SQLite in data_dir


@dataclass(frozen=True)
class WebConfig:
    listen: tuple[str, ...] = ()  # empty: the web UI shares the IPP listeners
    session_idle_minutes: int = 30
    session_lifetime_hours: int = 12
    require_totp_for_admins: bool = False
    # The console's address in mailed links ("forgot password"), e.g. "https://print.example.org";
    # empty: the address the request came to (fine when clients cannot forge the Host header).
    public_url: str = ""
    # /metrics: a bearer token read from this file, or a request from one of these addresses.
    metrics_token_file: str = ""
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    # My printing's web print: the largest document a person may upload, in MiB.
    web_print_max_mib: int = 50


@dataclass(frozen=True)
class JobsConfig:
    retry_initial_delay: float = 2.0
    retry_max_delay: float = 60.0
    retry_window: float = 86400.0
    monitor_interval: float = 1.0
    printer_refresh_interval: float = 300.0
    hold_expiry: float = 14400.0


SNMP_VERSIONS = ("1", "2c", "3")
SNMP_AUTH = ("", "MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
SNMP_PRIV = ("", "DES", "AES", "AES192", "AES256")
MAIL_SECURITY = ("none", "starttls", "ssl")
REPORT_FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class SnmpAccess:
    """How to reach one printer over SNMP (the `snmp = {...}` of a [[printers]] entry).
    host empty: the host of the printer's uri."""

    version: str = "2c"
    community: str = "public"
    host: str = ""
    port: int = 161
    user: str = ""
    auth_protocol: str = ""
    auth_password: str = ""
    priv_protocol: str = ""
    priv_password: str = ""
    context: str = ""


@dataclass(frozen=True)
class AnalysisConfig:
    workers: int = 0  # not set: one less than the CPUs
    timeout: float = 120.0
    memory_limit_mb: int = 1024
    resolution: float = 0.0  # dpi; 0: chosen per page size
    lines_max_coverage: float = 0.15
    low_density_max_coverage: float = 0.60


@dataclass(frozen=True)
class PrinterConfig:
    name: str
    uri: str
    graceful_failover: bool = True
    snmp: SnmpAccess | None = None


@dataclass(frozen=True)
class SnmpConfig:
    """Fleet monitoring: meter reads, supplies, alerts, discovery, meter reports."""

    poll_interval: float = 3600.0
    timeout: float = 2.0
    retries: int = 1
    concurrency: int = 50
    version: str = "2c"
    community: str = "public"
    port: int = 161
    devices: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    discover_schedule: str = "weekly mon,thu 14:00"
    low_supply_percent: int = 10
    supply_recovered_percent: int = 50
    stale_after: float = 604800.0
    drop_after: float = 3628800.0
    report_schedule: str = ""
    report_formats: tuple[str, ...] = ("xlsx",)
    discover_timeout: float = 1.0
    discover_concurrency: int = 256
    meter_check: bool = True


@dataclass(frozen=True)
class MailConfig:
    host: str = ""
    port: int = 25
    security: str = "starttls"
    username: str = ""
    password_file: str = ""
    sender: str = "printgate@localhost"
    to: tuple[str, ...] = ()
    max_attachment_bytes: int = 10 << 20
    timeout: float = 30.0


@dataclass(frozen=True)
class BackupConfig:
    schedule: str = ""  # empty: no scheduled backups
    directory: Path = Path("/var/backups/printgate")
    keep: int = 8
    notify: bool = True


@dataclass(frozen=True)
class ListsConfig:
    """Queue lists kept in step with CSV files on this machine ("Link this path")."""

    linked_dirs: tuple[str, ...] = ()  # absolute directories a linked file may be in; none: off
    linked_interval: float = 300.0  # seconds between reads of the linked files


@dataclass(frozen=True)
class QueueConfig:
    name: str
    printers: tuple[str, ...]
    auth: str = "none"
    require: tuple[str, ...] = ()
    allow_billable: bool = False
    allow_comment: bool = False
    info: str = ""
    location: str = ""


@dataclass(frozen=True)
class Config:
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    web: WebConfig = WebConfig()
    jobs: JobsConfig = JobsConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    dns_sd: DnsSdConfig = DnsSdConfig()
    directory: DirectoryConfig | None = None
    snmp: SnmpConfig = SnmpConfig()
    mail: MailConfig = MailConfig()
    backup: BackupConfig = BackupConfig()
    lists: ListsConfig = ListsConfig()
    printers: tuple[PrinterConfig, ...] = ()
    queues: tuple[QueueConfig, ...] = ()
    source: str = "embedded default"

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{self.server.data_dir / 'printgate.db'}"

    @property
    def spool_dir(self) -> Path:
        return self.server.data_dir / "spool"

    def printer(self, name: str) -> PrinterConfig:
        for printer in self.printers:
            if printer.name == name:
                return printer
        raise KeyError(name)


def embedded_default(base: Path | None = None) -> Config:
    """The no-config set-up: a `demo` queue on a virtual printer under ./printgate-data."""
    data_dir = (base or Path.cwd()) / "printgate-data"
    return Config(
        server=ServerConfig(listen=(f"127.0.0.1:{DEFAULT_PORT}",), data_dir=data_dir),
        printers=(PrinterConfig(name="virtual", uri=(data_dir / "output").as_uri()),),
        queues=(QueueConfig(name="demo", printers=("virtual",), info="printgate demo queue"),),
    )


def config_path(explicit: str | None) -> Path | None:
    """--config, then $PRINTGATE_CONFIG, then the system file; None means the embedded default."""
    if explicit:
        return Path(explicit)
    if os.environ.get("PRINTGATE_CONFIG"):
        return Path(os.environ["PRINTGATE_CONFIG"])
    if SYSTEM_CONFIG.exists():
        return SYSTEM_CONFIG
    return None


def load(explicit: str | None = None) -> Config:
    path = config_path(explicit)
    if path is None:
        return embedded_default()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from exc
    return parse(raw, source=str(path))


# --- parsing and validation -------------------------------------------------------------


def parse(raw: Mapping[str, Any], source: str = "<memory>") -> Config:
    known = {
        *("server", "database", "web", "jobs", "analysis", "dns_sd", "directory", "snmp"),
        *("mail", "backup", "printers", "queues"),
        "lists",
    }
    _no_unknown(raw, known, "top level")
    server = _section(ServerConfig, raw.get("server", {}), "[server]")
    if not server.listen:
        raise ConfigError("[server] listen needs at least one host:port")
    for address in server.listen:
        split_address(address)
    _check_tls(server)
    printers = tuple(
        _printer(p, f"[[printers]] #{i + 1}") for i, p in enumerate(_table_list(raw, "printers"))
    )
    queues = tuple(
        _section(QueueConfig, q, f"[[queues]] #{i + 1}")
        for i, q in enumerate(_table_list(raw, "queues"))
    )
    config = Config(
        server=server,
        database=_section(DatabaseConfig, raw.get("database", {}), "[database]"),
        web=_section(WebConfig, raw.get("web", {}), "[web]"),
        jobs=_section(JobsConfig, raw.get("jobs", {}), "[jobs]"),
        analysis=_analysis(raw.get("analysis", {})),
        dns_sd=_dns_sd(raw.get("dns_sd", {})),
        directory=_directory(raw.get("directory", {})),
        snmp=_snmp_section(raw.get("snmp", {})),
        mail=_mail_section(raw.get("mail", {})),
        backup=_backup_section(raw.get("backup", {})),
        lists=_lists_section(raw.get("lists", {})),
        printers=printers,
        queues=queues,
        source=source,
    )
    _check_references(config)
    if config.web.public_url and not config.web.public_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"[web] public_url must start with http:// or https:// (got {config.web.public_url!r})"
        )
    if not 1 <= config.web.web_print_max_mib <= 4096:
        raise ConfigError("[web] web_print_max_mib must be 1 to 4096")
    return config


def _analysis(table: Any) -> AnalysisConfig:
    analysis: AnalysisConfig = _section(AnalysisConfig, table, "[analysis]")
    if not analysis.lines_max_coverage < analysis.low_density_max_coverage:
        raise ConfigError("[analysis] lines_max_coverage must be below low_density_max_coverage")
    if not 0 <= analysis.resolution <= 1200:
        raise ConfigError("[analysis] resolution must be 0 (chosen per page size) to 1200 dpi")
    return analysis


def _printer(table: Mapping[str, Any], where: str) -> PrinterConfig:
    rest = {k: v for k, v in table.items() if k != "snmp"}
    printer: PrinterConfig = _section(PrinterConfig, rest, where)
    if "snmp" not in table:
        return printer
    access: SnmpAccess = _section(SnmpAccess, table["snmp"], f"{where} snmp")
    _check_snmp_access(access, f"{where} snmp")
    return replace(printer, snmp=access)


def _check_snmp_access(access: SnmpAccess, where: str) -> None:
    if access.version not in SNMP_VERSIONS:
        raise ConfigError(f"{where}: version must be one of {', '.join(SNMP_VERSIONS)}")
    if access.auth_protocol.upper() not in SNMP_AUTH:
        raise ConfigError(f"{where}: auth_protocol must be one of {', '.join(SNMP_AUTH[1:])}")
    if access.priv_protocol.upper() not in SNMP_PRIV:
        raise ConfigError(f"{where}: priv_protocol must be one of {', '.join(SNMP_PRIV[1:])}")
    if access.version == "3" and not access.user:
        raise ConfigError(f"{where}: SNMPv3 needs a user")
    if access.priv_protocol and not access.auth_protocol:
        raise ConfigError(f"{where}: SNMPv3 privacy needs authentication too")


def _snmp_section(table: Any) -> SnmpConfig:
    section: SnmpConfig = _section(SnmpConfig, table, "[snmp]")
    if section.version not in SNMP_VERSIONS[:2]:
        raise ConfigError("[snmp] version must be 1 or 2c (SNMPv3 is set per printer)")
    for network in section.networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as exc:
            raise ConfigError(f"[snmp] networks: {network!r} is not a CIDR network") from exc
    for name, spec in (
        ("discover_schedule", section.discover_schedule),
        ("report_schedule", section.report_schedule),
    ):
        if spec:
            try:
                parse_schedule(spec)
            except ValueError as exc:
                raise ConfigError(f"[snmp] {name}: {exc}") from exc
    for fmt in section.report_formats:
        if fmt not in REPORT_FORMATS:
            raise ConfigError(f"[snmp] report_formats takes {', '.join(REPORT_FORMATS)}")
    if not 0 < section.low_supply_percent < section.supply_recovered_percent <= 100:
        raise ConfigError("[snmp] needs 0 < low_supply_percent < supply_recovered_percent <= 100")
    if section.drop_after <= section.stale_after:
        raise ConfigError("[snmp] drop_after must be longer than stale_after")
    return section


def _mail_section(table: Any) -> MailConfig:
    section: MailConfig = _section(MailConfig, table, "[mail]")
    if section.security not in MAIL_SECURITY:
        raise ConfigError(f"[mail] security must be one of {', '.join(MAIL_SECURITY)}")
    for address in (section.sender, *section.to):
        if "@" not in address:
            raise ConfigError(f"[mail] {address!r} is not an email address")
    return section


def _backup_section(table: Any) -> BackupConfig:
    section: BackupConfig = _section(BackupConfig, table, "[backup]")
    if section.schedule:
        try:
            parse_schedule(section.schedule)
        except ValueError as exc:
            raise ConfigError(f"[backup] schedule: {exc}") from exc
    directory = section.directory.expanduser().absolute()
    if directory == Path(directory.anchor):
        raise ConfigError("[backup] directory: not the root directory; choose a folder")
    return section


def _lists_section(table: Any) -> ListsConfig:
    section: ListsConfig = _section(ListsConfig, table, "[lists]")
    for directory in section.linked_dirs:
        path = Path(directory)
        if not path.is_absolute() or path == Path(path.anchor):
            raise ConfigError(f"[lists] linked_dirs: {directory!r} must be an absolute folder")
    return section


def _directory(table: Any) -> DirectoryConfig | None:
    """The [directory] table; an empty or absent one means no directory."""
    if not isinstance(table, dict):
        raise ConfigError("[directory] must be a table")
    if not table:
        return None
    kinds = {f.name: str(f.type).removesuffix(" | None") for f in fields(DirectoryConfig)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in kinds:
            raise _bad(key, f"unknown key (known: {', '.join(kinds)})")
        if value != "":  # empty strings count as absent
            values[key] = _coerce(value, kinds[key], f"[directory] {key}")
    for key in ("url", "base_dn", "search_attribute"):
        if key not in values:
            raise _bad(key, "is required")
    return DirectoryConfig(**values)


def _check_tls(server: ServerConfig) -> None:
    for address in server.tls_listen:
        split_address(address)
    if server.tls and not server.tls_listen:
        raise ConfigError("[server] tls = true needs tls_listen (host:port for ipps/https)")
    if bool(server.tls_cert) != bool(server.tls_key):
        raise ConfigError("[server] tls_cert and tls_key go together: set both or neither")


def _dns_sd(table: Any) -> DnsSdConfig:
    section: DnsSdConfig = _section(DnsSdConfig, table, "[dns_sd]")
    if section.backend not in DNS_SD_BACKENDS:
        raise ConfigError(f"[dns_sd] backend must be one of {', '.join(DNS_SD_BACKENDS)}")
    return section


def _table_list(raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"[[{key}]] must be an array of tables")
    return value


def _no_unknown(table: Mapping[str, Any], known: set[str], where: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}")


def _section(cls: Any, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    specs = {f.name: f for f in fields(cls)}
    _no_unknown(table, set(specs), where)
    values: dict[str, Any] = {}
    for key, value in table.items():
        values[key] = _coerce(value, str(specs[key].type), f"{where} {key}")
    try:
        section = cls(**values)
    except TypeError as exc:
        missing = [n for n, f in specs.items() if n not in table and _required(f)]
        raise ConfigError(f"{where}: missing {', '.join(missing) or 'keys'}") from exc
    return section


def _required(f: Any) -> bool:
    return bool(f.default is MISSING and f.default_factory is MISSING)


def _coerce(value: Any, annotation: str, where: str) -> Any:
    kind = str(annotation)
    if kind == "Path":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: expected a path string")
        return Path(value)
    if kind == "tuple[str, ...]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings")
        return tuple(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{where}: expected a positive whole number")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{where}: expected a positive number")
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string")
        return value
    raise ConfigError(f"{where}: unsupported setting type {kind}")  # pragma: no cover


def _check_references(config: Config) -> None:
    printer_names: set[str] = set()
    for printer in config.printers:
        _check_name(printer.name, "[[printers]] name")
        if printer.name in printer_names:
            raise ConfigError(f"[[printers]] {printer.name!r} is defined twice")
        printer_names.add(printer.name)
        if not printer.uri.startswith(("ipp://", "ipps://", "http://", "https://", "file:/")):
            raise ConfigError(
                f"[[printers]] {printer.name!r}: uri must be ipp://, ipps:// or file:"
            )
    queue_names: set[str] = set()
    for queue in config.queues:
        _check_name(queue.name, "[[queues]] name")
        if queue.name in queue_names:
            raise ConfigError(f"[[queues]] {queue.name!r} is defined twice")
        queue_names.add(queue.name)
        if not queue.printers:
            raise ConfigError(f"[[queues]] {queue.name!r}: printers must name at least one printer")
        for name in queue.printers:
            if name not in printer_names:
                raise ConfigError(f"[[queues]] {queue.name!r}: unknown printer {name!r}")
        if queue.auth not in AUTH_MODES:
            raise ConfigError(
                f"[[queues]] {queue.name!r}: auth must be one of {', '.join(AUTH_MODES)}"
            )
        for item in queue.require:
            if item not in REQUIRABLE_FIELDS:
                raise ConfigError(
                    f"[[queues]] {queue.name!r}: require takes {', '.join(REQUIRABLE_FIELDS)}"
                )


def _check_name(name: str, where: str) -> None:
    if not _NAME_RE.match(name):
        raise ConfigError(f"{where} {name!r}: use letters, digits, '.', '_' or '-' (max 100)")
    if name.lower() in RESERVED_NAMES:
        raise ConfigError(f"{where} {name!r} is a reserved name")


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"[server] listen: {address!r} is not host:port")
    return host.strip("[]") or "0.0.0.0", int(port)
