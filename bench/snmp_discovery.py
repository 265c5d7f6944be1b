"""Discovery of a /24 on loopback with 50 live agents: how long `printgate snmp discover`
takes, and how long the scan itself takes inside a running printgate.

    .venv/bin/python bench/snmp_discovery.py [--agents 50] [--rounds 3]

One snmpd answers as a printer on 50 addresses of 127.0.20.0/24 (one port); the other 204
addresses have nobody listening, so each of them costs printgate a full timeout
([snmp] discover_timeout, 1 s, asked twice). Target: under 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

import benchlib as bl
from snmp_poll import PRINTER_OBJECTS

from tests.snmp_peers import Snmpd, free_udp_port

NETWORK = "127.0.20.0/24"


async def _scan(port: int) -> tuple[float, int]:
    from gateway.snmp.client import Credentials, SnmpClient
    from gateway.snmp.discovery import scan

    client = SnmpClient(1.0, 1)
    started = time.perf_counter()
    found = await scan(client, [NETWORK], port, Credentials(), 1.0, 256)
    wall = time.perf_counter() - started
    client.close()
    return wall, sum(1 for f in found if f.is_printer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bl.warn_if_busy()
    hosts = [f"127.0.20.{i}" for i in range(1, 255)]
    live = hosts[:: max(1, len(hosts) // args.agents)][: args.agents]
    port = free_udp_port(live[0])
    in_process: list[float] = []
    command: list[float] = []
    with bl.scratch_dir("printgate-bench-discovery-") as base:
        agent = Snmpd(base / "snmpd", [f"{h}:{port}" for h in live], PRINTER_OBJECTS).start()
        try:
            for _ in range(args.rounds):
                wall, printers = asyncio.run(_scan(port))
                assert printers == len(live), f"found {printers} printers of {len(live)}"
                in_process.append(wall)
                started = time.perf_counter()
                out = subprocess.run(
                    [
                        bl.PYTHON,
                        "-m",
                        "gateway",
                        "snmp",
                        "discover",
                        NETWORK,
                        "--port",
                        str(port),
                        "--json",
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=bl.REPO_ROOT,
                )
                command.append(time.perf_counter() - started)
                assert len(json.loads(out.stdout)) == len(live)
        finally:
            agent.stop()
    rows = [
        ["scan inside printgate", len(live), min(in_process), statistics.median(in_process)],
        ["printgate snmp discover (process)", len(live), min(command), statistics.median(command)],
    ]
    print(bl.table(["what", "printers found", "best s", "median s"], rows))
    bl.save_result(
        "snmp_discovery",
        {"network": NETWORK, "live": len(live), "scan_s": in_process, "command_s": command},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
