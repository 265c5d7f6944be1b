"""The intake log: small Print-Job documents made durable in one append a batch, their spool
files written later, and rewritten from the log after a crash."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from gateway.jobs import intake_log
from gateway.jobs.spool import Spool
from tests.ipp_call import print_job
from tests.peers import Printgate, free_port, make_pdf, wait_for


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _received(spool: Spool, data: bytes) -> tuple[Path, Callable[[], None]]:
    document = await spool.receive(_chunks(data), defer=True)
    assert document.settle is not None
    return document.path, document.settle


async def test_a_batch_is_durable_in_the_log_and_restored_after_a_crash(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    received = [await _received(spool, f"document {i}".encode()) for i in range(3)]
    assert not list(tmp_path.glob("*.doc"))  # nothing written before the settle
    await asyncio.to_thread(received[0][1])  # one settle makes the whole batch durable
    for _, settle in received[1:]:
        settle()  # already done: free
    # A crash now: the process's memory is gone, only the log holds the documents.
    spool.close()
    restarted = Spool(tmp_path, 1 << 20)
    kept = [received[0][0].name, received[2][0].name]
    restarted.remove_orphans(kept)
    assert received[0][0].read_bytes() == b"document 0"
    assert received[2][0].read_bytes() == b"document 2"
    assert not received[1][0].exists()  # its job was never committed: not brought back
    restarted.close()


async def test_a_file_is_written_when_needed_and_a_removed_one_never_appears(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path, 1 << 20)
    (wanted, settle), (dropped, _) = [await _received(spool, b"x" * n) for n in (10, 20)]
    await asyncio.to_thread(settle)
    await spool.ensure(wanted)
    assert wanted.read_bytes() == b"x" * 10
    await spool.remove(dropped)
    await asyncio.to_thread(spool.intake_log.write_files)
    assert not dropped.exists()
    spool.close()


async def test_once_intake_is_quiet_the_files_are_synced_and_the_log_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake_log, "QUIET_SECONDS", 0.2)
    spool = Spool(tmp_path, 1 << 20)
    received = [await _received(spool, f"page {i}".encode()) for i in range(5)]
    await asyncio.to_thread(received[0][1])
    log_dir = tmp_path / "intake-log"
    assert list(log_dir.glob("*.log"))

    async def retired() -> bool:
        return not list(log_dir.glob("*.log"))

    for _ in range(100):
        if await retired():
            break
        await asyncio.sleep(0.05)
    assert await retired()
    assert [path.read_bytes() for path, _ in received] == [f"page {i}".encode() for i in range(5)]
    spool.close()


async def test_a_record_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    (whole, settle), (cut, _) = [await _received(spool, b"y" * 100) for _ in range(2)]
    await asyncio.to_thread(settle)
    spool.close()
    (segment,) = (tmp_path / "intake-log").glob("*.log")
    segment.write_bytes(segment.read_bytes()[:-30])  # the second record lost its tail
    restarted = Spool(tmp_path, 1 << 20)
    restarted.remove_orphans([whole.name, cut.name])
    assert whole.read_bytes() == b"y" * 100
    assert not cut.exists()
    restarted.close()


def test_kill_9_right_after_the_answers_loses_no_document(
    printgate_factory: Callable[..., Printgate], tmp_path: Path
) -> None:
    """The printer is unreachable, so every job waits in the spool; printgate is killed the
    moment the last job is answered, before it wrote the documents' own files."""
    database = tmp_path / "jobs.db"  # read below; the log works the same on PostgreSQL
    gw = printgate_factory(
        {
            "database": {"url": f"sqlite+aiosqlite:///{database}"},
            "jobs": {"retry_initial_delay": 5.0, "retry_max_delay": 5.0},
            "printers": [{"name": "away", "uri": f"ipp://127.0.0.1:{free_port()}/ipp/print"}],
            "queues": [{"name": "q", "printers": ["away"]}],
        }
    )
    documents = [
        make_pdf(tmp_path / f"job-{i}.pdf", text=f"job {i}").read_bytes() for i in range(12)
    ]
    job_ids = [print_job(gw.queue_uri("q"), document) for document in documents]
    gw.kill()
    gw.start()
    spool = gw.data_dir / "spool"

    def kept() -> dict[int, bytes]:
        with sqlite3.connect(database) as db:
            rows = db.execute("SELECT id, document_path FROM jobs").fetchall()
        return {
            job_id: (spool / name).read_bytes() for job_id, name in rows if (spool / name).exists()
        }

    wait_for(lambda: len(kept()) == len(job_ids), 30, what="every job's document in the spool")
    assert [kept()[job_id] for job_id in job_ids] == documents
