"""Real peers on loopback: ippeveprinter, a private cupsd, printgate itself, and helpers.

Every peer runs on a free port in its own temporary directory and is stopped by PID. The API is
synchronous so pytest fixtures (tests/conftest.py) and benchmark scripts (bench/) can both use
it; nothing here imports pytest.

A missing program is never a reason to skip: `PeerError` names the Debian package to install
(scripts/test.sh installs them all).
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import fcntl
import http.client
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_FORMATS",
    "Cupsd",
    "IppEvePrinter",
    "IppResponse",
    "PeerError",
    "Printgate",
    "ensure_dns_sd",
    "find_binary",
    "free_port",
    "ipp_request",
    "ipptool",
    "make_pdf",
    "started",
    "toml_dumps",
    "wait_for",
]

REPO_ROOT = Path(__file__).resolve().parent.parent

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

DEFAULT_FORMATS = ("application/pdf", "image/jpeg", "image/pwg-raster", "image/urf")

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


# --------------------------------------------------------------------------------------------
# A minimal IPP client, independent of the gateway's codec (the peers must not trust the code
# under test).

_TAG_INTEGER, _TAG_BOOLEAN, _TAG_ENUM = 0x21, 0x22, 0x23
_TAG_RANGE, _TAG_BEG_COLLECTION, _TAG_END_COLLECTION = 0x33, 0x34, 0x37
_TAG_TEXT_LANG, _TAG_NAME_LANG = 0x35, 0x36
_GROUPS = {0x01: "operation", 0x02: "job", 0x04: "printer", 0x05: "unsupported"}

JOB_STATES = {
    3: "pending",
    4: "pending-held",
    5: "processing",
    6: "processing-stopped",
    7: "canceled",
    8: "aborted",
    9: "completed",
}
_CUPS_GET_DEFAULT = 0x4001
OPERATIONS = {
    "Print-Job": 0x02,
    "Validate-Job": 0x04,
    "Create-Job": 0x05,
    "Send-Document": 0x06,
    "Cancel-Job": 0x08,
    "Get-Job-Attributes": 0x09,
    "Get-Jobs": 0x0A,
    "Get-Printer-Attributes": 0x0B,
}


@dataclass
class IppResponse:
    """A decoded IPP response: status code and attribute groups (collections are skipped)."""

    status: int
    request_id: int
    groups: list[tuple[str, dict[str, list[Any]]]] = field(default_factory=list)

    def group(self, name: str) -> dict[str, list[Any]]:
        """The first group of that kind ('operation', 'job', 'printer'), or {}."""
        return next((attrs for kind, attrs in self.groups if kind == name), {})

    def first(self, name: str, default: Any = None) -> Any:
        """The first value of `name` in any group."""
        for _, attrs in self.groups:
            if attrs.get(name):
                return attrs[name][0]
        return default

    @property
    def ok(self) -> bool:
        return self.status < 0x0100


def _ipp_value(tag: int, value: Any) -> bytes:
    if tag in (_TAG_INTEGER, _TAG_ENUM):
        return struct.pack(">i", int(value))
    if tag == _TAG_BOOLEAN:
        return b"\x01" if value else b"\x00"
    return str(value).encode()


def _encode_ipp(
    operation: int, attributes: Sequence[tuple[int, str, Any]], request_id: int
) -> bytes:
    out = bytearray(struct.pack(">BBHI", 2, 0, operation, request_id))
    out.append(0x01)
    preamble = [(0x47, "attributes-charset", "utf-8"), (0x48, "attributes-natural-language", "en")]
    for tag, name, value in [*preamble, *attributes]:
        values = value if isinstance(value, list | tuple) else [value]
        for i, item in enumerate(values):
            encoded_name = b"" if i else name.encode()
            encoded = _ipp_value(tag, item)
            out += struct.pack(">BH", tag, len(encoded_name)) + encoded_name
            out += struct.pack(">H", len(encoded)) + encoded
    out.append(0x03)
    return bytes(out)


def _decode_ipp_value(tag: int, raw: bytes) -> Any:
    if tag in (_TAG_INTEGER, _TAG_ENUM) and len(raw) == 4:
        return struct.unpack(">i", raw)[0]
    if tag == _TAG_BOOLEAN and len(raw) == 1:
        return raw != b"\x00"
    if tag == _TAG_RANGE and len(raw) == 8:
        return struct.unpack(">ii", raw)
    if tag in (_TAG_TEXT_LANG, _TAG_NAME_LANG) and len(raw) >= 4:
        lang_len = struct.unpack(">H", raw[:2])[0]
        text_len = struct.unpack(">H", raw[2 + lang_len : 4 + lang_len])[0]
        return raw[4 + lang_len : 4 + lang_len + text_len].decode(errors="replace")
    if 0x40 <= tag <= 0x5F:
        return raw.decode(errors="replace")
    return raw


def _decode_ipp(data: bytes) -> IppResponse:
    if len(data) < 9:
        raise PeerError(f"IPP response too short ({len(data)} bytes)")
    _, _, status, request_id = struct.unpack(">BBHI", data[:8])
    response = IppResponse(status=status, request_id=request_id)
    pos, depth = 8, 0
    attrs: dict[str, list[Any]] | None = None
    last: list[Any] | None = None
    while pos < len(data):
        tag = data[pos]
        pos += 1
        if tag == 0x03:
            break
        if tag < 0x10:
            attrs = {}
            response.groups.append((_GROUPS.get(tag, hex(tag)), attrs))
            continue
        name_len = struct.unpack(">H", data[pos : pos + 2])[0]
        name = data[pos + 2 : pos + 2 + name_len].decode(errors="replace")
        pos += 2 + name_len
        value_len = struct.unpack(">H", data[pos : pos + 2])[0]
        raw = data[pos + 2 : pos + 2 + value_len]
        pos += 2 + value_len
        if tag == _TAG_BEG_COLLECTION:
            depth += 1
            if depth == 1 and attrs is not None:
                last = attrs.setdefault(name, []) if name else last
                if last is not None:
                    last.append({})
            continue
        if tag == _TAG_END_COLLECTION:
            depth -= 1
            continue
        if depth or attrs is None:
            continue  # collection members are not decoded
        if name:
            last = attrs.setdefault(name, [])
        if last is not None:
            last.append(_decode_ipp_value(tag, raw))
    return response


def ipp_request(
    uri: str,
    operation: int | str,
    attributes: Sequence[tuple[int, str, Any]] = (),
    document: bytes | None = None,
    timeout: float = 10.0,
    request_id: int = 1,
) -> IppResponse:
    """Send one IPP request over HTTP and decode the response.

    `attributes` are extra operation attributes as (value tag, name, value or list of values);
    the charset and natural language come first automatically. Tags: 0x21 integer, 0x22
    boolean, 0x23 enum, 0x42 name, 0x44 keyword, 0x45 uri, 0x49 mimeMediaType.
    """
    op = OPERATIONS[operation] if isinstance(operation, str) else operation
    parts = urllib.parse.urlsplit(uri)
    body = _encode_ipp(op, attributes, request_id) + (document or b"")
    port = parts.port or 631
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", port, timeout=timeout)
    try:
        conn.request(
            "POST", parts.path or "/", body=body, headers={"Content-Type": "application/ipp"}
        )
        reply = conn.getresponse()
        payload = reply.read()
    finally:
        conn.close()
    if reply.status != 200:
        raise PeerError(f"POST {uri}: HTTP {reply.status} {reply.reason}")
    return _decode_ipp(payload)


def _get_printer_attributes(uri: str, timeout: float) -> IppResponse:
    return ipp_request(
        uri,
        "Get-Printer-Attributes",
        [
            (0x45, "printer-uri", uri),
            (0x44, "requested-attributes", ["printer-state", "printer-name"]),
        ],
        timeout=timeout,
    )


# --------------------------------------------------------------------------------------------
# DNS-SD: ippeveprinter will not start without the system bus and Avahi.

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


# --------------------------------------------------------------------------------------------
# ippeveprinter


_JOB_COMMAND = """#!/bin/sh
# ippeveprinter runs this for each job with the spooled document as $1 (written by peers.py).
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


# --------------------------------------------------------------------------------------------
# cupsd


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


# --------------------------------------------------------------------------------------------
# printgate itself


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


# --------------------------------------------------------------------------------------------
# TOML writer (tomllib reads; the standard library writes none)

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_dumps(data: Mapping[str, Any]) -> str:
    """TOML for a dict of strings, ints, floats, bools, lists, nested dicts (tables) and lists
    of dicts (arrays of tables). None values are left out."""
    lines: list[str] = []
    _toml_table(lines, (), data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    items = [(str(k), v) for k, v in table.items() if v is not None]
    for key, value in items:
        if not _is_table(value) and not _is_table_array(value):
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in items:
        if _is_table(value):
            lines += ["", f"[{_toml_path((*path, key))}]"]
            _toml_table(lines, (*path, key), value)
    for key, value in items:
        if _is_table_array(value):
            for entry in value:
                lines += ["", f"[[{_toml_path((*path, key))}]]"]
                _toml_table(lines, (*path, key), entry)


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) > 0
        and all(isinstance(v, Mapping) for v in value)
    )


def _toml_path(path: Iterable[str]) -> str:
    return ".".join(_toml_key(k) for k in path)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str | Path):
        return _toml_string(str(value))
    if isinstance(value, Mapping):
        inner = ", ".join(
            f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items() if v is not None
        )
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}: {value!r}")


# --------------------------------------------------------------------------------------------
# Clients and documents


def ipptool(
    uri: str,
    test_files: str | Path | Sequence[str | Path],
    document: str | Path | None = None,
    version: str | None = None,
    extra: Sequence[str] = (),
    timeout: float = 180.0,
) -> subprocess.CompletedProcess[str]:
    """`ipptool -t [-V version] [-f document] [extra...] uri test_files...`; output captured.
    Bare test names (ipp-1.1.test) are found in /usr/share/cups/ipptool by ipptool itself."""
    argv = [find_binary("ipptool"), "-t"]
    if version:
        argv += ["-V", version]
    if document is not None:
        argv += ["-f", str(document)]
    files = [test_files] if isinstance(test_files, str | Path) else list(test_files)
    argv += [*extra, uri, *(str(f) for f in files)]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )


def make_pdf(
    path: str | Path, pages: int = 1, text: str = "printgate test page", *, color: bool = False
) -> Path:
    """A small valid PDF (reportlab, byte-for-byte reproducible): `pages` A4 pages of black
    text, plus a red and a blue box on each page when `color`."""
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

    path = Path(path)
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=True)
    pdf.setTitle(text)
    height = A4[1]
    for page in range(1, pages + 1):
        pdf.setFont("Helvetica", 14)
        pdf.drawString(72, height - 96, f"{text} - page {page} of {pages}")
        if color:
            pdf.setFillColorRGB(0.9, 0.1, 0.1)
            pdf.rect(72, height - 300, 200, 150, stroke=0, fill=1)
            pdf.setFillColorRGB(0.1, 0.2, 0.9)
            pdf.rect(300, height - 300, 200, 150, stroke=0, fill=1)
            pdf.setFillColorRGB(0, 0, 0)
        pdf.showPage()
    pdf.save()
    return path


@contextlib.contextmanager
def started(*peers: Any) -> Iterator[tuple[Any, ...]]:
    """`with started(IppEvePrinter("a"), Cupsd()) as (eve, cups):` for scripts."""
    entered: list[Any] = []
    try:
        for peer in peers:
            entered.append(peer.__enter__())
        yield tuple(entered)
    finally:
        for peer in reversed(entered):
            with contextlib.suppress(Exception):
                peer.__exit__(None, None, None)
