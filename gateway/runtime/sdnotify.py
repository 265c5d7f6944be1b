"""systemd's service notification protocol (sd_notify(3)): one datagram of NEWLINE-separated
KEY=VALUE assignments to the unix socket named in $NOTIFY_SOCKET. A few lines, so written here
rather than taken from an unmaintained package. Outside systemd (no $NOTIFY_SOCKET) every call
is a no-op."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None):
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is an abstract socket: its first byte is NUL on the wire.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._watchdog_usec = _positive_int(env.get("WATCHDOG_USEC", ""))
        watchdog_pid = _positive_int(env.get("WATCHDOG_PID", ""))
        if watchdog_pid and watchdog_pid != os.getpid():
            self._watchdog_usec = 0  # the watchdog is meant for another process
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    @property
    def watchdog_interval(self) -> float:
        """Seconds between pings: half the timeout, as sd_watchdog_enabled(3) advises; 0 when
        systemd asked for no watchdog."""
        return self._watchdog_usec / 2_000_000

    def send(self, *assignments: str) -> bool:
        if not self._address:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            self._socket.sendto("\n".join(assignments).encode(), self._address)
        except OSError as exc:
            # A lost notification must never bring the service down; systemd will say so.
            log.warning("sd_notify to %s failed: %s", self._address.lstrip("\0"), exc)
            return False
        return True

    def ready(self, status: str = "") -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> None:
        self.send("RELOADING=1")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    async def watchdog_loop(self) -> None:
        """Ping systemd's watchdog while the event loop runs: a loop stuck on a blocking call
        stops the pings, and systemd restarts the service."""
        interval = self.watchdog_interval
        if not interval:
            return
        while True:
            self.send("WATCHDOG=1")
            await asyncio.sleep(interval)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _positive_int(text: str) -> int:
    return int(text) if text.isdigit() and int(text) > 0 else 0
