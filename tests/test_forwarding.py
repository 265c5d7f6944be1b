"""Jobs through printgate to real printers: the virtual printer, ippeveprinter, failover
between group members, retry until the printer returns, and abort when the window ends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.ipp import JobState, Op, Status, Tag
from gateway.ipp import model as m
from tests.ipp_call import ipp, job_state, print_job
from tests.peers import IppEvePrinter, Printgate, free_port, ipptool, make_pdf, wait_for


def _terminal(uri: str, job_id: int, timeout: float = 60.0) -> tuple[int, list[str], str]:
    return wait_for(
        lambda: (s := job_state(uri, job_id))[0] >= JobState.CANCELED and s,
        timeout,
        what=f"job {job_id} ends",
    )


def test_demo_style_queue_prints_to_the_virtual_printer(
    printgate_factory: Callable[..., Printgate], tmp_path: Path, tmp_pdf: Path
) -> None:
    out = tmp_path / "out"
    gw = printgate_factory(
        {
            "printers": [{"name": "virtual", "uri": out.as_uri()}],
            "queues": [{"name": "demo", "printers": ["virtual"]}],
        }
    )
    result = ipptool(gw.queue_uri("demo"), "print-job.test", document=tmp_pdf)
    assert result.returncode == 0, result.stdout
    files = wait_for(lambda: list(out.glob("*.pdf")), 10, what="document in output/")
    assert files[0].read_bytes() == tmp_pdf.read_bytes()
    # The document lands in output/ a moment before the job is recorded as completed.
    completed = wait_for(
        lambda: ipp(
            gw.queue_uri("demo"), Op.GET_JOBS, m.keyword("which-jobs", "completed")
        ).groups_of(Tag.JOB),
        10,
        what="the job among the completed ones",
    )
    assert len(completed) == 1


def test_job_reaches_ippeveprinter_with_its_bytes_and_attributes(
    printgate: Printgate, ippeveprinter: IppEvePrinter, tmp_path: Path
) -> None:
    uri = printgate.queue_uri("office")
    pdf = make_pdf(tmp_path / "two.pdf", pages=2, text="forwarded")
    job_id = print_job(
        uri,
        pdf.read_bytes(),
        name="forwarded",
        job=[m.keyword("print-color-mode", "monochrome"), m.integer("copies", 1)],
    )
    state, reasons, message = _terminal(uri, job_id)
    assert state == JobState.COMPLETED, (reasons, message)
    documents = ippeveprinter.wait_documents(1)
    assert documents[0].read_bytes() == pdf.read_bytes()
    attrs = ipp(uri, Op.GET_JOB_ATTRIBUTES, m.integer("job-id", job_id))
    job = attrs.group(Tag.JOB)
    assert job is not None
    assert job.get("job-originating-user-name").text() == "tester"  # type: ignore[union-attr]
    assert job.get("print-color-mode").text() == "monochrome"  # type: ignore[union-attr]
    assert "Printed on eve" in (job.get("job-state-message").text() or "")  # type: ignore[union-attr]


def test_unsupported_template_values_are_ignored_or_refused_by_fidelity(
    printgate: Printgate, tmp_pdf: Path
) -> None:
    uri = printgate.queue_uri("office")
    bogus = m.keyword("print-color-mode", "ultraviolet")
    lenient = ipp(uri, Op.VALIDATE_JOB, job=[bogus])
    assert lenient.code == Status.OK_IGNORED_OR_SUBSTITUTED
    assert lenient.group(Tag.UNSUPPORTED_GROUP).get("print-color-mode") == bogus  # type: ignore[union-attr]
    strict = ipp(
        uri,
        Op.PRINT_JOB,
        m.attr("ipp-attribute-fidelity", Tag.BOOLEAN, True),
        job=[bogus],
        document=tmp_pdf.read_bytes(),
    )
    assert strict.code == Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    assert strict.group(Tag.JOB) is None
    bad_format = ipp(
        uri, Op.PRINT_JOB, m.mime("document-format", "application/x-nope"), document=b"x"
    )
    assert bad_format.code == Status.DOCUMENT_FORMAT_NOT_SUPPORTED
    bad_compression = ipp(uri, Op.PRINT_JOB, m.keyword("compression", "lzw"), document=b"x")
    assert bad_compression.code == Status.COMPRESSION_NOT_SUPPORTED
    for bad_name, status in (
        ("nul\x00name", Status.BAD_REQUEST),
        ("x" * 256, Status.REQUEST_VALUE_TOO_LONG),
        ("\udcff-not-utf-8", Status.BAD_REQUEST),
    ):
        refused = ipp(uri, Op.PRINT_JOB, m.name_("job-name", bad_name), document=b"%PDF-1.4")
        assert refused.code == status, bad_name
    assert ipp(uri, Op.GET_JOBS, m.keyword("which-jobs", "all")).groups_of(Tag.JOB) == []


def test_queue_mirrors_the_printer_capabilities(
    printgate: Printgate, ippeveprinter: IppEvePrinter
) -> None:
    ours = ipp(
        printgate.queue_uri("office"),
        Op.GET_PRINTER_ATTRIBUTES,
        m.keyword("requested-attributes", "all", "media-col-database"),
    ).group(Tag.PRINTER)
    theirs = ipp(
        ippeveprinter.uri,
        Op.GET_PRINTER_ATTRIBUTES,
        m.keyword("requested-attributes", "all", "media-col-database"),
    ).group(Tag.PRINTER)
    assert ours is not None and theirs is not None
    for name in (
        "media-supported",
        "media-col-database",
        "sides-supported",
        "printer-resolution-supported",
        "print-color-mode-supported",
    ):
        assert ours.get(name) == theirs.get(name), name
    formats = ours.get("document-format-supported").strings()  # type: ignore[union-attr]
    assert {"image/pwg-raster", "image/jpeg", "application/pdf"} <= set(formats)
    assert ours.get("printer-name").text() == "office"  # type: ignore[union-attr]
    uuid_before = ours.get("printer-uuid").text()  # type: ignore[union-attr]
    printgate.restart()
    again = ipp(printgate.queue_uri("office"), Op.GET_PRINTER_ATTRIBUTES).group(Tag.PRINTER)
    assert again.get("printer-uuid").text() == uuid_before  # type: ignore[union-attr]


def _group_config(first_uri: str, second_uri: str, **jobs: Any) -> dict[str, Any]:
    return {
        "jobs": {"retry_initial_delay": 0.2, "retry_max_delay": 0.5, **jobs},
        "printers": [{"name": "first", "uri": first_uri}, {"name": "second", "uri": second_uri}],
        "queues": [{"name": "group", "printers": ["first", "second"]}],
    }


def test_fails_over_to_the_next_member_when_the_first_is_down(
    printgate_factory: Callable[..., Printgate], ippeveprinter: IppEvePrinter, tmp_pdf: Path
) -> None:
    dead = f"ipp://127.0.0.1:{free_port()}/ipp/print"
    gw = printgate_factory(_group_config(dead, ippeveprinter.uri))
    uri = gw.queue_uri("group")
    job_id = print_job(uri, tmp_pdf.read_bytes())
    state, reasons, message = _terminal(uri, job_id)
    assert state == JobState.COMPLETED, (reasons, message)
    assert "second" in message
    assert len(ippeveprinter.wait_documents(1)) == 1


def test_job_waits_for_a_printer_that_is_down_and_prints_when_it_returns(
    printgate_factory: Callable[..., Printgate],
    ippeveprinter_factory: Callable[..., IppEvePrinter],
    tmp_pdf: Path,
) -> None:
    printer = ippeveprinter_factory("comeback")
    printer.stop()
    gw = printgate_factory(
        {
            "jobs": {"retry_initial_delay": 0.2, "retry_max_delay": 0.5},
            "printers": [{"name": "only", "uri": printer.uri}],
            "queues": [{"name": "q", "printers": ["only"]}],
        }
    )
    uri = gw.queue_uri("q")
    job_id = print_job(uri, tmp_pdf.read_bytes())
    state, _, message = wait_for(
        lambda: (s := job_state(uri, job_id))[0] == JobState.PROCESSING_STOPPED and s,
        15,
        what="processing-stopped",
    )
    assert "only" in message and "Waiting" in message
    printer.start()
    state, reasons, message = _terminal(uri, job_id)
    assert state == JobState.COMPLETED, (reasons, message)
    assert len(printer.wait_documents(1)) == 1


def test_job_is_aborted_with_its_reason_when_the_retry_window_ends(
    printgate_factory: Callable[..., Printgate], tmp_pdf: Path
) -> None:
    dead = f"ipp://127.0.0.1:{free_port()}/ipp/print"
    gw = printgate_factory(
        {
            "jobs": {"retry_initial_delay": 0.2, "retry_max_delay": 0.3, "retry_window": 2.0},
            "printers": [{"name": "gone", "uri": dead}],
            "queues": [{"name": "q", "printers": ["gone"]}],
        }
    )
    uri = gw.queue_uri("q")
    job_id = print_job(uri, tmp_pdf.read_bytes())
    state, reasons, message = _terminal(uri, job_id, timeout=30)
    assert state == JobState.ABORTED
    assert "job-aborted-by-system" in reasons
    assert "Not printed" in message
    # The document goes once its analysis is done too, which may finish after the abort.
    wait_for(
        lambda: list((gw.data_dir / "spool").glob("*.doc")) == [], 30, what="the spool emptied"
    )


def test_cancel_while_held_and_hold_release(
    printgate: Printgate, tmp_pdf: Path, ippeveprinter: IppEvePrinter
) -> None:
    uri = printgate.queue_uri("office")
    held = print_job(uri, tmp_pdf.read_bytes(), job=[m.keyword("job-hold-until", "indefinite")])
    assert job_state(uri, held)[0] == JobState.PENDING_HELD
    other_user = ipp(uri, Op.CANCEL_JOB, m.integer("job-id", held), user="mallory")
    assert other_user.code == Status.NOT_AUTHORIZED
    assert ipp(uri, Op.RELEASE_JOB, m.integer("job-id", held)).code == Status.OK
    assert _terminal(uri, held)[0] == JobState.COMPLETED
    second = print_job(uri, tmp_pdf.read_bytes(), job=[m.keyword("job-hold-until", "indefinite")])
    assert ipp(uri, Op.CANCEL_JOB, m.integer("job-id", second)).code == Status.OK
    assert job_state(uri, second)[0] == JobState.CANCELED
    again = ipp(uri, Op.CANCEL_JOB, m.integer("job-id", second))
    assert again.code == Status.NOT_POSSIBLE
    assert len(ippeveprinter.documents()) == 1


def test_identify_printer_reaches_the_printer(
    printgate: Printgate, ippeveprinter: IppEvePrinter
) -> None:
    reply = ipp(
        printgate.queue_uri("office"), Op.IDENTIFY_PRINTER, m.keyword("identify-actions", "display")
    )
    assert reply.code == Status.OK
    wait_for(lambda: "Identify-Printer" in ippeveprinter.log(), 5, what="identify at the printer")
