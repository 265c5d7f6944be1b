"""The in-process harness (tests/harness.py) is a real gateway: a job printed to it over IPP
goes through the gate, the dispatcher and the virtual printer, and its addons hear of it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.ipp import JobState
from gateway.jobs.events import JobEnded
from tests.harness import in_process
from tests.ipp_call import print_job
from tests.peers import make_pdf


class Ended:
    """An addon that sets an event as each job ends."""

    def __init__(self) -> None:
        self.jobs: list[int] = []
        self.any = asyncio.Event()

    def job_ended(self, event: JobEnded) -> None:
        self.jobs.append(event.job.id)
        self.any.set()


async def test_a_job_prints_through_a_gateway_in_this_process(
    tmp_path: Path, database_url: str
) -> None:
    output = tmp_path / "output"
    document = make_pdf(tmp_path / "doc.pdf").read_bytes()
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": output.as_uri()}],
        queues=[{"name": "office", "printers": ["virtual"], "auth": "username"}],
    ) as printgate:
        ended = Ended()
        printgate.gateway.jobs.hooks.add(ended)
        uri = printgate.queue_uri("office")
        # The test's IPP client blocks: it runs in a thread, the gateway in this loop.
        job_id = await asyncio.to_thread(print_job, uri, document, user="alice")
        async with asyncio.timeout(30):
            await ended.any.wait()
        job = await printgate.gateway.jobs.get(job_id)
        assert job is not None and job.state == JobState.COMPLETED and job.user == "alice"
        assert ended.jobs == [job_id]
        assert [p.read_bytes() for p in output.iterdir()] == [document]
