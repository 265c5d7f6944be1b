"""The one configuration object: loaded once from TOML, validated here, frozen, passed explicitly.

Every key is documented in conf/printgate.toml (tests/test_config.py checks that each field
below appears there). Unknown keys are errors: a typo must not silently fall back to a default.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

AUTH_MODES = ("none", "username", "password", "list", "list-password", "directory")
REQUIRABLE_FIELDS = ("project", "department")
RESERVED_NAMES = frozenset({"guest", "others", "service", "unknown"})
SYSTEM_CONFIG = Path("/etc/printgate/printgate.toml")
DEFAULT_PORT = 8631
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ConfigError(ValueError):
    """One clear line saying what is wrong with the configuration and where."""


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


@dataclass(frozen=True)
class JobsConfig:
    retry_initial_delay: float = 2.0
    retry_max_delay: float = 60.0
    retry_window: float = 86400.0
    monitor_interval: float = 1.0
    printer_refresh_interval: float = 300.0
    hold_expiry: float = 14400.0


@dataclass(frozen=True)
class AnalysisConfig:
    workers: int = 0  # not set: one less than the CPUs
    timeout: float = 120.0
    memory_limit_mb: int = 1024
    resolution: float = 72.0
    lines_max_coverage: float = 0.15
    low_density_max_coverage: float = 0.60


@dataclass(frozen=True)
class PrinterConfig:
    name: str
    uri: str
    graceful_failover: bool = True
    snmp: Mapping[str, Any] = field(default_factory=dict)


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
    directory: Mapping[str, Any] = field(default_factory=dict)
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
        "server",
        "database",
        "web",
        "jobs",
        "analysis",
        "dns_sd",
        "directory",
        "printers",
        "queues",
    }
    _no_unknown(raw, known, "top level")
    server = _section(ServerConfig, raw.get("server", {}), "[server]")
    if not server.listen:
        raise ConfigError("[server] listen needs at least one host:port")
    for address in server.listen:
        split_address(address)
    _check_tls(server)
    printers = tuple(
        _section(PrinterConfig, p, f"[[printers]] #{i + 1}")
        for i, p in enumerate(_table_list(raw, "printers"))
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
        directory=dict(raw.get("directory", {})),
        printers=printers,
        queues=queues,
        source=source,
    )
    _check_references(config)
    return config


def _analysis(table: Any) -> AnalysisConfig:
    analysis: AnalysisConfig = _section(AnalysisConfig, table, "[analysis]")
    if not analysis.lines_max_coverage < analysis.low_density_max_coverage:
        raise ConfigError("[analysis] lines_max_coverage must be below low_density_max_coverage")
    return analysis


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
    from dataclasses import MISSING

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
    if kind.startswith("Mapping"):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        return dict(value)
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
