"""What the credential check and the job's accounting record cost per job: Print-Job latency on
an auth=password queue (HTTP Basic, job-account-id, project and department required) against an
auth=none queue of the same printgate, on the same printer, from the same client.

One run starts printgate with two queues on one printer (by default an ippeveprinter printgate
saw at start-up and that is then stopped, so jobs stay spooled and nothing is forwarded while
the figures are taken; --printer virtual forwards them to the built-in file printer instead).
The user, project and department of the password queue are made with the printgate CLI. One
client (http.client, one keep-alive connection) then sends N sequential Print-Jobs of a small
PDF to each queue, alternating between the queues job by job, so both see the same amount of
spooled work. The password queue's requests carry `Authorization: Basic` (as a client sends it
after the first 401) and job-account-id=PROJECT/DEPARTMENT. Every response must be
successful-ok with a job-id; afterwards `printgate jobs --json` must show every password-queue
job charged to the user, project and department, and no job held.

    .venv/bin/python bench/credentials.py [--jobs 500] [--warmup 20] [--printer offline|virtual]

The target: the password queue adds under 5 ms median per job over auth=none.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import benchlib as bl
from benchlib import peers

from gateway.ipp import Message, Op, Tag, encode
from gateway.ipp import model as m

OPEN, LISTED, SECURE = "open", "listed", "secure"
QUEUES = (OPEN, LISTED, SECURE)
LABELS = {
    OPEN: "auth=none",
    LISTED: "auth=list + project/department (no password)",
    SECURE: "auth=password + project/department",
}
USER, PASSWORD = "alice", "wonder"
PROJECT, DEPARTMENT = "Project146", "Engineering"
TARGET_MS = 5.0
JOB_ID_MARKER = b"\x21\x00\x06job-id\x00\x04"


def print_job_head(printer_uri: str, request_id: int, account: str | None) -> bytes:
    groups = [
        m.group(
            Tag.OPERATION,
            [
                m.charset("attributes-charset", "utf-8"),
                m.language("attributes-natural-language", "en"),
                m.uri("printer-uri", printer_uri),
                m.name_("requesting-user-name", USER),
                m.name_("job-name", f"bench-{request_id}"),
                m.mime("document-format", "application/pdf"),
            ],
        )
    ]
    if account:
        groups.append(m.group(Tag.JOB, [m.name_("job-account-id", account)]))
    return encode(Message((2, 0), Op.PRINT_JOB, request_id, tuple(groups)))


class Client:
    """One keep-alive connection; each call sends one Print-Job and returns its latency."""

    def __init__(self, gateway: peers.Printgate, document: bytes):
        self.gateway = gateway
        self.document = document
        self.conn = http.client.HTTPConnection(gateway.host, gateway.port, timeout=60)
        self.request_id = 0
        self.failures: list[str] = []
        self.job_ids: dict[str, list[int]] = {queue: [] for queue in QUEUES}
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        self.auth = {"Authorization": f"Basic {token}"}

    def send(self, queue: str) -> float:
        self.request_id += 1
        secure = queue == SECURE
        account = f"{PROJECT}/{DEPARTMENT}" if queue != OPEN else None
        body = (
            print_job_head(self.gateway.queue_uri(queue), self.request_id, account) + self.document
        )
        headers = {"Content-Type": "application/ipp", **(self.auth if secure else {})}
        started = time.perf_counter()
        self.conn.request("POST", f"/ipp/print/{queue}", body=body, headers=headers)
        reply = self.conn.getresponse()
        data = reply.read()
        elapsed = time.perf_counter() - started
        at = data.find(JOB_ID_MARKER)
        if reply.status != 200 or data[2:4] != b"\x00\x00" or at < 0:
            status = data[2:4].hex() if len(data) >= 4 else "?"
            self.failures.append(f"{queue}: HTTP {reply.status} IPP 0x{status}")
        else:
            self.job_ids[queue].append(struct.unpack(">i", data[at + len(JOB_ID_MARKER) :][:4])[0])
        return elapsed

    def close(self) -> None:
        self.conn.close()


def run_rounds(client: Client, count: int) -> dict[str, list[float]]:
    """`count` jobs to each queue, one to each in turn, the order rotated every round."""
    latencies: dict[str, list[float]] = {queue: [] for queue in QUEUES}
    for i in range(count):
        shift = i % len(QUEUES)
        for queue in QUEUES[shift:] + QUEUES[:shift]:
            latencies[queue].append(client.send(queue))
    return latencies


def cli(gateway: peers.Printgate, *args: str, password: str | None = None) -> str:
    result = subprocess.run(
        [bl.PYTHON, "-m", "gateway", *args, "--config", str(gateway.config_path)],
        input=f"{password}\n" if password is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=bl.REPO_ROOT,
    )
    if result.returncode != 0:
        raise peers.PeerError(f"printgate {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def summary(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {
        "median_ms": statistics.median(ms),
        "p95_ms": ms[min(len(ms) - 1, int(len(ms) * 0.95))],
        "mean_ms": statistics.fmean(ms),
        "min_ms": ms[0],
        "max_ms": ms[-1],
    }


def argon2_verify_ms(rounds: int = 20) -> float:
    """printgate's own password check (gateway.runtime.passwords, argon2id defaults) alone."""
    from gateway.runtime.passwords import hash_password, verify_password

    stored = hash_password(PASSWORD)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        assert verify_password(stored, PASSWORD)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def bench(work: Path, document: bytes, args: argparse.Namespace) -> dict[str, Any]:
    eve: peers.IppEvePrinter | None = None
    if args.printer == "virtual":
        printer_uri = (work / "virtual-out").as_uri()
    else:
        eve = peers.IppEvePrinter("bench-offline", base_dir=work / "ippeve").start()
        printer_uri = eve.uri
    config = {
        "printers": [{"name": "printer", "uri": printer_uri}],
        "queues": [
            {"name": OPEN, "printers": ["printer"], "auth": "none"},
            {
                "name": LISTED,
                "printers": ["printer"],
                "auth": "list",
                "require": ["project", "department"],
            },
            {
                "name": SECURE,
                "printers": ["printer"],
                "auth": "password",
                "require": ["project", "department"],
            },
        ],
    }
    try:
        with peers.Printgate(config, work / "printgate") as gateway:
            if eve is not None:
                eve.close()  # printgate knows its capabilities; now it is offline
            cli(gateway, "user", "add", SECURE, USER, "--password-stdin", password=PASSWORD)
            cli(gateway, "project", "add", SECURE, PROJECT)
            cli(gateway, "department", "add", SECURE, DEPARTMENT)
            cli(gateway, "user", "add", LISTED, USER)
            cli(gateway, "project", "add", LISTED, PROJECT)
            cli(gateway, "department", "add", LISTED, DEPARTMENT)
            assert gateway.pid is not None
            client = Client(gateway, document)
            try:
                run_rounds(client, args.warmup)
                cpu_before = bl.cpu_seconds(gateway.pid)
                started = time.perf_counter()
                latencies = run_rounds(client, args.jobs)
                elapsed = time.perf_counter() - started
                cpu = bl.cpu_seconds(gateway.pid) - cpu_before
            finally:
                client.close()
            limit = str(len(QUEUES) * (args.warmup + args.jobs) + 10)
            records = json.loads(cli(gateway, "jobs", "--json", "--limit", limit))
            return {
                "latencies": latencies,
                "failures": client.failures,
                "job_ids": client.job_ids,
                "records": records,
                "elapsed_s": elapsed,
                "server_cpu_s": cpu,
                "log_errors": [
                    line
                    for line in gateway.log().splitlines()
                    if " ERROR " in line or "Traceback" in line
                ][:5],
            }
    finally:
        if eve is not None:
            eve.close()


def check_records(run: dict[str, Any], expected: int) -> list[str]:
    """What is wrong with printgate's records of the run, if anything."""
    problems = []
    by_id = {r["id"]: r for r in run["records"]}
    for queue in (LISTED, SECURE):
        jobs = [by_id.get(i) for i in run["job_ids"][queue]]
        charged = [
            r
            for r in jobs
            if r and (r["user"], r["project"], r["department"]) == (USER, PROJECT, DEPARTMENT)
        ]
        if len(charged) != expected:
            problems.append(f"{len(charged)} of {expected} {queue}-queue jobs charged as expected")
    held = [r for r in run["records"] if r["state"] == "pending-held"]
    if held:
        problems.append(f"{len(held)} jobs held, e.g. {held[0]}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500, help="jobs per queue")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up jobs per queue")
    parser.add_argument("--printer", choices=("offline", "virtual"), default="offline")
    args = parser.parse_args()
    bl.warn_if_busy()

    with bl.scratch_dir("printgate-bench-credentials-") as work:
        document = peers.make_pdf(work / "doc.pdf", pages=1).read_bytes()
        run = bench(work, document, args)
    verify_ms = argon2_verify_ms()

    stats = {queue: summary(values) for queue, values in run["latencies"].items()}

    def added(queue: str) -> tuple[float, float]:
        """(difference of medians, median of per-round differences) over auth=none, in ms."""
        rounds = zip(run["latencies"][OPEN], run["latencies"][queue], strict=True)
        return (
            stats[queue]["median_ms"] - stats[OPEN]["median_ms"],
            statistics.median(q - o for o, q in rounds) * 1000,
        )

    added_median, paired_median = added(SECURE)
    listed_median, listed_paired = added(LISTED)
    met = added_median < TARGET_MS
    expected = args.warmup + args.jobs
    problems = check_records(run, expected)
    if run["failures"]:
        problems.insert(0, f"{len(run['failures'])} failed requests: {run['failures'][:3]}")

    print(
        f"\nPrint-Job latency, {args.jobs} sequential jobs of {len(document):,} bytes (PDF) to "
        f"each queue, in turn, one keep-alive connection, after {args.warmup} warm-up jobs "
        f"each; printer: {args.printer}"
    )
    rows = [
        [LABELS[q], s["median_ms"], s["p95_ms"], s["mean_ms"], s["min_ms"], s["max_ms"]]
        for q, s in stats.items()
    ]
    print(bl.table(["queue", "median ms", "p95 ms", "mean ms", "min ms", "max ms"], rows))
    print(
        f"auth=password adds {added_median:.2f} ms median per job over auth=none (median of "
        f"per-round differences {paired_median:.2f} ms); target < {TARGET_MS:g} ms: "
        f"{'met' if met else 'MISSED'}"
    )
    print(
        f"the same checks without a password (auth=list) add {listed_median:.2f} ms "
        f"(per-round {listed_paired:.2f} ms)"
    )
    print(f"printgate's argon2id verify_password alone, in this process: {verify_ms:.1f} ms")
    print(
        f"printgate CPU: {run['server_cpu_s']:.1f} s for {len(QUEUES) * args.jobs} jobs in "
        f"{run['elapsed_s']:.1f} s"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    if run["log_errors"]:
        print("printgate log errors:\n  " + "\n  ".join(run["log_errors"]), file=sys.stderr)

    bl.save_result(
        "credentials",
        {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "jobs_per_queue": args.jobs,
            "warmup_per_queue": args.warmup,
            "printer": args.printer,
            "document_bytes": len(document),
            "none": stats[OPEN],
            "list": stats[LISTED],
            "password": stats[SECURE],
            "added_median_ms": added_median,
            "added_paired_median_ms": paired_median,
            "list_added_median_ms": listed_median,
            "list_added_paired_median_ms": listed_paired,
            "target_ms": TARGET_MS,
            "target_met": met,
            "argon2_verify_ms": verify_ms,
            "server_cpu_s": run["server_cpu_s"],
            "elapsed_s": run["elapsed_s"],
            "problems": problems,
        },
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
