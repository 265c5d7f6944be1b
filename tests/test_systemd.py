"""The systemd unit: systemd-analyze accepts it and rates its hardening, and its ExecStart speaks
the notify protocol (READY=1 once it serves, WATCHDOG=1 pings, STOPPING=1 at SIGTERM)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.runtime.logs import OneLineFormatter
from tests.peers import REPO_ROOT, find_binary, free_port, toml_dumps

UNIT = REPO_ROOT / "systemd" / "printgate.service"
INSTALLED = "/opt/printgate/bin/printgate"
MAX_EXPOSURE = 2.0


def _printgate_binary() -> str:
    return str(Path(sys.executable).parent / "printgate")


def _unit_here(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's printgate (verify checks that the
    command exists and is executable)."""
    copy = tmp_path / "printgate.service"
    copy.write_text(UNIT.read_text().replace(INSTALLED, _printgate_binary()))
    return copy


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = find_binary("systemd-analyze")
    result = subprocess.run(
        [analyze, "verify", str(_unit_here(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "printgate" not in result.stderr, result.stderr  # no warnings about our unit


def test_systemd_analyze_security_rates_the_unit_well() -> None:
    analyze = find_binary("systemd-analyze")
    result = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for printgate\.service: (\d+\.\d)", result.stdout)
    assert found, result.stdout + result.stderr
    score = float(found.group(1))
    print(f"systemd-analyze security: exposure {score}")
    assert score <= MAX_EXPOSURE, result.stdout
    for setting in ("ProtectSystem=", "NoNewPrivileges=", "SystemCallFilter=~@privileged"):
        line = next((x for x in result.stdout.splitlines() if setting in x), "")
        assert line.lstrip().startswith("✓"), f"{setting} not in force: {line}"


def _exec_start() -> list[str]:
    line = next(x for x in UNIT.read_text().splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def _receive(sock: socket.socket, deadline: float) -> list[str]:
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return sock.recv(4096).decode().split("\n")
    except TimeoutError:
        return []


def test_exec_start_notifies_ready_watchdog_and_stopping(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "printgate.toml"
    output = tmp_path / "out"
    config.write_text(
        toml_dumps(
            {
                "server": {"listen": [f"127.0.0.1:{port}"], "data_dir": str(tmp_path / "data")},
                "printers": [{"name": "v", "uri": output.as_uri()}],
                "queues": [{"name": "q", "printers": ["v"]}],
            }
        )
    )
    argv = _exec_start()
    assert argv[0] == INSTALLED and argv[1] == "serve"
    argv[0] = _printgate_binary()
    argv[argv.index("--config") + 1] = str(config)
    notify_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "400000"}
    env.pop("PRINTGATE_CONFIG", None)
    log = (tmp_path / "log").open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while "READY=1" not in seen and time.monotonic() < deadline:
            seen += _receive(sock, deadline)
        assert "READY=1" in seen, (seen, (tmp_path / "log").read_text())
        # READY means serving: the listener takes connections at once.
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        pings = 0
        deadline = time.monotonic() + 3
        while pings < 2 and time.monotonic() < deadline:
            pings += _receive(sock, deadline).count("WATCHDOG=1")
        assert pings >= 2, "no watchdog pings at WATCHDOG_USEC/2"
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        messages: list[str] = []
        while "STOPPING=1" not in messages and time.monotonic() < deadline:
            messages += _receive(sock, deadline)
        assert "STOPPING=1" in messages
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
        log.close()


@pytest.mark.parametrize(
    ("journal", "expected"),
    [
        (True, "<4>gateway.jobs.manager: job 7 held | second line"),
        (False, " WARNING gateway.jobs.manager: job 7"),
    ],
)
def test_log_lines_are_one_event_each_with_a_level(journal: bool, expected: str) -> None:
    import logging

    record = logging.LogRecord(
        "gateway.jobs.manager", logging.WARNING, __file__, 1, "job %d held\nsecond line", (7,), None
    )
    line = OneLineFormatter(journal).format(record)
    assert "\n" not in line
    assert expected in line


def test_under_journald_each_line_carries_its_priority_and_job_lines_their_id(
    tmp_path: Path,
) -> None:
    from tests.ipp_call import print_job
    from tests.peers import make_pdf, wait_for

    port = free_port()
    config = tmp_path / "printgate.toml"
    config.write_text(
        toml_dumps(
            {
                "server": {"listen": [f"127.0.0.1:{port}"], "data_dir": str(tmp_path / "data")},
                "dns_sd": {"advertise": False},
                "printers": [{"name": "v", "uri": (tmp_path / "out").as_uri()}],
                "queues": [{"name": "q", "printers": ["v"]}],
            }
        )
    )
    log_path = tmp_path / "journal-stream"
    with log_path.open("wb") as log:
        # What systemd does for StandardError=journal: JOURNAL_STREAM names the stream's inode.
        info = os.fstat(log.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}
        env.pop("PRINTGATE_CONFIG", None)
        proc = subprocess.Popen(
            [_printgate_binary(), "serve", "--config", str(config)],
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        uri = f"ipp://127.0.0.1:{port}/ipp/print/q"

        def served() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False

        wait_for(served, 60, what="printgate listening")
        job_id = print_job(uri, make_pdf(tmp_path / "a.pdf").read_bytes())
        wait_for(lambda: f"job {job_id} completed" in log_path.read_text(), 30, what="job done")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    logged = [x for x in log_path.read_text().splitlines() if x.startswith("<")]
    assert logged, log_path.read_text()
    assert all(re.match(r"^<[0-7]>[a-z_.]+: \S", line) for line in logged), logged
    job_lines = [x for x in logged if x.startswith("<6>gateway.jobs.")]
    assert job_lines and all(re.search(r"\bjob \d+\b", x) for x in job_lines), job_lines
