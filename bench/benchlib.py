"""Shared helpers for the benchmarks in bench/: peers (reused from tests/peers/), IPP request
bodies, a VmRSS sampler, result tables and JSON records.

Every benchmark starts its own peers on free loopback ports, in temporary directories, and stops
them by PID (tests/peers/ does that for cupsd, ippeveprinter and printgate; bench-only
processes are started and stopped here, by PID too).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from gateway.ipp import Message, Op, Tag, decode, encode  # noqa: E402
from gateway.ipp import model as m  # noqa: E402
from tests import peers as peers  # noqa: E402  (re-exported for the bench scripts)

PYTHON = sys.executable
# Where each benchmark writes its latest figures (run_all.py --quick points it elsewhere).
RESULTS_DIR = Path(os.environ.get("PRINTGATE_BENCH_RESULTS", BENCH_DIR / "results"))

# --------------------------------------------------------------------------------------------
# Peers


class BenchCupsd(peers.Cupsd):
    """peers.Cupsd with a quiet log (LogLevel debug costs cupsd a lot under load), no job-count
    limit, and optionally `SyncOnClose Yes` (cups-files.conf: fsync each spool file, as printgate
    does)."""

    def __init__(self, *, sync_on_close: bool = False, extra_conf: str = "", **kwargs: Any):
        conf = "MaxJobs 0\nMaxJobsPerPrinter 0\nMaxJobsPerUser 0\nPreserveJobFiles No\n"
        kwargs.setdefault("log_level", "warn")
        super().__init__(extra_conf=conf + extra_conf, **kwargs)
        self.sync_on_close = sync_on_close

    def _write_conf(self) -> None:
        super()._write_conf()
        if self.sync_on_close:
            with self.files_conf.open("a") as conf:
                conf.write("SyncOnClose Yes\n")


class BenchProcess:
    """A bench-only child process (the IPP sink, the echo server), in its own session, output
    to a log file, stopped by PID."""

    def __init__(self, argv: Sequence[str], log_path: Path):
        self.argv = list(argv)
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> BenchProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        os.kill(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def __enter__(self) -> BenchProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_http_ok(url: str, timeout: float = 20.0, proc: BenchProcess | None = None) -> None:
    def ok() -> bool:
        if proc is not None and proc.popen is not None and proc.popen.poll() is not None:
            raise peers.PeerError(f"{proc.argv[:3]} exited: {proc.log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    peers.wait_for(ok, timeout, what=f"GET {url}")


def printgate_config(
    printers: dict[str, str], queues: dict[str, list[str]], **server: Any
) -> dict[str, Any]:
    return {
        "server": dict(server),
        "printers": [{"name": n, "uri": u} for n, u in printers.items()],
        "queues": [{"name": n, "printers": p} for n, p in queues.items()],
    }


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory under /tmp (mode 755: cupsd's filters run as lp)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# IPP bodies


def operation_attrs(printer_uri: str, *extra: m.Attribute) -> m.Group:
    return m.group(
        Tag.OPERATION,
        [
            m.charset("attributes-charset", "utf-8"),
            m.language("attributes-natural-language", "en"),
            m.uri("printer-uri", printer_uri),
            m.name_("requesting-user-name", "bench"),
            *extra,
        ],
    )


def gpa_body(printer_uri: str, request_id: int = 1) -> bytes:
    """Get-Printer-Attributes, requested-attributes all."""
    return encode(
        Message(
            (2, 0),
            Op.GET_PRINTER_ATTRIBUTES,
            request_id,
            (operation_attrs(printer_uri, m.keyword("requested-attributes", "all")),),
        )
    )


def print_job_head(
    printer_uri: str, document_format: str, job_name: str = "bench", request_id: int = 1
) -> bytes:
    """The attribute part of a Print-Job request; the document follows it."""
    return encode(
        Message(
            (2, 0),
            Op.PRINT_JOB,
            request_id,
            (
                operation_attrs(
                    printer_uri,
                    m.name_("job-name", job_name),
                    m.mime("document-format", document_format),
                ),
            ),
        )
    )


def describe_response(data: bytes) -> dict[str, Any]:
    """Status, size, job-id and the printer group's attribute count of an IPP response."""
    message, _ = decode(data)
    printer = message.group(Tag.PRINTER)
    job = message.group(Tag.JOB)
    job_id = job.get("job-id") if job else None
    return {
        "status": message.code,
        "printer_attributes": len(printer.attributes) if printer else 0,
        "job_id": job_id.integer() if job_id else None,
        "bytes": len(data),
    }


# --------------------------------------------------------------------------------------------
# Measuring


def vm_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssSampler:
    """Samples a process's VmRSS every `interval` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.samples.append((time.monotonic(), vm_rss_kib(self.pid)))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_kib(self) -> int:
        return max((kib for _, kib in self.samples), default=0)


def cpu_seconds(pid: int) -> float:
    """user+system CPU time of a process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def save_result(name: str, result: dict[str, Any]) -> Path:
    """bench/results/NAME.json: the latest figures, for run_all.py and the README."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        **result,
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}".strip(", ")


class PySpy:
    """`py-spy record` on a PID for the duration of a block, if py-spy is installed
    (pip install py-spy into the venv); prints nothing and records nothing otherwise."""

    def __init__(
        self, pid: int | None, out: Path, duration: int | None = None, native: bool = False
    ):
        self.pid = pid
        self.out = out
        self.duration = duration
        self.native = native
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binary() -> str | None:
        candidate = Path(PYTHON).parent / "py-spy"
        if candidate.exists():
            return str(candidate)
        import shutil

        return shutil.which("py-spy")

    def __enter__(self) -> PySpy:
        binary = self.binary()
        if binary is None or self.pid is None:
            return self
        argv = [
            binary,
            "record",
            "--pid",
            str(self.pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--output",
            str(self.out),
            "--nonblocking",
            "--threads",
        ]
        if self.duration:
            argv += ["--duration", str(self.duration)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def summary(self, top: int = 12) -> str:
        """Self time and inclusive time per function from a raw (collapsed) profile."""
        if not self.out.exists():
            return ""
        return summarize_collapsed(self.out.read_text(), top)


ENTRY_FRAMES = frozenset(
    {
        "<module>",
        "main",
        "_serve",
        "serve",
        "run",
        "Runner.run",
        "_run_module_as_main",
        "_run_code",
        "Thread._bootstrap",
        "Thread._bootstrap_inner",
        "Thread.run",
    }
)


def summarize_collapsed(text: str, top: int = 12) -> str:
    """Where a py-spy raw profile (recorded with --threads) spends its samples: per thread, by
    self time, and inclusive time in gateway/aiohttp/SQL frames."""
    self_time: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    per_thread: dict[str, int] = {}
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        if frames[0].startswith("thread ("):
            thread = frames.pop(0).split(": ", 1)[-1]
            if thread.startswith(("asyncio_", "uvloop_")):  # the default executor: to_thread
                thread = "executor (to_thread)"
            per_thread[thread] = per_thread.get(thread, 0) + count
        if not frames:
            continue
        short = [_short_frame(f) for f in frames]
        self_time[short[-1]] = self_time.get(short[-1], 0) + count
        for frame in set(short):
            if frame.split(" (")[0] not in ENTRY_FRAMES:
                inclusive[frame] = inclusive.get(frame, 0) + count
    if not total:
        return ""
    lines = [f"py-spy: {total} samples (idle threads not sampled)"]
    if per_thread:
        lines.append(
            "  by thread: "
            + ", ".join(
                f"{name} {100 * n / total:.0f}%"
                for name, n in sorted(per_thread.items(), key=lambda kv: -kv[1])
            )
        )
    lines.append("  top self time:")
    lines += [
        f"    {100 * n / total:5.1f}%  {name}"
        for name, n in sorted(self_time.items(), key=lambda kv: -kv[1])[:top]
    ]
    interesting = sorted(
        (
            (n, f)
            for f, n in inclusive.items()
            if any(k in f for k in ("gateway/", "aiohttp", "sqlalchemy", "aiosqlite"))
        ),
        reverse=True,
    )[:top]
    lines.append("  top inclusive (gateway, aiohttp, SQLAlchemy, aiosqlite frames):")
    lines += [f"    {100 * n / total:5.1f}%  {f}" for n, f in interesting]
    return "\n".join(lines)


def _short_frame(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; keep function and file tail.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path, _, _line = where.rpartition(":")
    parts = Path(path).parts if path else ()
    if "site-packages" in parts:
        tail = "/".join(parts[parts.index("site-packages") + 1 :])
    elif "gateway" in parts:
        tail = "/".join(parts[parts.index("gateway") :])
    else:
        tail = "/".join(parts[-2:])
    return f"{name} ({tail})" if tail else name


def _proc_cpu_ticks() -> dict[int, tuple[str, int]]:
    ticks: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            text = (entry / "stat").read_text()
            name = text[text.index("(") + 1 : text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            ticks[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))
    return ticks


def warn_if_busy(seconds: float = 1.0, threshold: float = 0.25) -> float:
    """Other processes' CPU use (in cores) over `seconds`; prints a warning above `threshold`:
    on a 2-core machine a busy neighbour skews every figure."""
    before = _proc_cpu_ticks()
    time.sleep(seconds)
    after = _proc_cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    used = sorted(
        ((t - before[pid][1]) / hz / seconds, name, pid)
        for pid, (name, t) in after.items()
        if pid in before and pid != me
    )
    busy = sum(u for u, _, _ in used)
    if busy > threshold:
        top = ", ".join(f"{name}[{pid}] {u:.0%}" for u, name, pid in reversed(used[-3:]) if u > 0)
        print(
            f"WARNING: other processes use {busy:.2f} of {os.cpu_count()} cores right now "
            f"({top}); figures will be noisy",
            file=sys.stderr,
        )
    return busy
