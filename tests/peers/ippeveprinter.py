"""ippeveprinter: a real IPP Everywhere printer on loopback that keeps what it receives."""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from tests.peers.dns_sd import ensure_dns_sd
from tests.peers.ipp_wire import IppResponse, _get_printer_attributes, ipp_request
from tests.peers.process import (
    PeerError,
    _port_open,
    _Process,
    _read_text,
    _tail,
    find_binary,
    free_port,
    wait_for,
)

DEFAULT_FORMATS = ("application/pdf", "image/jpeg", "image/pwg-raster", "image/urf")


_JOB_COMMAND = """#!/bin/sh
# ippeveprinter runs this for each job with the spooled document as $1 (written by tests/peers).
{sleep}
{impressions}echo "$1" >> '{done_log}'
exit {exit_status}
"""

_IMPRESSIONS = """pages=""
case "$1" in
  *.pdf) pages=$(pdfinfo "$1" 2>/dev/null | sed -n 's/^Pages: *//p') ;;
esac
if [ -n "$pages" ]; then
  echo "ATTR: job-impressions=$pages job-impressions-completed=$pages" >&2
fi
"""


class IppEvePrinter:
    """A real IPP Everywhere printer (CUPS's ippeveprinter) on 127.0.0.1.

    It keeps every document it receives (-k). Unless `extra_args` carries its own `-c`, each
    job runs a small command that takes `job_seconds` (ippeveprinter's own simulation sleeps
    5-15 s per job), reports job-impressions(-completed) for PDFs, and records the document as
    done, so `documents()` lists only fully received, processed documents. ippeveprinter prints
    one job at a time: a Print-Job or Create-Job while a job is processing is answered
    server-error-busy.
    """

    def __init__(
        self,
        name: str = "printgate-test",
        formats: Iterable[str] = DEFAULT_FORMATS,
        extra_args: Sequence[str] = (),
        *,
        port: int | None = None,
        base_dir: str | Path | None = None,
        job_seconds: float = 0.0,
        job_exit_status: int = 0,
        impressions: bool = True,
        startup_timeout: float = 15.0,
    ):
        self.name = name
        self.formats = tuple(formats)
        self.extra_args = tuple(extra_args)
        self._fixed_port = port is not None
        self.port = port or free_port()
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="printgate-ippeve-"))
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.job_seconds = job_seconds
        self.job_exit_status = job_exit_status
        self.impressions = impressions
        self.startup_timeout = startup_timeout
        self._incarnation = 0
        self._proc: _Process | None = None
        self.startup_seconds: float | None = None
        self.spool_dir = self.base_dir / "spool"
        self._done_log = self.base_dir / "done.log"
        self._command = None if "-c" in self.extra_args else self._write_command()

    # -- lifecycle

    def start(self) -> IppEvePrinter:
        if self.running:
            return self
        ensure_dns_sd()
        binary = find_binary("ippeveprinter")
        started = time.monotonic()
        for attempt in range(5):
            self._rotate_spool()
            proc = _Process(self._argv(binary), self.log_path, self.base_dir, os.environ)
            if self._wait_ready(proc):
                self._proc = proc
                self.startup_seconds = time.monotonic() - started
                self._fixed_port = True  # a restart must come back on the same port
                return self
            proc.kill()
            recent = _tail(self.log(), 5)
            if "DNS-SD" in recent:
                ensure_dns_sd()  # Avahi restarted, or not yet on the bus: try again
                time.sleep(0.2)
            elif "listener" in recent and not self._fixed_port:
                self.port = free_port()  # somebody took the port between free_port() and bind
            elif attempt >= 1:
                break
        raise PeerError(f"ippeveprinter did not start on port {self.port}:\n{_tail(self.log())}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the printer (the port closes; documents stay). `start()` brings it back on the
        same port."""
        if self._proc is not None:
            self._proc.terminate(timeout)
            self._proc = None

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc = None

    def close(self) -> None:
        """Stop, and remove the directory if this object made it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> IppEvePrinter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what tests look at

    @property
    def uri(self) -> str:
        return f"ipp://127.0.0.1:{self.port}/ipp/print"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def log_path(self) -> Path:
        return self.base_dir / "ippeveprinter.log"

    def log(self) -> str:
        return _read_text(self.log_path)

    def documents(self) -> list[Path]:
        """Documents the printer has received and finished processing, oldest first, across
        restarts."""
        if self._command is None:
            return sorted(p for d in self._spool_dirs() for p in d.iterdir() if p.is_file())
        lines = _read_text(self._done_log).splitlines()
        return [Path(line) for line in lines if line]

    def wait_documents(self, count: int, timeout: float = 30.0) -> list[Path]:
        """Wait until at least `count` documents are done; return them all."""

        def enough() -> list[Path] | None:
            docs = self.documents()
            return docs if len(docs) >= count else None

        try:
            return list(wait_for(enough, timeout, what=f"{count} document(s) at {self.uri}"))
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; have {self.documents()}\n{_tail(self.log())}") from None

    def get_printer_attributes(self, timeout: float = 10.0) -> IppResponse:
        return ipp_request(
            self.uri, "Get-Printer-Attributes", [(0x45, "printer-uri", self.uri)], timeout=timeout
        )

    def get_job_attributes(self, job_id: int, timeout: float = 10.0) -> IppResponse:
        return ipp_request(
            self.uri,
            "Get-Job-Attributes",
            [
                (0x45, "printer-uri", self.uri),
                (0x21, "job-id", job_id),
                (0x42, "requesting-user-name", "peers"),
            ],
            timeout=timeout,
        )

    # -- internals

    def _argv(self, binary: str) -> list[str]:
        argv = [
            binary,
            "-k",
            "-r",
            "off",
            "-p",
            str(self.port),
            "-d",
            str(self.spool_dir),
            "-f",
            ",".join(self.formats),
        ]
        if self._command is not None:
            # Command output to /dev/null; without -D ippeveprinter spools it as a .prn file.
            argv += ["-c", str(self._command), "-D", "file:///dev/null"]
        return [*argv, *self.extra_args, self.name]

    def _write_command(self) -> Path:
        command = self.base_dir / "job-command.sh"
        sleep = f"sleep {self.job_seconds:g}" if self.job_seconds > 0 else ":"
        impressions = _IMPRESSIONS if self.impressions else ""
        command.write_text(
            _JOB_COMMAND.format(
                sleep=sleep,
                impressions=impressions,
                done_log=self._done_log,
                exit_status=int(self.job_exit_status),
            )
        )
        command.chmod(0o755)
        return command

    def _spool_dirs(self) -> list[Path]:
        previous = sorted(self.base_dir.glob("spool.*"), key=lambda p: int(p.suffix[1:]))
        return [*previous, self.spool_dir]

    def _rotate_spool(self) -> None:
        # Job ids restart at 1 with each run, and the files are named after them: keep the
        # previous run's documents apart instead of letting the new run overwrite them.
        if self.spool_dir.exists() and any(self.spool_dir.iterdir()):
            self._incarnation += 1
            while (target := self.base_dir / f"spool.{self._incarnation}").exists():
                self._incarnation += 1
            self.spool_dir.rename(target)
            if self._done_log.exists():
                text = self._done_log.read_text().replace(f"{self.spool_dir}/", f"{target}/")
                self._done_log.write_text(text)
        self.spool_dir.mkdir(parents=True, exist_ok=True)

    def _wait_ready(self, proc: _Process) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if _port_open("127.0.0.1", self.port):
                try:
                    if _get_printer_attributes(self.uri, timeout=2.0).ok:
                        return True
                except (OSError, PeerError, http.client.HTTPException):
                    pass
            time.sleep(0.01)
        return False
