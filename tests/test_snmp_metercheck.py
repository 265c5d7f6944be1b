"""The per-job meter check: printgate reads the printer's life count over SNMP before and
after a job and keeps the difference on the job record; a job is skipped when the printer was
busy, and flagged when the count disagrees with the impressions charged."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.addons.meter_check import MeterCheck
from gateway.config import JobsConfig, PrinterConfig
from gateway.ipp import JobState
from gateway.jobs.manager import JobManager
from gateway.jobs.state import Queued
from gateway.printers.forwarder import Forwarder
from gateway.printers.state import Printer, refresh
from gateway.printers.virtual import FilePrinter
from gateway.snmp.metercheck import MeterSample, mismatch
from gateway.store.store import Store
from gateway.tasks import TaskKeeper
from tests.ipp_call import job_state, print_job
from tests.peers import REPO_ROOT, IppEvePrinter, Printgate, make_pdf, wait_for
from tests.snmp_peers import SnmpSim, find_snmp_tool, hp_printer

LIFE = "1.3.6.1.2.1.43.10.2.1.4.1.1"
STATUS = "1.3.6.1.2.1.25.3.5.1.1.1"


def snmpset(sim: SnmpSim, *assignments: str) -> None:
    subprocess.run(
        [find_snmp_tool("snmpset"), "-v2c", "-c", "public", sim.address, *assignments],
        check=True,
        capture_output=True,
    )


def recorded_jobs(gateway: Printgate) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "jobs", "--json", "--config", str(gateway.config_path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def _completed(uri: str, job_id: int) -> None:
    state = wait_for(
        lambda: (s := job_state(uri, job_id))[0] >= JobState.CANCELED and s, 60, what="job ends"
    )
    assert state[0] == JobState.COMPLETED, state


def test_job_record_keeps_the_meter_delta(
    tmp_path: Path,
    printgate_factory: Callable[..., Printgate],
    ippeveprinter: IppEvePrinter,
    snmpsim_factory: Callable[..., SnmpSim],
) -> None:
    # A printer whose life count and status can be set, as the printer itself would change them.
    sim = snmpsim_factory(
        hp_printer(life="66:writecache|value=12000", status="2:writecache|value=3")
    )
    gateway = printgate_factory(
        {
            "printers": [
                {
                    "name": "eve",
                    "uri": ippeveprinter.uri,
                    "snmp": {"host": sim.host, "port": sim.port},
                }
            ],
            "queues": [{"name": "office", "printers": ["eve"]}],
            "snmp": {"timeout": 0.5},
        }
    )
    uri = gateway.queue_uri("office")

    def printer_counts_three() -> None:
        ippeveprinter.wait_documents(1)
        snmpset(sim, LIFE, "u", "12003")

    counting = threading.Thread(target=printer_counts_three)
    counting.start()
    first = print_job(uri, make_pdf(tmp_path / "a.pdf", pages=3).read_bytes(), name="metered")
    _completed(uri, first)
    counting.join(30)
    jobs = wait_for(
        lambda: (j := recorded_jobs(gateway)) and j[0]["meter_delta"] is not None and j,
        30,
        0.3,
        "the meter delta on the job",
    )
    assert (jobs[0]["id"], jobs[0]["meter_delta"], jobs[0]["meter_mismatch"]) == (
        first,
        3,
        False,
    )

    # Busy with something else (a copy at the panel): the job is not metered.
    snmpset(sim, STATUS, "i", "4")
    second = print_job(uri, make_pdf(tmp_path / "b.pdf").read_bytes(), name="unmetered")
    _completed(uri, second)
    snmpset(sim, STATUS, "i", "3")
    by_id = {j["id"]: j for j in recorded_jobs(gateway)}
    assert by_id[second]["meter_delta"] is None and by_id[first]["meter_delta"] == 3


def test_a_count_that_disagrees_with_the_charge_is_flagged() -> None:
    assert not mismatch(4, 4)
    assert mismatch(4, 2)
    assert not mismatch(4, None)


class CountingMeter:
    """A printer's meter at the forwarder's edge: the count goes up by what the job printed."""

    def __init__(self, printed: int, status: str = "idle"):
        self.count, self.printed, self.status = 1000, printed, status
        self.samples = 0

    def covers(self, printer: str) -> bool:
        return printer == "virtual"

    async def sample(self, printer: str) -> MeterSample | None:
        self.samples += 1
        return MeterSample(self.count, self.status)

    async def settled(self, printer: str) -> MeterSample | None:
        self.count += self.printed
        return MeterSample(self.count, "idle")


@pytest.mark.parametrize(
    ("charged", "printed", "status", "delta", "mismatch"),
    [
        (3, 3, "idle", 3, False),
        (2, 3, "idle", 3, True),  # the printer counted more than was charged
        (None, 3, "idle", 3, False),  # nothing charged yet: the delta is kept, no verdict
        (3, 3, "printing", None, False),  # busy before the job: no check
    ],
)
async def test_forwarder_keeps_the_delta_and_flags_a_disagreement(
    tmp_path: Path,
    database_url: str,
    charged: int | None,
    printed: int,
    status: str,
    delta: int | None,
    mismatch: bool,
) -> None:
    tasks = TaskKeeper()
    store = await Store.open(database_url, tasks)
    try:
        out = tmp_path / "out"
        printer = Printer(PrinterConfig("virtual", out.as_uri()), FilePrinter(out.as_uri()))
        await refresh(printer, 1.0)
        document = make_pdf(tmp_path / "doc.pdf")
        jobs = JobManager(store)
        meter = CountingMeter(printed, status)
        check = MeterCheck(meter, jobs)
        jobs.hooks.add(check)
        job = await jobs.create(
            Queued(),
            uuid="urn:uuid:meter-1",
            queue="q",
            document_format="application/pdf",
            impressions=charged,
        )
        failure = await Forwarder(jobs, JobsConfig(), check).run(job, printer, document)
        assert failure is None and job.state == JobState.COMPLETED
        row = await store.get_job(job.id)
        assert row is not None
        assert (row.meter_delta, row.meter_mismatch) == (delta, mismatch)
        assert meter.samples == 1
    finally:
        await store.close()
        await tasks.cancel_all()
