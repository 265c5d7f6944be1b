"""Meter reads of many printers: printgate's poller vs net-snmp's command-line tools.

    .venv/bin/python bench/snmp_poll.py [--devices 1000] [--agents 4] [--concurrency 50]
                                        [--sweep 50,100,200,400]

The devices are UDP endpoints on 127.0.8.1 ... (one port), served by a few net-snmp snmpd
processes that answer with a colour printer's objects (Printer MIB, HP's counters and
sysObjectID). Both sides read every device once, 50 devices at a time:

- printgate: its poller (gateway.snmp.poller.read_device: one GETBULK walk of the printer's
  columns, then a GET of the vendor counters), in a process of its own, so its RSS is its own.
- net-snmp: `xargs -P 50` running, per device, `snmpget` of the scalars and `snmpbulkwalk` of
  the supplies table.

Printed: wall time, devices per second, devices that timed out, the poller's peak RSS, the UDP
receive-buffer overflows (RcvbufErrors in /proc/net/snmp) during each run, and the ratio
printgate / net-snmp. --sweep repeats printgate's run at other concurrencies, to show where the
kernel starts dropping answers (and devices falsely time out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import benchlib as bl

from tests.snmp_peers import Snmpd, free_udp_port

PRINTER_OBJECTS = [
    ("1.3.6.1.2.1.25.3.5.1.1.1", "integer", "3"),
    ("1.3.6.1.2.1.25.3.5.1.2.1", "octet_str", '""'),
    ("1.3.6.1.2.1.43.5.1.1.17.1", "octet_str", "CNB1234567"),
    ("1.3.6.1.2.1.43.10.2.1.3.1.1", "integer", "7"),
    ("1.3.6.1.2.1.43.10.2.1.4.1.1", "counter", "12000"),
    ("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.6.0", "counter", "9000"),
    ("1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.7.0", "counter", "3000"),
]
for _i, (_name, _level) in enumerate(
    (
        ("Black Cartridge", 7200),
        ("Cyan Cartridge", 300),
        ("Magenta Cartridge", 4000),
        ("Yellow Cartridge", 5100),
    ),
    start=1,
):
    PRINTER_OBJECTS += [
        (f"1.3.6.1.2.1.43.11.1.1.4.1.{_i}", "integer", "3"),
        (f"1.3.6.1.2.1.43.11.1.1.5.1.{_i}", "integer", "21"),
        (f"1.3.6.1.2.1.43.11.1.1.6.1.{_i}", "octet_str", f'"{_name}"'),
        (f"1.3.6.1.2.1.43.11.1.1.7.1.{_i}", "integer", "19"),
        (f"1.3.6.1.2.1.43.11.1.1.8.1.{_i}", "integer", "9000"),
        (f"1.3.6.1.2.1.43.11.1.1.9.1.{_i}", "integer", str(_level)),
    ]
SCALARS = [
    "1.3.6.1.2.1.1.1.0",
    "1.3.6.1.2.1.1.2.0",
    "1.3.6.1.2.1.1.5.0",
    "1.3.6.1.2.1.1.6.0",
    "1.3.6.1.2.1.43.5.1.1.17.1",
    "1.3.6.1.2.1.43.10.2.1.4.1.1",
    "1.3.6.1.2.1.25.3.5.1.1.1",
    "1.3.6.1.2.1.25.3.5.1.2.1",
    "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.6.0",
    "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2.7.0",
]
SUPPLIES = "1.3.6.1.2.1.43.11.1.1"


def addresses(count: int, first_net: int = 8) -> list[str]:
    """127.0.8.1 ... 127.0.8.250, 127.0.9.1 ...: loopback addresses, 250 per /24."""
    return [f"127.0.{first_net + i // 250}.{1 + i % 250}" for i in range(count)]


def rcvbuf_errors() -> int:
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    header, values = [line for line in lines if line[0] == "Udp:"][:2]
    return int(values[header.index("RcvbufErrors")])


def start_agents(base: Path, endpoints: list[str], agents: int) -> list[Snmpd]:
    share = -(-len(endpoints) // agents)
    started = []
    for n in range(agents):
        part = endpoints[n * share : (n + 1) * share]
        if part:
            agent = Snmpd(
                base / f"snmpd-{n}", part, PRINTER_OBJECTS, sys_object_id="1.3.6.1.4.1.11.2.3.9.1"
            )
            started.append(agent.start())
    return started


# --- printgate, in a child process ----------------------------------------------------------


async def _poll(
    endpoints: list[str], concurrency: int, wait: float, rcvbuf: int = -1
) -> dict[str, object]:
    from gateway.snmp import udp
    from gateway.snmp.client import SnmpClient, SnmpError, Target, split_host_port
    from gateway.snmp.poller import bounded, read_device

    if rcvbuf >= 0:
        udp.RECEIVE_BUFFER = rcvbuf

    client = SnmpClient(wait, 1)
    failed: list[str] = []
    complete = 0

    async def one(address: str) -> None:
        nonlocal complete
        host, port = split_host_port(address)
        try:
            found = await read_device(client, Target(host, port))
        except SnmpError as exc:
            failed.append(str(exc))
            return
        if found.total == 12000 and len(found.supplies) == 4 and found.color == 3000:
            complete += 1

    started = time.perf_counter()
    await bounded(endpoints, concurrency, one)
    wall = time.perf_counter() - started
    buffer = client.udp.receive_buffer
    client.close()
    return {
        "wall": wall,
        "failed": len(failed),
        "complete": complete,
        "errors": sorted(set(failed))[:3],
        "rcvbuf_bytes": buffer,
    }


def child(args: argparse.Namespace) -> int:
    endpoints = Path(args.child).read_text().split()
    result = asyncio.run(_poll(endpoints, args.concurrency, args.timeout, args.rcvbuf))
    result["rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result))
    return 0


def run_printgate(
    endpoints_file: Path, concurrency: int, timeout: float, rcvbuf: int = -1
) -> dict[str, object]:
    before = rcvbuf_errors()
    out = subprocess.run(
        [
            bl.PYTHON,
            __file__,
            "--child",
            str(endpoints_file),
            "--concurrency",
            str(concurrency),
            "--timeout",
            str(timeout),
            "--rcvbuf",
            str(rcvbuf),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=bl.REPO_ROOT,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    result["rcvbuf_errors"] = rcvbuf_errors() - before
    return result


# --- net-snmp ---------------------------------------------------------------------------------


def run_netsnmp(endpoints: list[str], parallel: int, timeout: float) -> dict[str, object]:
    script = (
        'snmpget -v2c -c public -t {t} -r 1 -OQn "$1" {scalars} >/dev/null 2>&1 '
        '&& snmpbulkwalk -v2c -c public -t {t} -r 1 -OQn -Cr12 "$1" {supplies} >/dev/null 2>&1 '
        '|| echo FAIL "$1"'
    ).format(t=timeout, scalars=" ".join(SCALARS), supplies=SUPPLIES)
    before = rcvbuf_errors()
    started = time.perf_counter()
    out = subprocess.run(
        ["xargs", "-P", str(parallel), "-n", "1", "sh", "-c", script, "poll"],
        input="\n".join(endpoints),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MIBS": ""},
    )
    wall = time.perf_counter() - started
    failed = [line for line in out.stdout.splitlines() if line.startswith("FAIL")]
    return {"wall": wall, "failed": len(failed), "rcvbuf_errors": rcvbuf_errors() - before}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=4, help="snmpd processes serving them")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument(
        "--sweep", default="", help="other concurrencies for printgate, e.g. 100,200,400"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rcvbuf", type=int, default=-1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    bl.warn_if_busy()
    hosts = addresses(args.devices)
    port = free_udp_port(hosts[0])
    endpoints = [f"{h}:{port}" for h in hosts]
    with bl.scratch_dir("printgate-bench-snmp-") as base:
        agents = start_agents(base, endpoints, args.agents)
        try:
            endpoints_file = base / "endpoints.txt"
            endpoints_file.write_text("\n".join(endpoints))
            # One untimed pass of each warms the agents' caches and the page cache.
            run_netsnmp(endpoints[:100], args.concurrency, args.timeout)
            ours = run_printgate(endpoints_file, args.concurrency, args.timeout)
            theirs = run_netsnmp(endpoints, args.concurrency, args.timeout)
            # The sweep runs each concurrency twice: with the receive buffer printgate asks
            # for, and with the kernel's default one (rcvbuf 0), to show where answers are
            # dropped for want of room and devices falsely time out.
            sweep = [
                (c, buf, run_printgate(endpoints_file, c, args.timeout, buf))
                for c in (int(x) for x in args.sweep.split(",") if x)
                for buf in (-1, 0)
            ]
        finally:
            for agent in agents:
                agent.stop()
    n = args.devices

    def line(name: str, concurrency: int, r: dict[str, object], mine: bool) -> list[object]:
        return [
            name,
            concurrency,
            r["wall"],
            n / float(r["wall"]),  # type: ignore[arg-type]
            r["failed"],
            r["rcvbuf_errors"],
            int(r["rss_kib"]) / 1024 if mine else "-",  # type: ignore[call-overload]
            int(r["rcvbuf_bytes"]) // 1024 if mine else "-",  # type: ignore[call-overload]
        ]

    rows = [
        line("printgate", args.concurrency, ours, True),
        line("net-snmp (xargs -P)", args.concurrency, theirs, False),
    ]
    rows += [
        line("printgate" + (" (default buffer)" if buf == 0 else ""), c, r, True)
        for c, buf, r in sweep
    ]
    headers = ["client", "in flight", "wall s", "devices/s", "timeouts", "rcvbuf drops"]
    print(bl.table([*headers, "RSS MiB", "buffer KiB"], rows))
    ratio = float(theirs["wall"]) / float(ours["wall"])  # type: ignore[arg-type]
    print(f"\nratio printgate / net-snmp (devices per second): {ratio:.2f}x")
    print(f"complete readings (4 supplies, total, colour): {ours['complete']} of {n}")
    bl.save_result(
        "snmp_poll",
        {
            "devices": n,
            "concurrency": args.concurrency,
            "printgate": ours,
            "netsnmp": theirs,
            "ratio": ratio,
            "sweep": [{"concurrency": c, "default_buffer": b == 0, **r} for c, b, r in sweep],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
