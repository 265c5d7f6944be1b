"""Run the benchmarks one after the other and print a summary of the figures.

    .venv/bin/python bench/run_all.py [--profile] [--quick]

Each benchmark runs as its own process (bench/gpa_rps.py, bench/intake.py,
bench/big_document.py, bench/analysis.py, bench/snmp_poll.py, bench/snmp_discovery.py) with
its own output; each writes its figures to bench/results/NAME.json, from which the summary at
the end is made. --profile passes --profile
on to the first three (an extra untimed py-spy run of printgate in each); --quick runs shorter
versions (a smoke test: its figures are not kept, bench/results/ is left alone).
Exit status: non-zero if a benchmark failed to run (missing a target is not a failure).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib as bl

QUICK = {
    "gpa_rps": ["--duration", "3", "--warmup", "1"],
    "intake": ["--jobs", "300", "--warmup", "30", "--rounds", "1"],
    "big_document": ["--size-mib", "256"],
    "analysis": ["--pages", "20", "--raster-pages", "4", "--rounds", "1"],
    "snmp_poll": ["--devices", "200", "--sweep", ""],
    "snmp_discovery": ["--rounds", "1"],
}

# The benchmarks that can run printgate under py-spy once more.
PROFILED = ("gpa_rps", "intake", "big_document")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        # Smoke-test figures must not replace the real ones in bench/results/.
        bl.RESULTS_DIR = Path(tempfile.mkdtemp(prefix="printgate-bench-quick-"))
        os.environ["PRINTGATE_BENCH_RESULTS"] = str(bl.RESULTS_DIR)
    failed = []
    started = time.monotonic()
    for name in QUICK:
        argv = [bl.PYTHON, str(bl.BENCH_DIR / f"{name}.py")]
        if args.quick:
            argv += QUICK[name]
        if args.profile and name in PROFILED:
            argv.append("--profile")
        print(f"\n===== {name}: {' '.join(argv[1:])}", flush=True)
        before = (
            (bl.RESULTS_DIR / f"{name}.json").stat().st_mtime
            if (bl.RESULTS_DIR / f"{name}.json").exists()
            else 0.0
        )
        result = subprocess.run(argv, check=False)
        fresh = (bl.RESULTS_DIR / f"{name}.json").exists() and (
            bl.RESULTS_DIR / f"{name}.json"
        ).stat().st_mtime > before
        if result.returncode != 0 or not fresh:
            failed.append(name)
    print(f"\n===== summary ({time.monotonic() - started:.0f} s)")
    print(summary())
    if args.quick:
        shutil.rmtree(bl.RESULTS_DIR, ignore_errors=True)
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _load(name: str) -> dict:  # type: ignore[type-arg]
    path = bl.RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def summary() -> str:
    rows = []
    gpa = _load("gpa_rps")
    if gpa:
        s = gpa["servers"]
        rows.append(
            [
                "Get-Printer-Attributes req/s",
                s["printgate"]["rps"],
                "cupsd",
                s["cupsd"]["rps"],
                f"{gpa['ratio']:.2f}x",
                ">= 1.00x",
            ]
        )
    intake = _load("intake")
    if intake:
        s = intake["servers"]
        for peer in ("cupsd", "cupsd SyncOnClose"):
            if peer in s:
                rows.append(
                    [
                        "Print-Job intake jobs/s",
                        s["printgate"]["jobs_per_s"],
                        peer,
                        s[peer]["jobs_per_s"],
                        f"{intake['ratios'][peer]:.2f}x",
                        "-",
                    ]
                )
    big = _load("big_document")
    if big:
        rows.append(
            [
                f"{big['size_bytes'] >> 20} MiB document MB/s",
                big["printgate"]["mb_per_s"],
                "direct to sink",
                big["direct"]["mb_per_s"],
                f"{big['ratio']:.2f}x",
                ">= 0.80x",
            ]
        )
        rows.append(
            ["  printgate RSS growth MiB", big["printgate"]["rss_growth_mib"], "", "", "", "< 50"]
        )
    analysis = _load("analysis")
    if analysis:
        pdf = analysis["pdf"]
        rows.append(
            [
                "PDF analysis s (warm worker)",
                pdf["printgate_worker_s"],
                "gs ink_cov",
                pdf["ink_cov_s"],
                f"{pdf['ratio_worker']:.2f}x",
                ">= 2.00x",
            ]
        )
        raster = analysis["pwg_raster"]
        rows.append(["PWG raster 300 dpi pages/s", raster["pages_per_s"], "", "", "", "-"])
    poll = _load("snmp_poll")
    if poll:
        devices = poll["devices"]
        rows.append(
            [
                f"SNMP poll of {devices} devices/s",
                devices / float(poll["printgate"]["wall"]),
                "net-snmp xargs -P",
                devices / float(poll["netsnmp"]["wall"]),
                f"{poll['ratio']:.2f}x",
                ">= 1.00x",
            ]
        )
    discovery = _load("snmp_discovery")
    if discovery:
        rows.append(["/24 discovery s (50 agents)", min(discovery["scan_s"]), "", "", "", "< 5 s"])
    return bl.table(["measure", "printgate", "peer", "peer value", "ratio", "target"], rows)


if __name__ == "__main__":
    sys.exit(main())
