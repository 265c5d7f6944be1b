"""Graceful failover when the accounting store goes away: PostgreSQL (a private server) is
stopped in the middle of a run of 100 jobs and started again. Every job prints, every job is
in the store afterwards, none twice; jobs checked while it was down are charged to Unknown."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ipp_call import print_job
from tests.peers import IppEvePrinter, Printgate, make_pdf, wait_for
from tests.private_pg import PrivatePostgres
from tests.test_credentials import printgate_cli

JOBS = 100


@pytest.mark.postgresql
def test_postgresql_stopped_mid_run_loses_and_doubles_nothing(
    printgate_factory: Callable[..., Printgate],
    ippeveprinter_factory: Callable[..., IppEvePrinter],
    tmp_path: Path,
) -> None:
    printer = ippeveprinter_factory("outage", job_seconds=0.01)
    documents = [
        make_pdf(tmp_path / f"{i}.pdf", text=f"outage {i}").read_bytes() for i in range(JOBS)
    ]
    with PrivatePostgres() as database:
        gw = printgate_factory(
            {
                "database": {"url": database.url},
                "printers": [{"name": "eve", "uri": printer.uri, "graceful_failover": True}],
                "queues": [{"name": "q", "printers": ["eve"], "auth": "list"}],
                "jobs": {"monitor_interval": 0.2},
            }
        )
        printgate_cli(gw, "user", "add", "q", "carol")
        uri = gw.queue_uri("q")
        ids = []
        for i, document in enumerate(documents):
            if i == 20:
                database.stop()
            if i == 70:
                database.start()
            ids.append(print_job(uri, document, name=f"outage-{i}", user="carol"))
        assert len(set(ids)) == JOBS

        printed = Counter(p.read_bytes() for p in printer.wait_documents(JOBS, timeout=180))
        assert [printed[d] for d in documents] == [1] * JOBS

        def recorded() -> list[dict[str, object]]:
            jobs = json.loads(printgate_cli(gw, "jobs", "--json", "--limit", "1000"))
            done = [j for j in jobs if j["state"] == "completed"]
            return jobs if len(done) == JOBS else []

        jobs = wait_for(recorded, 60, interval=0.5, what="all jobs recorded in the store")
        assert sorted(j["id"] for j in jobs) == sorted(ids)  # each once, with its own id
        users = Counter(j["user"] for j in jobs)
        assert users["carol"] >= 20 and users["Unknown"] >= 1, users
        assert users["carol"] + users["Unknown"] == JOBS
