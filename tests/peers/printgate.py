"""printgate itself, run as `python -m gateway serve` on loopback from the repository."""

from __future__ import annotations

import copy
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.peers.process import (
    REPO_ROOT,
    PeerError,
    _port_open,
    _Process,
    _read_text,
    _tail,
    free_port,
)
from tests.peers.toml_writer import toml_dumps


class Printgate:
    """printgate serving `config` (a dict written as TOML) on loopback.

    server.data_dir defaults to `data_dir`, server.listen to a free port on 127.0.0.1. The
    config file and the combined stdout/stderr log live next to the data directory, in
    `<data_dir>.run/`. `start()` waits until GET /healthz answers 200.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        data_dir: str | Path,
        *,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
        command: Sequence[str] | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.run_dir = self.data_dir.parent / f"{self.data_dir.name}.run"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config = copy.deepcopy(dict(config))
        server = self.config.setdefault("server", {})
        server.setdefault("data_dir", str(self.data_dir))
        # Tests that are not about DNS-SD do not advertise: hundreds of short-lived queues would
        # only make avahi-daemon probe and rename ("q #2") for nothing.
        self.config.setdefault("dns_sd", {"advertise": False})
        self._auto_port = "listen" not in server
        if self._auto_port:
            server["listen"] = [f"127.0.0.1:{free_port()}"]
        self.config_path = self.run_dir / "printgate.toml"
        self.log_path = self.run_dir / "printgate.log"
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self._command = list(command) if command else [sys.executable, "-m", "gateway"]
        self._proc: _Process | None = None
        self.startup_seconds: float | None = None
        self.returncode: int | None = None

    # -- addresses

    @property
    def host(self) -> str:
        return _split_listen(self.config["server"]["listen"][0])[0]

    @property
    def port(self) -> int:
        return _split_listen(self.config["server"]["listen"][0])[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def queue_uri(self, name: str, scheme: str = "ipp") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/ipp/print/{name}"

    # -- lifecycle

    def start(self) -> Printgate:
        if self.running:
            return self
        started = time.monotonic()
        for attempt in range(4):
            self.config_path.write_text(toml_dumps(self.config))
            proc = _Process(
                [*self._command, "serve", "--config", str(self.config_path)],
                self.log_path,
                self.run_dir,
                self._environment(),
            )
            self._proc = proc
            error = self._wait_healthy(proc)
            if error is None:
                self.startup_seconds = time.monotonic() - started
                self._auto_port = False  # a restart must come back on the same port
                return self
            self._proc = None
            proc.kill()
            in_use = "address already in use" in _tail(self.log(), 20).lower()
            if not (self._auto_port and in_use and attempt < 3):
                raise PeerError(f"printgate did not start: {error}\n{_tail(self.log())}")
            self.config["server"]["listen"] = [f"127.0.0.1:{free_port()}"]
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; the exit status. PeerError if it needed SIGKILL after `timeout`
        (longer than printgate's own 20-second shutdown timeout, so that its log says what
        a slow shutdown waited for)."""
        if self._proc is None:
            return self.returncode or 0
        status, in_time = self._proc.terminate(timeout)
        self._proc, self.returncode = None, status
        if not in_time:
            raise PeerError(
                f"printgate ignored SIGTERM for {timeout} s (killed)\n{_tail(self.log(), 30)}"
            )
        return status

    def kill(self) -> int:
        """SIGKILL: a crash, for restart tests."""
        if self._proc is None:
            return self.returncode or 0
        self.returncode = self._proc.kill()
        self._proc = None
        return self.returncode

    def restart(self) -> Printgate:
        self.stop()
        return self.start()

    def __enter__(self) -> Printgate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.running:
            try:
                self.stop()
            except PeerError:
                pass

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def log(self) -> str:
        return _read_text(self.log_path)

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
        """A plain HTTP GET on the listener: (status, body)."""
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=timeout) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    # -- internals

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        env.pop("PRINTGATE_CONFIG", None)
        env.update(self.env)
        return env

    def _wait_healthy(self, proc: _Process) -> str | None:
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            status = proc.poll()
            if status is not None:
                return f"exited with status {status} during start-up"
            if _port_open(self.host, self.port):
                try:
                    code, body = self.get("/healthz", timeout=2.0)
                    if code == 200:
                        return None
                    last = f"/healthz answered {code}: {body[:200]!r}"
                except (OSError, http.client.HTTPException) as exc:
                    last = f"/healthz: {exc}"
            time.sleep(0.02)
        return f"not healthy within {self.startup_timeout} s ({last})"


def _split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)
