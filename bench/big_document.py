"""A 1 GiB document through printgate to a fast sink, vs straight to the sink.

One run starts bench/ipp_sink.py (a fast IPP printer that counts document bytes and records when
the last one arrived) and printgate with a queue whose printer is that sink (data_dir under /tmp).
The same client sends a Print-Job with a streamed 1 GiB document (application/octet-stream,
random bytes repeated from a 4 MiB block, Content-Length framing) first straight to the sink,
then to the printgate queue. Each time is measured from the start of the client's upload until
the sink has received the last byte of the document (for printgate: of the job it forwarded).
printgate's VmRSS is sampled every 50 ms during its transfer, and another client sends it a
Get-Printer-Attributes every 20 ms meanwhile (its worst latency shows event-loop stalls).

    .venv/bin/python bench/big_document.py [--size-mib 1024] [--rounds 1] [--profile]
                                           [--sink-rate-mb-s R]

--sink-rate-mb-s makes the sink read no faster than R MB/s, like a real printer on a network
(117 for 1 Gbit/s Ethernet); by default it reads as fast as loopback allows, which shows
printgate's own overhead but is far faster than any printer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import benchlib as bl
from benchlib import peers

QUEUE = "big"
BLOCK = 4 << 20
SEND_SLICE = 1 << 20
MIB = 1 << 20


def document_chunks(size: int, block: bytes) -> Iterator[memoryview]:
    view = memoryview(block)
    sent = 0
    while sent < size:
        for start in range(0, len(view), SEND_SLICE):
            piece = view[start : start + min(SEND_SLICE, size - sent)]
            if not piece:
                return
            yield piece
            sent += len(piece)
            if sent >= size:
                return


def upload(
    host: str, port: int, path: str, printer_uri: str, size: int, block: bytes
) -> dict[str, Any]:
    """Print-Job with a `size`-byte document; times in time.monotonic()."""
    head = bl.print_job_head(printer_uri, "application/octet-stream", "big-document")
    conn = http.client.HTTPConnection(host, port, timeout=600)
    started = time.monotonic()
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", "application/ipp")
    conn.putheader("Content-Length", str(len(head) + size))
    conn.endheaders(head)
    for piece in document_chunks(size, block):
        conn.send(piece)
    sent = time.monotonic()
    reply = conn.getresponse()
    data = reply.read()
    answered = time.monotonic()
    conn.close()
    shape = (
        bl.describe_response(data)
        if reply.status == 200
        else {"status": -reply.status, "job_id": None}
    )
    return {
        "started": started,
        "sent": sent,
        "answered": answered,
        "status": shape["status"],
        "job_id": shape["job_id"],
    }


def sink_stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as reply:
        return dict(json.loads(reply.read()))


def wait_sink_job(port: int, size: int, known: set[str], timeout: float) -> dict[str, Any]:
    """The first new sink job that has received all `size` bytes."""

    def done() -> dict[str, Any] | None:
        for job_id, job in sink_stats(port)["jobs"].items():
            if job_id not in known and job["bytes"] >= size and job["last_byte"]:
                return {"id": job_id, **job}
        return None

    return dict(peers.wait_for(done, timeout, interval=0.02, what=f"{size} bytes at the sink"))


def wait_printgate_job(gateway: peers.Printgate, job_id: int | None, timeout: float) -> float:
    """Wait until printgate reports the job completed; when that was seen (time.monotonic())."""
    uri = gateway.queue_uri(QUEUE)
    if job_id is None:
        raise peers.PeerError("printgate answered the Print-Job without a job-id")

    def completed() -> bool:
        reply = peers.ipp_request(
            uri,
            "Get-Job-Attributes",
            [
                (0x45, "printer-uri", uri),
                (0x21, "job-id", job_id),
                (0x42, "requesting-user-name", "bench"),
                (0x44, "requested-attributes", ["job-state"]),
            ],
        )
        state = reply.first("job-state")
        if state in (7, 8):
            raise peers.PeerError(f"printgate job {job_id} ended in state {state}")
        return bool(state == 9)

    peers.wait_for(completed, timeout, interval=0.02, what=f"printgate job {job_id} completed")
    return time.monotonic()


def direct(sink_port: int, size: int, block: bytes) -> dict[str, Any]:
    known = set(sink_stats(sink_port)["jobs"])
    uri = f"ipp://127.0.0.1:{sink_port}/ipp/print"
    client = upload("127.0.0.1", sink_port, "/ipp/print", uri, size, block)
    job = wait_sink_job(sink_port, size, known, 60)
    return summarize("direct to sink", client, job, size)


def through_printgate(
    gateway: peers.Printgate, sink_port: int, size: int, block: bytes, profile_out: Path | None
) -> dict[str, Any]:
    assert gateway.pid is not None
    known = set(sink_stats(sink_port)["jobs"])
    baseline = bl.vm_rss_kib(gateway.pid)
    cpu_before = bl.cpu_seconds(gateway.pid)
    spy = bl.PySpy(gateway.pid if profile_out else None, profile_out or Path("/dev/null"))
    probe = GpaProbe(gateway.host, gateway.port, f"/ipp/print/{QUEUE}", gateway.queue_uri(QUEUE))
    with bl.RssSampler(gateway.pid, 0.05) as rss, spy, probe:
        client = upload(
            gateway.host, gateway.port, f"/ipp/print/{QUEUE}", gateway.queue_uri(QUEUE), size, block
        )
        job = wait_sink_job(sink_port, size, known, 300)
        completed = wait_printgate_job(gateway, client["job_id"], 60)
    result = summarize("through printgate", client, job, size)
    result["printgate_job_completed_s"] = completed - client["started"]
    result["server_cpu_s"] = bl.cpu_seconds(gateway.pid) - cpu_before
    result["rss_baseline_mib"] = baseline / 1024
    result["rss_peak_mib"] = rss.peak_kib / 1024
    result["rss_growth_mib"] = (rss.peak_kib - baseline) / 1024
    result["rss_samples"] = len(rss.samples)
    result.update(probe.figures())
    result["probe_max_at_s"] = result.pop("probe_max_started") - client["started"]
    if profile_out:
        result["profile"] = spy.summary()
    return result


class GpaProbe:
    """Another client's view during the transfer: one Get-Printer-Attributes every 20 ms on its
    own keep-alive connection, each answer's latency recorded (a stalled event loop shows)."""

    def __init__(self, host: str, port: int, path: str, printer_uri: str):
        self.host, self.port, self.path = host, port, path
        self.body = bl.gpa_body(printer_uri)
        self.latencies: list[float] = []
        self.worst: tuple[float, float] = (0.0, 0.0)  # (latency, monotonic time it started)
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gpa-probe", daemon=True)

    def _run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Content-Type": "application/ipp"}
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                conn.request("POST", self.path, body=self.body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                if reply.status != 200 or data[2:4] != b"\x00\x00":
                    self.errors += 1
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.latencies.append(time.monotonic() - started)
            self.worst = max(self.worst, (self.latencies[-1], started))
            self._stop.wait(0.02)
        conn.close()

    def __enter__(self) -> GpaProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.latencies) or [0.0]
        return {
            "probe_requests": len(self.latencies),
            "probe_errors": self.errors,
            "probe_p50_ms": ordered[len(ordered) // 2] * 1000,
            "probe_p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
            "probe_max_ms": ordered[-1] * 1000,
            "probe_max_started": self.worst[1],
        }


def summarize(name: str, client: dict[str, Any], job: dict[str, Any], size: int) -> dict[str, Any]:
    t0 = client["started"]
    total = job["last_byte"] - t0
    return {
        "name": name,
        "ipp_status": client["status"],
        "bytes_at_sink": job["bytes"],
        "seconds": total,
        "mb_per_s": size / total / 1e6,
        "upload_s": client["answered"] - t0,
        "sink_first_byte_s": job["first_byte"] - t0,
        "sink_last_byte_s": total,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--sink-rate-mb-s", type=float, default=0.0)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="one extra printgate transfer under py-spy (not in the figures)",
    )
    args = parser.parse_args()
    size = args.size_mib * MIB
    block = os.urandom(BLOCK)
    bl.warn_if_busy()

    with bl.scratch_dir("printgate-bench-big-") as work:
        sink_port = peers.free_port()
        sink = bl.BenchProcess(
            [
                bl.PYTHON,
                str(bl.BENCH_DIR / "ipp_sink.py"),
                "--port",
                str(sink_port),
                "--rate-mb-s",
                str(args.sink_rate_mb_s),
            ],
            work / "sink.log",
        )
        with sink:
            bl.wait_http_ok(f"http://127.0.0.1:{sink_port}/healthz", proc=sink)
            sink_uri = f"ipp://127.0.0.1:{sink_port}/ipp/print"
            config = bl.printgate_config({"sink": sink_uri}, {QUEUE: ["sink"]})
            with peers.Printgate(config, work / "printgate") as gateway:
                # A small job first: printgate has the sink's attributes and a warm connection.
                warm = 1 * MIB
                direct(sink_port, warm, block)
                through_printgate(gateway, sink_port, warm, block, None)
                runs: dict[str, list[dict[str, Any]]] = {"direct": [], "printgate": []}
                for _ in range(args.rounds):
                    runs["direct"].append(direct(sink_port, size, block))
                    runs["printgate"].append(
                        through_printgate(gateway, sink_port, size, block, None)
                    )
                profile = ""
                if args.profile:
                    profile = through_printgate(
                        gateway, sink_port, size, block, work / "big.pyspy.txt"
                    ).get("profile", "")
                leftovers = list((work / "printgate" / "spool").glob("*"))
                log_errors = [
                    line
                    for line in gateway.log().splitlines()
                    if " ERROR " in line or "Traceback" in line
                ][:5]

    best = {k: max(v, key=lambda r: r["mb_per_s"]) for k, v in runs.items()}
    d, p = best["direct"], best["printgate"]
    ratio = p["mb_per_s"] / d["mb_per_s"]
    sink_speed = f"at {args.sink_rate_mb_s:g} MB/s" if args.sink_rate_mb_s else "unthrottled"
    print(
        f"\n{args.size_mib} MiB document (application/octet-stream), Print-Job, sink "
        f"{sink_speed}, "
        f"{args.rounds} round(s), best shown; times from the start of the upload"
    )
    rows = [
        [
            r["name"],
            r["mb_per_s"],
            r["seconds"],
            r["upload_s"],
            r["sink_first_byte_s"],
            r["sink_last_byte_s"],
            r["bytes_at_sink"],
            r["ipp_status"],
        ]
        for r in (d, p)
    ]
    print(
        bl.table(
            [
                "path",
                "MB/s",
                "seconds",
                "client answered s",
                "sink first byte s",
                "sink last byte s",
                "bytes at sink",
                "IPP status",
            ],
            rows,
        )
    )
    print(f"ratio printgate/direct: {ratio:.2f}x  (target >= 0.80)")
    print(
        f"printgate VmRSS: {p['rss_baseline_mib']:.1f} MiB before, peak "
        f"{p['rss_peak_mib']:.1f} MiB, growth {p['rss_growth_mib']:.1f} MiB "
        f"(target < 50 MiB; {p['rss_samples']} samples at 50 ms); printgate CPU "
        f"{p['server_cpu_s']:.1f} s"
    )
    print(
        f"printgate phases: spooled and answered the client at {p['upload_s']:.2f} s, "
        f"began forwarding at {p['sink_first_byte_s']:.2f} s, forward took "
        f"{p['sink_last_byte_s'] - p['sink_first_byte_s']:.2f} s "
        f"({size / (p['sink_last_byte_s'] - p['sink_first_byte_s']) / 1e6:,.0f} MB/s); "
        f"job completed in printgate at {p['printgate_job_completed_s']:.2f} s"
    )
    print(
        f"another client's Get-Printer-Attributes meanwhile (every 20 ms): "
        f"{p['probe_requests']} answered, p50 {p['probe_p50_ms']:.1f} ms, "
        f"p99 {p['probe_p99_ms']:.1f} ms, max {p['probe_max_ms']:.1f} ms "
        f"(sent at {p['probe_max_at_s']:.2f} s), "
        f"{p['probe_errors']} errors"
    )
    if leftovers:
        print(f"NOTE: spool not empty after the jobs completed: {[x.name for x in leftovers]}")
    if log_errors:
        print("printgate log errors:\n  " + "\n  ".join(log_errors))
    if profile:
        print("\nprintgate profile during an extra (untimed) transfer:\n" + profile)
    bl.save_result(
        f"big_document_sink{args.sink_rate_mb_s:g}MBps" if args.sink_rate_mb_s else "big_document",
        {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "size_bytes": size,
            "sink_rate_mb_s": args.sink_rate_mb_s,
            "rounds": args.rounds,
            "direct": d,
            "printgate": {k: v for k, v in p.items() if k != "profile"},
            "all_rounds_mb_per_s": {k: [r["mb_per_s"] for r in v] for k, v in runs.items()},
            "ratio": ratio,
            "target_ratio": 0.8,
            "target_rss_growth_mib": 50,
            "spool_leftovers": [x.name for x in leftovers],
            "profile": profile,
        },
    )
    ok = p["ipp_status"] == 0 and d["ipp_status"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
