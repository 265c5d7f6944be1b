"""Peer processes: errors, finding programs, free ports, polling, and child processes that
are stopped by PID (and all killed when the interpreter exits)."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# The repository root (this file is tests/peers/process.py): printgate runs from it.
REPO_ROOT = Path(__file__).resolve().parents[2]

# Which Debian package provides each program the peers run.
DEBIAN_PACKAGE = {
    "ippeveprinter": "cups-ipp-utils",
    "ipptool": "cups-ipp-utils",
    "ippfind": "cups-ipp-utils",
    "cupsd": "cups-daemon (pulled in by cups)",
    "lpadmin": "cups-client",
    "lp": "cups-client",
    "lpstat": "cups-client",
    "cancel": "cups-client",
    "cupsenable": "cups-client",
    "cupsdisable": "cups-client",
    "cupsaccept": "cups-client",
    "cupsreject": "cups-client",
    "dbus-daemon": "dbus",
    "avahi-daemon": "avahi-daemon",
    "gs": "ghostscript",
    "pdfinfo": "poppler-utils",
    "curl": "curl",
    "openssl": "openssl",
    "systemd-analyze": "systemd",
    "snmpd": "snmpd",
}


_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class PeerError(RuntimeError):
    """A peer could not be found, started, driven or stopped."""


# --------------------------------------------------------------------------------------------
# Small utilities


def find_binary(name: str) -> str:
    """Absolute path of `name`; PeerError naming the Debian package when it is missing."""
    path = shutil.which(name) or shutil.which(name, path=_SBIN_PATH)
    if path is None:
        package = DEBIAN_PACKAGE.get(name, "that provides it")
        raise PeerError(
            f"'{name}' is not installed: apt-get install -y {package} "
            "(bash scripts/test.sh installs every package the tests need)"
        )
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for(
    predicate: Any, timeout: float, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Poll `predicate()` until it returns something truthy; return that, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.1f} s")
        time.sleep(interval)


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# Processes


_LIVE: weakref.WeakSet[_Process] = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    # A crashed test run must not leave daemons on the machine.
    for proc in list(_LIVE):
        with contextlib.suppress(Exception):
            proc.kill()


class _Process:
    """One child process in its own session, output appended to a log file, stopped by PID."""

    def __init__(self, argv: Sequence[str], log_path: Path, cwd: Path, env: Mapping[str, str]):
        self.argv = list(argv)
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            log.write(f"----- {time.strftime('%H:%M:%S')} {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=dict(env),
                start_new_session=True,  # a ^C to the test runner reaches the runner only
            )
        _LIVE.add(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def terminate(self, timeout: float) -> tuple[int, bool]:
        """SIGTERM, wait; SIGKILL after `timeout`. Returns (exit status, stopped in time)."""
        in_time = True
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                in_time = False
        if self.popen.poll() is None:
            self.kill()
        self._reap_group()
        return self.popen.returncode, in_time

    def kill(self) -> int:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        self._reap_group()
        return self.popen.returncode

    def _reap_group(self) -> None:
        # Our child leads its own process group; filters or job commands it left behind are ours.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        _LIVE.discard(self)
