"""Crash safety: printgate killed with SIGKILL while it forwards a run of jobs, then restarted,
prints every acknowledged job exactly once (each document is unique, so the printer's spool
shows doubles and losses)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.ipp_call import assert_each_printed_once, print_job
from tests.peers import IppEvePrinter, Printgate, make_pdf, wait_for

JOBS = 50


def test_kill_9_mid_run_then_restart_prints_every_job_exactly_once(
    printgate_factory: Callable[..., Printgate],
    ippeveprinter_factory: Callable[..., IppEvePrinter],
    tmp_path: Path,
) -> None:
    printer = ippeveprinter_factory("crashy", job_seconds=0.05)
    gw = printgate_factory(
        {
            "jobs": {"retry_initial_delay": 0.2, "retry_max_delay": 1.0, "monitor_interval": 0.2},
            "printers": [{"name": "eve", "uri": printer.uri}],
            "queues": [{"name": "q", "printers": ["eve"]}],
        }
    )
    uri = gw.queue_uri("q")
    documents = [
        make_pdf(tmp_path / f"job-{i}.pdf", text=f"job {i}").read_bytes() for i in range(JOBS)
    ]
    assert len(set(documents)) == JOBS
    job_ids = [print_job(uri, document, name=f"job-{i}") for i, document in enumerate(documents)]
    assert len(set(job_ids)) == JOBS

    for delivered in (8, 25):
        wait_for(
            lambda n=delivered: len(printer.documents()) >= n,
            60,
            what=f"{delivered} documents at the printer",
        )
        gw.kill()
        gw.start()

    assert_each_printed_once(
        uri, documents, lambda: [path.read_bytes() for path in printer.documents()]
    )
