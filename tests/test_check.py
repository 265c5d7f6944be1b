"""printgate check: one line per check against the real things it checks (a running printgate,
ippeveprinter over IPP, net-snmp's snmpd over SNMP, avahi for DNS-SD); non-zero when one fails;
--bundle writes a support bundle without secrets."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.peers import (
    IppEvePrinter,
    Printgate,
    _Process,
    find_binary,
    free_port,
    toml_dumps,
    wait_for,
)

COMMUNITY = "s3cret-community"


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[int]:
    """net-snmp's snmpd on a free UDP port, answering COMMUNITY; its port."""
    port = free_port()
    conf = tmp_path / "snmpd.conf"
    conf.write_text(
        f"agentAddress udp:127.0.0.1:{port}\nrocommunity {COMMUNITY} 127.0.0.1\n"
        "sysDescr printgate test agent\n"
    )
    argv = [find_binary("snmpd"), "-f", "-Lo", "-C", "-c", str(conf), "-p", str(tmp_path / "pid")]
    proc = _Process(argv, tmp_path / "snmpd.log", tmp_path, {"PATH": "/usr/bin:/bin", "MIBS": ""})
    try:
        wait_for(
            lambda: "NET-SNMP version" in (tmp_path / "snmpd.log").read_text(), 10, what="snmpd"
        )
        yield port
    finally:
        proc.terminate(5)


def check(gw: Printgate, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "check", *args, "--config", str(gw.config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_reports_each_component_and_fails_when_one_is_down(
    printgate_factory: Callable[..., Printgate],
    ippeveprinter: IppEvePrinter,
    snmpd: int,
    tmp_path: Path,
) -> None:
    gw = printgate_factory(
        {
            "dns_sd": {"advertise": True},
            "printers": [
                {
                    "name": "eve",
                    "uri": ippeveprinter.uri,
                    "snmp": {"version": "2c", "community": COMMUNITY, "port": snmpd},
                }
            ],
            "queues": [{"name": f"check-{free_port()}", "printers": ["eve"]}],
        }
    )
    queue = gw.config["queues"][0]["name"]
    # The adverts take a moment to appear; the first run where every check passes is the one
    # looked at (running it again would ask the network again, on a loaded machine too).
    result = wait_for(
        lambda: (run := check(gw)).returncode == 0 and run, 30, interval=1, what="every check"
    )
    lines = result.stdout.splitlines()
    names = [line.split(":")[0].split(None, 1)[1] for line in lines]
    assert names == [
        "versions", "config", "store", "directory", "printer eve ipp", "printer eve snmp",
        f"dns-sd {queue}",
    ], lines  # fmt: skip
    assert all(line.startswith("ok") for line in lines), lines
    assert "printgate test agent" in result.stdout

    bundle = tmp_path / "support.tar.gz"
    ippeveprinter.stop()
    failed = check(gw, "eve", "--bundle", str(bundle))
    assert failed.returncode == 1
    assert any(x.startswith("FAIL  printer eve ipp") for x in failed.stdout.splitlines())
    assert "dns-sd" not in failed.stdout  # only the printer asked for
    with tarfile.open(bundle) as archive:
        names = set(archive.getnames())
        config = archive.extractfile("printgate-redacted.toml").read().decode()  # type: ignore[union-attr]
    assert {"check.txt", "printgate-redacted.toml", "journal.txt"} <= names
    assert COMMUNITY not in config and "<redacted>" in config

    gw.stop()
    stopped = check(gw)
    assert stopped.returncode == 1
    assert f"FAIL  dns-sd {queue}: not advertised" in stopped.stdout


def test_check_with_a_broken_config_is_one_failing_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nlisten = ['nowhere']\n")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.startswith("FAIL  config:") and len(result.stdout.splitlines()) == 1


def test_check_sees_the_directory_go_down(tmp_path: Path) -> None:
    from tests.slapd import READER_DN, READER_PASSWORD, Slapd

    secret = tmp_path / "ldap.secret"
    secret.write_text(READER_PASSWORD + "\n")
    with Slapd(tmp_path / "slapd") as directory:
        config = tmp_path / "printgate.toml"
        config.write_text(
            toml_dumps(
                {
                    "server": {
                        "listen": [f"127.0.0.1:{free_port()}"],
                        "data_dir": str(tmp_path / "d"),
                    },
                    "dns_sd": {"advertise": False},
                    "directory": {
                        "url": directory.url,
                        "base_dn": "dc=example,dc=org",
                        "search_attribute": "uid",
                        "bind_dn": READER_DN,
                        "bind_password_file": str(secret),
                        "timeout": 2.0,
                    },
                }
            )
        )

        def directory_line() -> str:
            result = subprocess.run(
                [sys.executable, "-m", "gateway", "check", "--config", str(config)],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            return next(x for x in result.stdout.splitlines() if " directory:" in x)

        assert directory_line().startswith("ok    directory")
        directory.stop()
        assert directory_line().startswith("FAIL  directory")
