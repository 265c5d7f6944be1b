"""A printgate listening on loopback only (the embedded default) advertises its queues on the
loopback interface alone, as cupsd does for queues it does not share, never on the LAN where
nothing answers; and `printgate check` asks the advertised address, so its verdict is what
ipptool finds there."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.peers import REPO_ROOT, Printgate, find_binary, wait_for

BOUND = 30.0


def avahi_interfaces(port: int) -> set[str]:
    """The interfaces avahi resolves a printgate advert on, by its port."""
    result = subprocess.run(
        [find_binary("avahi-browse"), "-r", "-p", "-t", "_ipp._tcp"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return {
        fields[1]
        for fields in (line.split(";") for line in result.stdout.splitlines())
        if len(fields) > 8 and fields[0] == "=" and fields[8] == str(port)
    }


def test_a_loopback_listener_is_advertised_on_loopback_alone(
    printgate_factory: Callable[..., Printgate], tmp_path: Path, dns_sd: None
) -> None:
    tag = uuid.uuid4().hex[:6]
    gw = printgate_factory(
        {
            "dns_sd": {"advertise": True, "backend": "avahi"},
            "printers": [{"name": "v", "uri": (tmp_path / "out").as_uri()}],
            "queues": [{"name": f"lo-{tag}", "printers": ["v"], "info": f"Loopback {tag}"}],
        }
    )
    assert gw.config["server"]["listen"][0].startswith("127.0.0.1:")
    interfaces = wait_for(lambda: avahi_interfaces(gw.port), BOUND, what="the advert")
    assert interfaces == {"lo"}, interfaces
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check", "--config", str(gw.config_path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO_ROOT,
    )  # fmt: skip
    line = next(x for x in result.stdout.splitlines() if f"dns-sd lo-{tag}" in x)
    # The advert's address on lo is the loopback one: check resolves it and asks it.
    assert line.startswith("ok") and "answers at ipp://127.0.0.1:" in line, result.stdout
    answered_at = line.rsplit("answers at ", 1)[1].strip()
    ipptool = subprocess.run(
        [find_binary("ipptool"), "-q", "-T", "5", answered_at, "get-printer-attributes.test"],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert ipptool.returncode == 0, ipptool.stderr


def test_what_ippfind_finds_of_a_loopback_listener_answers_ipptool(
    printgate_factory: Callable[..., Printgate], tmp_path: Path, dns_sd: None
) -> None:
    """A client's own discovery: every advert ippfind resolves (whatever address it names)
    is one ipptool reaches; an advert nobody could reach would fail here."""
    tag = uuid.uuid4().hex[:6]
    gw = printgate_factory(
        {
            "dns_sd": {"advertise": True, "backend": "avahi"},
            "printers": [{"name": "v", "uri": (tmp_path / "out").as_uri()}],
            "queues": [{"name": f"find-{tag}", "printers": ["v"], "info": f"Findable {tag}"}],
        }
    )

    def found() -> list[str] | None:
        result = subprocess.run(
            [find_binary("ippfind"), "-T", "3", "_ipp._tcp", "--name", f"Findable {tag}",
             "--print"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        uris = [line for line in result.stdout.splitlines() if line.startswith("ipp://")]
        return uris or None

    uris = wait_for(found, BOUND, what="ippfind to find the advert")
    assert all(f":{gw.port}/ipp/print/find-{tag}" in uri for uri in uris), uris
    for uri in uris:
        ipptool = subprocess.run(
            [find_binary("ipptool"), "-q", "-T", "5", uri, "get-printer-attributes.test"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert ipptool.returncode == 0, (uri, ipptool.stdout, ipptool.stderr)
