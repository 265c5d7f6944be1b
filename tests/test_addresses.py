"""Addresses from the request: every URI in an answer names the host and port of the
printer-uri the client sent, not its Host header (libcups sends "localhost" for 127.0.0.1)."""

from __future__ import annotations

import http.client
from collections.abc import Callable
from pathlib import Path

from gateway.ipp import Message, Op, Tag, decode, encode
from gateway.ipp import model as m
from tests.peers import Printgate, ipptool

URI_ATTRIBUTES = ("printer-uri-supported", "printer-more-info", "printer-icons",
                  "printer-supply-info-uri")  # fmt: skip


def post(
    gw: Printgate, host_header: str, op: Op, *attrs: m.Attribute, body: bytes = b""
) -> Message:
    request = Message(
        (2, 0),
        op,
        1,
        (
            m.group(
                Tag.OPERATION,
                [
                    m.charset("attributes-charset", "utf-8"),
                    m.language("attributes-natural-language", "en"),
                    m.uri("printer-uri", gw.queue_uri("q")),
                    m.name_("requesting-user-name", "tester"),
                    *attrs,
                ],
            ),
        ),
    )
    conn = http.client.HTTPConnection(gw.host, gw.port, timeout=30)
    try:
        conn.request(
            "POST",
            "/ipp/print/q",
            body=encode(request) + body,
            headers={"Content-Type": "application/ipp", "Host": host_header},
        )
        reply = conn.getresponse()
        assert reply.status == 200
        return decode(reply.read())[0]
    finally:
        conn.close()


def test_uris_name_the_host_the_client_addressed(
    printgate_factory: Callable[..., Printgate], tmp_path: Path
) -> None:
    gw = printgate_factory(
        {
            "printers": [{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
            "queues": [{"name": "q", "printers": ["virtual"], "auth": "none"}],
        }
    )
    addressed = f"127.0.0.1:{gw.port}"
    host_header = f"localhost:{gw.port}"
    for _ in range(2):  # the second answer comes from the store of answers
        printer = post(gw, host_header, Op.GET_PRINTER_ATTRIBUTES).group(Tag.PRINTER)
        assert printer is not None
        for name in URI_ATTRIBUTES:
            values = printer.get(name)
            assert values is not None and values.strings(), name
            assert all(f"//{addressed}/" in v for v in values.strings()), values
    reply = post(
        gw,
        host_header,
        Op.PRINT_JOB,
        m.mime("document-format", "application/pdf"),
        m.keyword("job-hold-until", "indefinite"),  # an operation attribute here: ignored or not
        body=b"%PDF-1.4\n%%EOF\n",
    )
    job = reply.group(Tag.JOB)
    assert job is not None and f"//{addressed}/" in (job.get("job-uri").text() or "")  # type: ignore[union-attr]
    job_id = job.get("job-id").value  # type: ignore[union-attr]
    attrs = post(gw, host_header, Op.GET_JOB_ATTRIBUTES, m.integer("job-id", int(job_id)))  # type: ignore[arg-type]
    group = attrs.group(Tag.JOB)
    assert group is not None
    for name in ("job-uri", "job-printer-uri"):
        assert f"//{addressed}/" in (group.get(name).text() or ""), name  # type: ignore[union-attr]
    # A Host header with no printer-uri host to go by is still used (the web console's links).
    assert printer.get("printer-dns-sd-name").values[0].tag == Tag.NAME  # type: ignore[union-attr]

    # libcups itself: ipptool to 127.0.0.1 sends "Host: localhost:P".
    test = tmp_path / "uris.test"
    test.write_text(
        "{\n OPERATION Get-Printer-Attributes\n GROUP operation-attributes-tag\n"
        " ATTR charset attributes-charset utf-8\n"
        " ATTR naturalLanguage attributes-natural-language en\n ATTR uri printer-uri $uri\n"
        " STATUS successful-ok\n"
        + "".join(
            f' EXPECT {n} WITH-ALL-VALUES "/^[a-z]+:\\/\\/127\\.0\\.0\\.1:{gw.port}\\//"\n'
            for n in URI_ATTRIBUTES
        )
        + "}\n"
    )
    result = ipptool(gw.queue_uri("q"), test)
    assert result.returncode == 0 and "[FAIL]" not in result.stdout, result.stdout
