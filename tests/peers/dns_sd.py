"""DNS-SD: ippeveprinter will not start without the system bus and Avahi."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.peers.process import PeerError, find_binary, wait_for

_DBUS_SOCKET = Path("/run/dbus/system_bus_socket")
_AVAHI_SOCKET = Path("/run/avahi-daemon/socket")


def _unix_socket_alive(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
        return True


def ensure_dns_sd(timeout: float = 10.0) -> None:
    """Start the system D-Bus and avahi-daemon unless they already answer. Idempotent, and
    safe when several processes (pytest-xdist workers) call it at once: a file lock
    serialises the check-and-start."""
    if _unix_socket_alive(_DBUS_SOCKET) and _unix_socket_alive(_AVAHI_SOCKET):
        return
    lock_path = Path(tempfile.gettempdir()) / "printgate-peers-dns-sd.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _start_dbus(timeout)
            _start_avahi(timeout)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _start_dbus(timeout: float) -> None:
    if _unix_socket_alive(_DBUS_SOCKET):
        return
    dbus = find_binary("dbus-daemon")
    if os.geteuid() != 0:
        raise PeerError("the system D-Bus is not running and only root can start it")
    Path("/run/dbus").mkdir(parents=True, exist_ok=True)
    # dbus-daemon refuses to start over the pid file of a bus that died.
    Path("/run/dbus/pid").unlink(missing_ok=True)
    result = subprocess.run(
        [dbus, "--system", "--fork"], capture_output=True, text=True, timeout=timeout, check=False
    )
    try:
        wait_for(lambda: _unix_socket_alive(_DBUS_SOCKET), timeout, what="system D-Bus")
    except TimeoutError:
        raise PeerError(
            f"dbus-daemon --system did not start (exit {result.returncode}): "
            f"{result.stderr.strip()} (it needs root and the Debian package dbus)"
        ) from None


def _start_avahi(timeout: float) -> None:
    if _unix_socket_alive(_AVAHI_SOCKET):
        return
    avahi = find_binary("avahi-daemon")
    if os.geteuid() != 0:
        raise PeerError("avahi-daemon is not running and only root can start it")
    # -D refuses while a live avahi-daemon holds the pid file; -k first would hit another
    # user's daemon, so only start when nothing answers and let it clean up a stale pid file.
    result = subprocess.run(
        [avahi, "-D"], capture_output=True, text=True, timeout=timeout, check=False
    )
    try:
        wait_for(lambda: _unix_socket_alive(_AVAHI_SOCKET), timeout, what="avahi-daemon")
    except TimeoutError:
        raise PeerError(
            f"avahi-daemon -D did not start (exit {result.returncode}): {result.stderr.strip()}"
        ) from None
