"""Multiple-document jobs end to end: Create-Job, then Send-Document for each document (a PDF
of two pages, a colour JPEG, a PDF of one page, the last with last-document true) against a
printgate queue in front of a real ippeveprinter. The documents reach the printer in their
order as one job (ippeveprinter takes no multiple-document jobs), which is charged once with
the impressions of all of them. A document can be canceled before the last one, the documents
are listed with Get-Documents, they outlive a restart between two Send-Documents, and a mix
that makes no one document (PWG raster after a PDF) is refused."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.ipp import Message, Op, Status, Tag
from gateway.ipp import model as m
from tests.ipp_call import ipp_http
from tests.peers import IppEvePrinter, Printgate, find_binary
from tests.peers.tools import make_pdf
from tests.test_credentials import printgate_cli, recorded

COMPLETED = 9


@pytest.fixture
def gateway(printgate_factory: Callable[..., Printgate], ippeveprinter: IppEvePrinter) -> Printgate:
    return printgate_factory(
        {
            "printers": [{"name": "eve", "uri": ippeveprinter.uri}],
            "queues": [{"name": "office", "printers": ["eve"], "auth": "none"}],
        }
    )


@pytest.fixture
def jpeg(tmp_path: Path) -> Path:
    source = make_pdf(tmp_path / "for-jpeg.pdf", pages=1, color=True)
    target = tmp_path / "colour.jpg"
    subprocess.run(
        [find_binary("gs"), "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=jpeg", "-r30",
         f"-sOutputFile={target}", str(source)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return target


def ok(result: tuple[int, Message | None]) -> Message:
    status, reply = result
    assert status == 200 and reply is not None and reply.code == Status.OK, (status, reply)
    return reply


def create_job(uri: str) -> int:
    reply = ok(ipp_http(uri, Op.CREATE_JOB, m.name_("job-name", "three documents")))
    group = reply.group(Tag.JOB)
    value = group.get("job-id") if group else None
    assert value is not None and isinstance(value.value, int)
    return value.value


def send(uri: str, job: int, path: Path, fmt: str, last: bool) -> tuple[int, Message | None]:
    return ipp_http(
        uri,
        Op.SEND_DOCUMENT,
        m.integer("job-id", job),
        m.mime("document-format", fmt),
        m.name_("document-name", path.name),
        m.boolean("last-document", last),
        document=path.read_bytes(),
    )


def job_attributes(uri: str, job: int) -> dict[str, Any]:
    reply = ok(
        ipp_http(
            uri,
            Op.GET_JOB_ATTRIBUTES,
            m.integer("job-id", job),
            m.keyword("requested-attributes", "all"),
        )
    )
    group = reply.group(Tag.JOB)
    assert group is not None
    return {a.name: a.value for a in group}


def wait_completed(uri: str, job: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    attributes = job_attributes(uri, job)
    while attributes["job-state"] != COMPLETED and time.monotonic() < deadline:
        time.sleep(0.1)
        attributes = job_attributes(uri, job)
    assert attributes["job-state"] == COMPLETED, attributes
    return attributes


def documents(uri: str, job: int) -> list[dict[str, Any]]:
    reply = ok(ipp_http(uri, Op.GET_DOCUMENTS, m.integer("job-id", job)))  # type: ignore[arg-type]
    return [{a.name: a.value for a in g} for g in reply.groups_of(Tag.DOCUMENT)]


def charged(gateway: Printgate, job: int, timeout: float = 60.0) -> dict[str, Any]:
    """The job's record once measured and charged (both run after it printed)."""
    deadline = time.monotonic() + timeout
    record = recorded(gateway, job)
    while time.monotonic() < deadline and (
        record["analysis"]["status"] != "done" or record["charge"] is None
    ):
        time.sleep(0.2)
        record = recorded(gateway, job)
    assert record["analysis"]["status"] == "done" and record["charge"] is not None, record
    return record


def all_jobs(gateway: Printgate) -> list[dict[str, Any]]:
    return list(json.loads(printgate_cli(gateway, "jobs", "--json")))


def pages(path: Path) -> int:
    info = subprocess.run(
        [find_binary("pdfinfo"), str(path)], capture_output=True, text=True, check=True
    )
    return int(next(line for line in info.stdout.splitlines() if line.startswith("Pages:"))[6:])


def test_three_documents_print_as_one_job_charged_once(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_path: Path, jpeg: Path
) -> None:
    uri = gateway.queue_uri("office")
    two = make_pdf(tmp_path / "two-pages.pdf", pages=2)
    one = make_pdf(tmp_path / "one-page.pdf", pages=1)
    assert ippeveprinter.get_printer_attributes().first("multiple-document-jobs-supported") in (
        None,
        False,
    )
    job = create_job(uri)
    ok(send(uri, job, two, "application/pdf", last=False))
    ok(send(uri, job, jpeg, "image/jpeg", last=False))
    listed = documents(uri, job)
    assert [(d["document-number"], d["document-name"], d["document-format"]) for d in listed] == [
        (1, "two-pages.pdf", "application/pdf"),
        (2, "colour.jpg", "image/jpeg"),
    ]
    # The documents so far outlive a restart.
    gateway.restart()
    ok(send(uri, job, one, "application/pdf", last=True))
    attributes = wait_completed(uri, job)
    assert attributes["job-impressions-completed"] == 4, attributes
    [printed] = ippeveprinter.wait_documents(1)
    assert pages(printed) == 4
    assert len(ippeveprinter.documents()) == 1
    # One job, one charge, with every document's impressions.
    record = charged(gateway, job)
    assert record["printer_reported"]["impressions"] == 4, record
    assert record["analysis"]["impressions"] == 4 and record["analysis"]["pages"] == 4, record
    assert len([r for r in all_jobs(gateway) if r["name"] == "three documents"]) == 1
    assert job_attributes(uri, job)["job-impressions"] == 4  # what printgate measured
    assert [d["document-number"] for d in documents(uri, job)] == [1, 2, 3]


def test_a_canceled_document_is_left_out(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_path: Path, jpeg: Path
) -> None:
    uri = gateway.queue_uri("office")
    two = make_pdf(tmp_path / "two-pages.pdf", pages=2)
    job = create_job(uri)
    ok(send(uri, job, two, "application/pdf", last=False))
    ok(send(uri, job, jpeg, "image/jpeg", last=False))
    ok(ipp_http(uri, Op.CANCEL_DOCUMENT, m.integer("job-id", job),  # type: ignore[arg-type]
                m.integer("document-number", 1)))  # fmt: skip
    ok(send(uri, job, jpeg, "image/jpeg", last=True))
    assert wait_completed(uri, job)["job-impressions-completed"] == 2
    [printed] = ippeveprinter.wait_documents(1)
    assert pages(printed) == 2
    # Once the job has its documents, they are one print: no document can be canceled.
    _, reply = ipp_http(uri, Op.CANCEL_DOCUMENT, m.integer("job-id", job),  # type: ignore[arg-type]
                             m.integer("document-number", 2))  # fmt: skip
    assert reply is not None and reply.code == Status.NOT_POSSIBLE


def test_documents_that_make_no_one_document_are_refused(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_path: Path
) -> None:
    uri = gateway.queue_uri("office")
    pdf = make_pdf(tmp_path / "one-page.pdf", pages=1)
    raster = tmp_path / "page.pwg"
    subprocess.run(
        [find_binary("gs"), "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pwgraster",
         "-r30", f"-sOutputFile={raster}", str(pdf)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    job = create_job(uri)
    ok(send(uri, job, pdf, "application/pdf", last=False))
    _, reply = send(uri, job, raster, "image/pwg-raster", last=False)
    assert reply is not None and reply.code == Status.DOCUMENT_FORMAT_NOT_SUPPORTED, reply
    # The job keeps what it had and prints it.
    ok(ipp_http(uri, Op.CLOSE_JOB, m.integer("job-id", job)))
    assert wait_completed(uri, job)["job-impressions-completed"] == 1
    assert len(ippeveprinter.wait_documents(1)) == 1
