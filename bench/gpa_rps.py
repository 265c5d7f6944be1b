"""Get-Printer-Attributes (requested-attributes all) requests per second, printgate vs cupsd.

One run starts an ippeveprinter (the real printer behind both), printgate with a queue on it, and
a private cupsd with a driverless queue on the same printer (lpadmin -m everywhere), then loads
each server in turn with the same wrk command (2 threads, 8 keep-alive connections, a fixed IPP
body; bench/gpa.lua checks every response for HTTP 200 + successful-ok). Before timing, one
response from each server is decoded and must be successful-ok with a printer group.

    .venv/bin/python bench/gpa_rps.py [--duration 10] [--warmup 2] [--connections 8]
                                      [--rounds 1] [--profile]

--profile adds one extra printgate run under py-spy (not timed) and prints where the time goes.
"""

from __future__ import annotations

import argparse
import http.client
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import benchlib as bl
from benchlib import peers

QUEUE = "bench"


def post(url_host: str, port: int, path: str, body: bytes) -> bytes:
    conn = http.client.HTTPConnection(url_host, port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/ipp"})
        reply = conn.getresponse()
        data = reply.read()
    finally:
        conn.close()
    if reply.status != 200:
        raise peers.PeerError(f"POST {path}: HTTP {reply.status}")
    return data


def run_wrk(
    url: str, body_file: Path, duration: float, connections: int, threads: int = 2
) -> dict[str, Any]:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--latency",
        "-s",
        str(bl.BENCH_DIR / "gpa.lua"),
        url,
    ]
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        env={"IPP_BODY_FILE": str(body_file), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr}\n{result.stdout}")
    out = result.stdout
    stats: dict[str, Any] = {"raw": out}
    stats["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    stats["requests"] = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    stats["latency_ms"] = float(latency.group(1)) * scale[latency.group(2)] if latency else None
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    stats["p99_ms"] = float(p99.group(1)) * scale[p99.group(2)] if p99 else None
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    stats["socket_errors"] = sum(int(g) for g in errors.groups()) if errors else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    stats["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    for key in ("ipp-ok", "ipp-bad", "ipp-bytes"):
        found = re.search(rf"^{key} (\d+)", out, re.M)
        stats[key.replace("-", "_")] = int(found.group(1)) if found else None
    return stats


def measure(
    name: str, pid: int, url: str, body_file: Path, args: argparse.Namespace
) -> dict[str, Any]:
    run_wrk(url, body_file, args.warmup, args.connections)
    cpu_before = bl.cpu_seconds(pid)
    stats = run_wrk(url, body_file, args.duration, args.connections)
    stats["server_cpu_s"] = bl.cpu_seconds(pid) - cpu_before
    stats["name"] = name
    if stats["ipp_bad"] or stats["socket_errors"] or stats["non_2xx"]:
        print(
            f"WARNING {name}: {stats['ipp_bad']} bad IPP responses, "
            f"{stats['socket_errors']} socket errors, {stats['non_2xx']} non-2xx",
            file=sys.stderr,
        )
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    bl.warn_if_busy()

    with bl.scratch_dir("printgate-bench-gpa-") as work:
        printer = peers.IppEvePrinter("bench-printer", base_dir=work / "ippeve")
        cupsd = bl.BenchCupsd()
        gateway = peers.Printgate(
            bl.printgate_config({"eve": printer.uri}, {QUEUE: ["eve"]}), work / "printgate"
        )
        with peers.started(printer, cupsd):
            gateway.config["printers"][0]["uri"] = printer.uri  # port known once started
            cupsd.add_queue(QUEUE, printer.uri, model="everywhere")
            with gateway:
                return run(args, work, cupsd, gateway)


def run(
    args: argparse.Namespace, work: Path, cupsd: bl.BenchCupsd, gateway: peers.Printgate
) -> int:
    assert cupsd.pid is not None and gateway.pid is not None
    servers = {
        "cupsd": (cupsd.pid, cupsd.port, f"/printers/{QUEUE}", cupsd.printer_uri(QUEUE)),
        "printgate": (gateway.pid, gateway.port, f"/ipp/print/{QUEUE}", gateway.queue_uri(QUEUE)),
    }
    bodies: dict[str, Path] = {}
    shapes: dict[str, dict[str, Any]] = {}
    for name, (_, port, path, uri) in servers.items():
        body = bl.gpa_body(uri)
        bodies[name] = work / f"gpa-{name}.bin"
        bodies[name].write_bytes(body)
        shape = bl.describe_response(post("127.0.0.1", port, path, body))
        if shape["status"] != 0 or not shape["printer_attributes"]:
            raise SystemExit(f"{name} did not answer successful-ok with a printer group: {shape}")
        shape["request_bytes"] = len(body)
        shapes[name] = shape

    results: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for _ in range(args.rounds):
        for name, (pid, port, path, _) in servers.items():
            results[name].append(
                measure(name, pid, f"http://127.0.0.1:{port}{path}", bodies[name], args)
            )

    best = {name: max(runs, key=lambda r: r["rps"]) for name, runs in results.items()}
    ratio = best["printgate"]["rps"] / best["cupsd"]["rps"]
    rows = []
    for name, stats in best.items():
        rows.append(
            [
                name,
                stats["rps"],
                stats["requests"],
                stats["latency_ms"],
                stats["p99_ms"],
                shapes[name]["bytes"],
                shapes[name]["printer_attributes"],
                stats["server_cpu_s"] / args.duration * 100,
                stats["ipp_bad"] + stats["socket_errors"] + stats["non_2xx"],
            ]
        )
    print(
        f"\nGet-Printer-Attributes (requested-attributes all), wrk -t2 -c{args.connections} "
        f"-d{args.duration:g}s, {args.rounds} round(s), best shown"
    )
    print(
        bl.table(
            [
                "server",
                "req/s",
                "requests",
                "avg ms",
                "p99 ms",
                "resp bytes",
                "attrs",
                "server CPU %",
                "errors",
            ],
            rows,
        )
    )
    if args.rounds > 1:
        for name, runs in results.items():
            print(f"  {name} rounds: " + ", ".join(f"{r['rps']:,.0f}" for r in runs))
    print(f"ratio printgate/cupsd: {ratio:.2f}x  (target >= 1.00)")

    profile = ""
    if args.profile:
        spy = bl.PySpy(gateway.pid, work / "gpa.pyspy.txt")
        with spy:
            run_wrk(
                gateway.base_url + f"/ipp/print/{QUEUE}",
                bodies["printgate"],
                args.duration,
                args.connections,
            )
        profile = spy.summary()
        print(
            "\nprintgate profile during an extra (untimed) run:\n"
            + (profile or "(py-spy missing: .venv/bin/pip install py-spy)")
        )

    bl.save_result(
        "gpa_rps",
        {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "duration_s": args.duration,
            "connections": args.connections,
            "rounds": args.rounds,
            "servers": {
                name: {k: v for k, v in best[name].items() if k != "raw"} | shapes[name]
                for name in best
            },
            "all_rounds_rps": {name: [r["rps"] for r in runs] for name, runs in results.items()},
            "ratio": ratio,
            "target": 1.0,
            "profile": profile,
        },
    )
    time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
