"""Get-Printer-Attributes answers are replayed for byte-identical requests only while they are
still true: each keeps its own request-id and reflects a change of the queue at once."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from pathlib import Path

from gateway.ipp import Message, Op, Tag, decode, encode
from gateway.ipp import model as m
from tests.ipp_call import print_job
from tests.peers import Printgate, free_port


def _gpa(gw: Printgate, request_id: int, host: str | None = None) -> Message:
    # Answers name the host of the printer-uri sent, so a client "at" another host sends it.
    uri = f"ipp://{host}/ipp/print/q" if host else gw.queue_uri("q")
    body = encode(
        Message(
            (2, 0),
            Op.GET_PRINTER_ATTRIBUTES,
            request_id,
            (
                m.group(
                    Tag.OPERATION,
                    [
                        m.charset("attributes-charset", "utf-8"),
                        m.language("attributes-natural-language", "en"),
                        m.uri("printer-uri", uri),
                        m.keyword(
                            "requested-attributes",
                            "queued-job-count",
                            "printer-uri-supported",
                            "printer-state",
                        ),
                    ],
                ),
            ),
        )
    )
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    headers = {"Content-Type": "application/ipp"}
    if host:
        headers["Host"] = host
    conn.request("POST", "/ipp/print/q", body=body, headers=headers)
    reply = conn.getresponse().read()
    conn.close()
    return decode(reply)[0]


def _value(message: Message, name: str) -> object:
    group = message.group(Tag.PRINTER)
    assert group is not None and group.get(name) is not None, name
    return group.get(name).value  # type: ignore[union-attr]


def test_identical_requests_get_their_own_request_id_and_current_values(
    printgate_factory: Callable[..., Printgate], tmp_pdf: Path
) -> None:
    gw = printgate_factory(
        {
            "printers": [{"name": "gone", "uri": f"ipp://127.0.0.1:{free_port()}/ipp/print"}],
            "queues": [{"name": "q", "printers": ["gone"]}],
            "jobs": {"retry_window": 3600.0},
        }
    )
    first, second = _gpa(gw, 101), _gpa(gw, 102)
    assert (first.request_id, second.request_id) == (101, 102)
    assert _value(first, "queued-job-count") == _value(second, "queued-job-count") == 0
    print_job(gw.queue_uri("q"), tmp_pdf.read_bytes())
    assert _value(_gpa(gw, 103), "queued-job-count") == 1
    other_host = _gpa(gw, 104, host="printserver.example:631")
    assert (
        _value(other_host, "printer-uri-supported") == "ipp://printserver.example:631/ipp/print/q"
    )
