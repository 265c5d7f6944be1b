"""A printgate listening on loopback only (the embedded default) advertises its queues where
they answer: on the loopback interface, as cupsd does for queues it does not share. Every
advert ippfind finds passes ipptool at the URI ippfind gives, and `printgate check` asks the
advertised address before it says ok."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.peers import REPO_ROOT, Printgate, find_binary, wait_for

BOUND = 30.0


def ippfind_lines(port: int, *expression: str) -> list[str]:
    argv = [find_binary("ippfind"), "-T", "3", "_ipp._tcp", "--port", str(port), *expression]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return [line for line in result.stdout.splitlines() if line.strip()]


def test_a_loopback_listener_is_advertised_only_where_it_answers(
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
    name = f"Loopback {tag}"
    listed = wait_for(
        lambda: (
            (x := ippfind_lines(gw.port, "-x", "echo", "{service_name}|{service_uri}", ";")) and x
        ),
        BOUND,
        what="the advert",
    )
    assert {line.split("|")[0] for line in listed} == {name}, listed
    # Every advert found (every interface it is on) answers at the URI it gives.
    passed = ippfind_lines(
        gw.port, "--exec", "ipptool", "-q", "{service_uri}", "get-printer-attributes.test", ";",
        "-x", "echo", "{service_uri}", ";",
    )  # fmt: skip
    assert sorted(passed) == sorted(line.split("|")[1] for line in listed), (listed, passed)

    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check", "--config", str(gw.config_path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO_ROOT,
    )  # fmt: skip
    line = next(x for x in result.stdout.splitlines() if f"dns-sd lo-{tag}" in x)
    assert line.startswith("ok") and "answers at ipp://" in line, result.stdout
