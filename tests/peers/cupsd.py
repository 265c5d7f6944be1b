"""A private cupsd on loopback: a real IPP client of printgate and a real job source (lp)."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.peers.ipp_wire import _CUPS_GET_DEFAULT, JOB_STATES, ipp_request
from tests.peers.process import (
    _SBIN_PATH,
    PeerError,
    _port_open,
    _Process,
    _read_text,
    _tail,
    find_binary,
    free_port,
    wait_for,
)

_CUPS_FILES_CONF = """\
ServerRoot {root}/etc
RequestRoot {root}/spool
TempDir {root}/spool/tmp
CacheDir {root}/cache
StateDir {root}/state
ErrorLog {root}/log/error_log
AccessLog {root}/log/access_log
PageLog {root}/log/page_log
Printcap {root}/state/printcap
User lp
Group lp
SystemGroup root
FileDevice Yes
"""

_CUPSD_CONF = """\
Listen 127.0.0.1:{port}
LogLevel {log_level}
MaxLogSize 0
Browsing Off
BrowseLocalProtocols none
DefaultAuthType None
WebInterface No
DefaultPolicy open
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy open>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
{extra}
"""


class Cupsd:
    """A private cupsd on 127.0.0.1, as a real IPP client of printgate (its ipp backend) and
    a real job source (lp).

    Its directory is made with mode 755 outside pytest's private tmp tree: cupsd runs filters
    as user lp, and they must reach the spool files.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        log_level: str = "debug",
        extra_conf: str = "",
        startup_timeout: float = 20.0,
        parent_dir: str | Path | None = None,
    ):
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.log_level = log_level
        self.extra_conf = extra_conf
        self.startup_timeout = startup_timeout
        self.root = Path(tempfile.mkdtemp(prefix="printgate-cupsd-", dir=parent_dir))
        self.root.chmod(0o755)
        _check_traversable(self.root)
        for sub in ("etc", "spool", "spool/tmp", "cache", "state", "log"):
            (self.root / sub).mkdir(exist_ok=True)
            (self.root / sub).chmod(0o755)
        self._proc: _Process | None = None
        self.startup_seconds: float | None = None

    # -- lifecycle

    def start(self) -> Cupsd:
        if self.running:
            return self
        binary = find_binary("cupsd")
        for tool in ("lpadmin", "lp", "lpstat", "cupsdisable"):
            find_binary(tool)
        started = time.monotonic()
        for attempt in range(4):
            self._write_conf()
            proc = _Process(
                [binary, "-f", "-c", str(self.cupsd_conf), "-s", str(self.files_conf)],
                self.root / "log" / "cupsd.out",
                self.root,
                os.environ,
            )
            if self._wait_ready(proc):
                self._proc = proc
                self.startup_seconds = time.monotonic() - started
                self._fixed_port = True  # a restart must come back on the same port
                return self
            proc.kill()
            if self._fixed_port or attempt == 3 or "Unable to bind" not in self.error_log():
                break
            self.port = free_port()
        raise PeerError(
            f"cupsd did not start on port {self.port}:\n"
            f"{_tail(_read_text(self.root / 'log' / 'cupsd.out'))}\n"
            f"{_tail(self.error_log())}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        if self._proc is not None:
            self._proc.terminate(timeout)
            self._proc = None

    def close(self) -> None:
        """Stop and remove the directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cupsd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- properties

    @property
    def server(self) -> str:
        """The CUPS_SERVER value for the command-line tools."""
        return f"127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["CUPS_SERVER"] = self.server
        env.pop("CUPS_USER", None)
        env["PATH"] = env.get("PATH", "") + ":" + _SBIN_PATH
        return env

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def cupsd_conf(self) -> Path:
        return self.root / "etc" / "cupsd.conf"

    @property
    def files_conf(self) -> Path:
        return self.root / "etc" / "cups-files.conf"

    def printer_uri(self, queue: str) -> str:
        return f"ipp://127.0.0.1:{self.port}/printers/{queue}"

    def error_log(self) -> str:
        return _read_text(self.root / "log" / "error_log")

    def job_log(self, job_id: int) -> str:
        """The error_log lines of one job (the ipp backend logs every request it sends)."""
        marker = f"[Job {job_id}]"
        return "\n".join(line for line in self.error_log().splitlines() if marker in line)

    # -- driving it

    def run(
        self,
        argv: Sequence[str],
        timeout: float = 60.0,
        check: bool = True,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a CUPS command-line tool against this cupsd."""
        argv = [find_binary(argv[0]), *argv[1:]]
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            input=input,
            check=False,
        )
        if check and result.returncode != 0:
            raise PeerError(
                f"{' '.join(argv)} failed ({result.returncode}): "
                f"{result.stderr.strip()} {result.stdout.strip()}\n"
                f"{_tail(self.error_log(), 30)}"
            )
        return result

    def add_queue(
        self,
        name: str,
        device_uri: str,
        model: str | None = "everywhere",
        options: Mapping[str, str] | None = None,
    ) -> None:
        """A queue printing to `device_uri`; `model="everywhere"` asks the device for its
        attributes (IPP Everywhere, driverless), so the device must be up."""
        argv = ["lpadmin", "-p", name, "-E", "-v", device_uri]
        if model:
            argv += ["-m", model]
        for key, value in (options or {}).items():
            argv += ["-o", f"{key}={value}"]
        self.run(argv)
        if model:
            # lpadmin returns before cupsd has loaded the new PPD; until then the queue is a
            # "Local Raw Printer" and a job sent to it aborts ("Unable to convert file").
            wait_for(
                lambda: (
                    self.printer_attributes(name).get("printer-make-and-model")
                    not in (None, "Local Raw Printer")
                ),
                timeout=10,
                interval=0.005,
                what=f"cupsd queue {name} loaded its PPD",
            )

    def add_raw_queue(
        self, name: str, device_uri: str = "file:///dev/null", stopped: bool = True
    ) -> None:
        """A queue without driver (no -m: modern CUPS has no "raw" model) that keeps its jobs
        pending when `stopped` (cupsdisable), for measuring job intake alone."""
        self.run(["lpadmin", "-p", name, "-E", "-v", device_uri])
        if stopped:
            self.run(["cupsdisable", name])

    def lp(
        self,
        queue: str,
        path: str | Path,
        options: Mapping[str, Any] | None = None,
        user: str | None = None,
        title: str | None = None,
    ) -> int:
        """Submit a file with lp; returns the cupsd job id."""
        argv = ["lp", "-d", queue]
        if user:
            argv += ["-U", user]
        if title:
            argv += ["-t", title]
        for key, value in (options or {}).items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            argv += ["-o", f"{key}={value}"]
        result = self.run([*argv, "--", str(path)])
        match = re.search(r"request id is \S+-(\d+)", result.stdout)
        if not match:
            raise PeerError(f"lp gave no job id: {result.stdout!r} {result.stderr!r}")
        return int(match.group(1))

    def printer_attributes(self, queue: str, timeout: float = 10.0) -> dict[str, Any]:
        """A cupsd queue's attributes (single values unwrapped)."""
        uri = self.printer_uri(queue)
        response = ipp_request(
            uri, "Get-Printer-Attributes", [(0x45, "printer-uri", uri)], timeout=timeout
        )
        if not response.ok:
            raise PeerError(f"Get-Printer-Attributes {uri}: status 0x{response.status:04x}")
        return {
            name: values[0] if len(values) == 1 else values
            for name, values in response.group("printer").items()
        }

    def job_attributes(self, job_id: int, timeout: float = 10.0) -> dict[str, Any]:
        """job-state (as a name), job-state-reasons, messages and counters of a cupsd job."""
        uri = f"ipp://127.0.0.1:{self.port}/jobs/{job_id}"
        response = ipp_request(
            uri,
            "Get-Job-Attributes",
            [
                (0x45, "job-uri", uri),
                (0x42, "requesting-user-name", "root"),
                (
                    0x44,
                    "requested-attributes",
                    [
                        "job-state",
                        "job-state-reasons",
                        "job-state-message",
                        "job-printer-state-message",
                        "job-impressions-completed",
                        "job-media-sheets-completed",
                        "job-name",
                        "job-originating-user-name",
                    ],
                ),
            ],
            timeout=timeout,
        )
        if not response.ok:
            raise PeerError(f"Get-Job-Attributes {uri}: status 0x{response.status:04x}")
        attrs = {
            name: values[0] if len(values) == 1 else values
            for name, values in response.group("job").items()
        }
        state = attrs.get("job-state")
        attrs["job-state"] = JOB_STATES.get(state, state) if isinstance(state, int) else state
        return attrs

    def wait_job_done(self, queue: str, job_id: int, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the job is completed, aborted or canceled; return its attributes (check
        attrs["job-state"] == "completed"). `queue` names the job in error messages."""
        done = {"completed", "aborted", "canceled"}
        last: dict[str, Any] = {}

        def finished() -> dict[str, Any] | None:
            nonlocal last
            last = self.job_attributes(job_id)
            return last if last.get("job-state") in done else None

        try:
            return dict(
                wait_for(finished, timeout, interval=0.1, what=f"cupsd job {queue}-{job_id} done")
            )
        except TimeoutError as exc:
            raise TimeoutError(
                f"{exc}; last state {last}\n{_tail(self.job_log(job_id), 40)}"
            ) from None

    # -- internals

    def _write_conf(self) -> None:
        self.files_conf.write_text(_CUPS_FILES_CONF.format(root=self.root))
        self.cupsd_conf.write_text(
            _CUPSD_CONF.format(port=self.port, log_level=self.log_level, extra=self.extra_conf)
        )

    def _wait_ready(self, proc: _Process) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if _port_open("127.0.0.1", self.port):
                try:
                    uri = f"ipp://127.0.0.1:{self.port}/"
                    response = ipp_request(uri, _CUPS_GET_DEFAULT, timeout=2.0)
                    if response.status in (0x0000, 0x0406):  # ok / not-found (no default)
                        return True
                except (OSError, PeerError, http.client.HTTPException):
                    pass
            time.sleep(0.01)
        return False


def _check_traversable(path: Path) -> None:
    for parent in path.parents:
        if not os.stat(parent).st_mode & 0o001:
            raise PeerError(
                f"{parent} is not world-searchable: cupsd's filters (user lp) could"
                f" not reach {path}; give Cupsd a parent_dir under /tmp"
            )
