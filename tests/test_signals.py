"""SIGTERM and SIGHUP as systemd sends them: SIGTERM in the middle of a run of jobs exits within
the configured time and a restart prints every job exactly once; SIGHUP brings in queues added
to the config."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from gateway.ipp import Op
from tests.ipp_call import assert_each_printed_once, ipp, print_job
from tests.peers import IppEvePrinter, Printgate, make_pdf, toml_dumps, wait_for

JOBS = 20
SHUTDOWN_TIMEOUT = 5.0


def test_sigterm_mid_run_exits_in_time_and_restart_prints_each_job_once(
    printgate_factory: Callable[..., Printgate],
    ippeveprinter_factory: Callable[..., IppEvePrinter],
    tmp_path: Path,
) -> None:
    printer = ippeveprinter_factory("slowish", job_seconds=0.3)
    gw = printgate_factory(
        {
            "server": {"shutdown_timeout": SHUTDOWN_TIMEOUT},
            "jobs": {"retry_initial_delay": 0.2, "retry_max_delay": 1.0, "monitor_interval": 0.2},
            "printers": [{"name": "eve", "uri": printer.uri}],
            "queues": [{"name": "q", "printers": ["eve"]}],
        }
    )
    uri = gw.queue_uri("q")
    documents = [
        make_pdf(tmp_path / f"job-{i}.pdf", text=f"sigterm job {i}").read_bytes()
        for i in range(JOBS)
    ]
    for i, document in enumerate(documents):
        print_job(uri, document, name=f"job-{i}")
    wait_for(lambda: len(printer.documents()) >= 4, 60, what="a few jobs printed")

    started = time.monotonic()
    status = gw.stop(timeout=SHUTDOWN_TIMEOUT + 5)
    took = time.monotonic() - started
    assert status == 0, gw.log()
    assert took < SHUTDOWN_TIMEOUT + 1, f"exit took {took:.1f} s"
    assert len(printer.documents()) < JOBS, "the run was over before SIGTERM: nothing tested"

    gw.start()

    assert_each_printed_once(
        uri, documents, lambda: [path.read_bytes() for path in printer.documents()]
    )


def test_sighup_reloads_queues_from_the_config(
    printgate_factory: Callable[..., Printgate], tmp_path: Path
) -> None:
    config = {
        "printers": [{"name": "v", "uri": (tmp_path / "out").as_uri()}],
        "queues": [{"name": "first", "printers": ["v"]}],
    }
    gw = printgate_factory(config)
    assert gw.get("/healthz")[0] == 200
    gw.config["queues"].append({"name": "second", "printers": ["v"], "info": "added"})
    gw.config_path.write_text(toml_dumps(gw.config))
    assert gw.pid is not None
    os.kill(gw.pid, signal.SIGHUP)

    def second_answers() -> bool:
        try:
            reply = ipp(gw.queue_uri("second"), Op.GET_PRINTER_ATTRIBUTES)
        except (OSError, AssertionError):
            return False
        return reply.code == 0

    wait_for(second_answers, 30, interval=0.2, what="queue 'second' after SIGHUP")
    assert ipp(gw.queue_uri("first"), Op.GET_PRINTER_ATTRIBUTES).code == 0
    assert gw.running

    # A broken config is refused: the running queues stay.
    gw.config_path.write_text("[server\n")
    os.kill(gw.pid, signal.SIGHUP)
    wait_for(lambda: "reload refused" in gw.log(), 10, what="the refusal logged")
    assert ipp(gw.queue_uri("second"), Op.GET_PRINTER_ATTRIBUTES).code == 0
