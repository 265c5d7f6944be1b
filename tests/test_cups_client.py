"""A real cupsd as printgate's client: a driverless queue (lpadmin -m everywhere) pointing at a
printgate queue, printed to with lp. A recorder between cupsd and printgate keeps what CUPS
sent, so the test can prove ippeveprinter received exactly those bytes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.ipp import Op, Tag, decode
from gateway.ipp import model as m
from tests.ipp_call import ipp
from tests.peers import Cupsd, IppEvePrinter, Printgate, free_port, make_pdf, wait_for

REPO = Path(__file__).parent.parent


@pytest.fixture
def recorder(printgate: Printgate, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, out = free_port(), tmp_path / "capture"
    out.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "tests" / "capture_ipp.py"),
            "--listen",
            f"127.0.0.1:{port}",
            "--upstream",
            f"127.0.0.1:{printgate.port}",
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _listening(port), 10, what="recorder listening")
        yield port, out
    finally:
        process.terminate()
        process.wait(10)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _sent_document(capture: Path) -> bytes:
    """The document in the request CUPS sent with it (Send-Document or Print-Job)."""
    for path in sorted(capture.glob("*-request.bin")):
        message, document = decode(path.read_bytes())
        if message.code in (Op.SEND_DOCUMENT, Op.PRINT_JOB) and document:
            return document
    raise AssertionError(f"no document request among {sorted(capture.iterdir())}")


def test_lp_through_a_driverless_cups_queue_prints_what_cups_sent(
    cupsd: Cupsd,
    printgate: Printgate,
    ippeveprinter: IppEvePrinter,
    recorder: tuple[int, Path],
    tmp_path: Path,
) -> None:
    port, capture = recorder
    cupsd.add_queue("viagate", f"ipp://127.0.0.1:{port}/ipp/print/office")
    pdf = make_pdf(tmp_path / "letter.pdf", pages=2, text="from lp")
    job_id = cupsd.lp("viagate", pdf, user="alice", title="quarterly report")
    done = cupsd.wait_job_done("viagate", job_id, timeout=60)
    assert done["job-state"] == "completed", (done, cupsd.error_log()[-3000:])
    received = ippeveprinter.wait_documents(1)
    assert received[0].read_bytes() == _sent_document(capture)
    history = ipp(
        printgate.queue_uri("office"),
        Op.GET_JOBS,
        m.keyword("which-jobs", "completed"),
        m.keyword("requested-attributes", "job-originating-user-name", "job-name"),
        user="alice",  # only she (or an administrator) sees her job's name
    )
    (job,) = history.groups_of(Tag.JOB)
    assert job.get("job-originating-user-name").text() == "alice"  # type: ignore[union-attr]
    assert job.get("job-name").text() == "quarterly report"  # type: ignore[union-attr]
