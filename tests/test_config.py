"""Config loading: every setting documented, bad input refused with one clear line."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from gateway import config
from gateway.config import ConfigError

EXAMPLE = Path(__file__).parent.parent / "conf" / "printgate.toml"

SECTIONS = {
    "server": config.ServerConfig,
    "database": config.DatabaseConfig,
    "web": config.WebConfig,
    "jobs": config.JobsConfig,
    "analysis": config.AnalysisConfig,
    "snmp": config.SnmpConfig,
    "mail": config.MailConfig,
    "dns_sd": config.DnsSdConfig,
    "directory": config.DirectoryConfig,
    "backup": config.BackupConfig,
    "lists": config.ListsConfig,
    "[printers]": config.PrinterConfig,
    "[queues]": config.QueueConfig,
}


def test_every_section_of_the_config_is_checked_here() -> None:
    sections = {f.name for f in dataclasses.fields(config.Config)} - {"source"}
    assert sections == {name.strip("[]") for name in SECTIONS}


def _documented_keys() -> dict[str, set[str]]:
    """Keys per section in the example, commented-out defaults included."""
    keys: dict[str, set[str]] = {}
    section = ""
    for line in EXAMPLE.read_text().splitlines():
        header = re.match(r"^#?\s*\[(\[?[a-z_]+\]?)\]", line)
        if header:
            section = header.group(1)
            keys.setdefault(section, set())
            continue
        key = re.match(r"^#?\s*([a-z_]+)\s*=", line)
        if key and section:
            keys[section].add(key.group(1))
    return keys


def test_every_setting_is_documented_in_the_example() -> None:
    documented = _documented_keys()
    for section, cls in SECTIONS.items():
        for field in dataclasses.fields(cls):
            assert field.name in documented.get(section, set()), (
                f"{section}.{field.name} is not documented in conf/printgate.toml"
            )


def test_every_printer_snmp_key_is_documented() -> None:
    text = EXAMPLE.read_text()
    for field in dataclasses.fields(config.SnmpAccess):
        assert re.search(rf"^#\s+{field.name} = ", text, re.M), field.name


def test_example_config_loads() -> None:
    loaded = config.parse(tomllib.loads(EXAMPLE.read_text()))
    assert loaded.queues[0].printers == ("designjet-1",)
    assert loaded.queues[0].require == ("project", "department")


def test_example_directory_loads() -> None:
    """The commented-out [directory] of the example, as an administrator would enable it."""
    text = EXAMPLE.read_text()
    block = text[text.index("# [directory]") : text.index("[snmp]")]
    lines = [line.removeprefix("# ") for line in block.splitlines()[1:] if "=" in line]
    enabled = "[directory]\n" + "\n".join(lines)
    directory = config.parse(tomllib.loads(enabled)).directory
    assert directory is not None
    assert directory.endpoint == (False, "dc.example.org", 389)
    assert directory.bind_password_file == Path("/etc/printgate/ldap.secret")
    assert directory.ca_file is None and directory.timeout == 5.0


def test_no_directory_table_means_no_directory() -> None:
    assert config.parse(_minimal()).directory is None
    assert config.parse({**_minimal(), "directory": {}}).directory is None


DIRECTORY = {
    "url": "ldap://dc.example.org",
    "base_dn": "dc=example,dc=org",
    "search_attribute": "uid",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bind_password": "s"}, "[directory] bind_password: unknown key (known: url, base_dn,"),
        ({"url": "http://dc.example.org"}, "[directory] url: must start with ldap:// or ldaps://"),
        ({"url": "ldap://dc:99999"}, "[directory] url: bad port in 'ldap://dc:99999'"),
        ({"base_dn": ""}, "[directory] base_dn: is required"),
        ({"timeout": "5"}, "[directory] timeout: expected a positive number"),
        ({"filter": "uid=x"}, "[directory] filter: must be one LDAP filter in parentheses"),
    ],
)
def test_bad_directory_fails_at_load(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    """[directory] is checked with the rest of the config, before anything starts."""
    path = tmp_path / "printgate.toml"
    table = ", ".join(f"{key} = {value!r}" for key, value in (DIRECTORY | change).items())
    path.write_text(f"directory = {{ {table} }}\n".replace("'", '"'))
    with pytest.raises(ConfigError) as raised:
        config.load(str(path))
    assert str(raised.value).startswith(message), raised.value


def _minimal(**queue: object) -> dict[str, object]:
    return {
        "server": {"listen": ["127.0.0.1:8631"], "data_dir": "/tmp/x"},
        "printers": [{"name": "p1", "uri": "ipp://127.0.0.1:1/ipp/print"}],
        "queues": [{"name": "q", "printers": ["p1"], **queue}],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"server": {"listen": ["nope"]}}, "is not host:port"),
        ({"server": {"bogus": 1}}, "unknown key 'bogus'"),
        ({"queues": [{"name": "q", "printers": ["missing"]}]}, "unknown printer 'missing'"),
        ({"queues": [{"name": "q", "printers": ["p1"], "auth": "magic"}]}, "auth must be one of"),
        ({"queues": [{"name": "Unknown", "printers": ["p1"]}]}, "reserved name"),
        ({"queues": [{"name": "q", "printers": []}]}, "at least one printer"),
        ({"printers": [{"name": "p1", "uri": "lpd://x"}]}, "uri must be"),
        ({"jobs": {"retry_window": -1}}, "positive number"),
        ({"queues": [{"name": "q"}]}, "missing printers"),
        ({"printers": [{"name": "p1", "uri": "ipp://x/", "snmp": {"version": "4"}}]}, "version"),
        ({"printers": [{"name": "p1", "uri": "ipp://x/", "snmp": {"version": "3"}}]}, "a user"),
        ({"printers": [{"name": "p1", "uri": "ipp://x/", "snmp": {"colour": 1}}]}, "'colour'"),
        ({"snmp": {"networks": ["10.0.0.0/33"]}}, "not a CIDR network"),
        ({"snmp": {"report_schedule": "sometimes"}}, "is not a schedule"),
        ({"snmp": {"low_supply_percent": 60}}, "low_supply_percent <"),
        ({"snmp": {"stale_after": 10.0, "drop_after": 5.0}}, "drop_after must be"),
        ({"mail": {"security": "tls"}}, "security must be one of"),
        ({"mail": {"to": ["nobody"]}}, "is not an email address"),
        ({"server": {"tls": True}}, "tls = true needs tls_listen"),
        ({"server": {"tls_cert": "/x.pem"}}, "tls_cert and tls_key go together"),
        ({"dns_sd": {"backend": "bonjour"}}, "backend must be one of"),
    ],
)
def test_bad_config_is_refused_with_a_clear_message(
    change: dict[str, object], message: str
) -> None:
    raw = _minimal()
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}  # type: ignore[dict-item]
        else:
            raw[key] = value
    with pytest.raises(ConfigError, match=re.escape(message)):
        config.parse(raw)


def test_embedded_default_is_the_demo_queue(tmp_path: Path) -> None:
    default = config.embedded_default(tmp_path)
    assert default.server.listen == ("127.0.0.1:8631",)
    assert default.queues[0].name == "demo"
    assert default.printers[0].uri == (tmp_path / "printgate-data" / "output").as_uri()
    assert default.database_url.endswith("printgate-data/printgate.db")


def test_config_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRINTGATE_CONFIG", str(tmp_path / "env.toml"))
    assert config.config_path("explicit.toml") == Path("explicit.toml")
    assert config.config_path(None) == tmp_path / "env.toml"


def test_unreadable_config_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        config.load(str(tmp_path / "absent.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(str(bad))
