"""The real-peer fixtures work on their own, without printgate."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.peers import (
    Cupsd,
    IppEvePrinter,
    PeerError,
    Printgate,
    ensure_dns_sd,
    find_binary,
    ipp_request,
    ipptool,
    make_pdf,
    toml_dumps,
    wait_for,
)

IPPTOOL_DIRS = (Path("/usr/share/cups/ipptool"), Path("/usr/local/share/cups/ipptool"))
SERVER_ERROR_BUSY = 0x0507


def pdf_pages(path: Path) -> int:
    out = subprocess.run(
        [find_binary("pdfinfo"), str(path)], capture_output=True, text=True, check=True
    ).stdout
    return int(next(line.split()[1] for line in out.splitlines() if line.startswith("Pages:")))


def print_job(uri: str, document: Path, user: str = "tester") -> int:
    response = ipp_request(
        uri,
        "Print-Job",
        [
            (0x45, "printer-uri", uri),
            (0x42, "requesting-user-name", user),
            (0x42, "job-name", document.name),
            (0x49, "document-format", "application/pdf"),
        ],
        document=document.read_bytes(),
    )
    assert response.ok, hex(response.status)
    return int(response.first("job-id"))


def ipp_1_1_with_busy_retry(tmp_path: Path) -> Path:
    """The stock ipp-1.1.test with one fix: its Create-Job tests retry on server-error-busy,
    as its Print-Job tests already do. ippeveprinter takes one job at a time, and a job
    cancelled while processing stays "processing" until its command ends, so the Create-Job
    right after "Cancel-Job (pending/processing job)" races it and is sometimes busy."""
    stock = next(d / "ipp-1.1.test" for d in IPPTOOL_DIRS if (d / "ipp-1.1.test").exists())
    text = stock.read_text()
    fixed = text.replace(
        "\tOPERATION Create-Job\n",
        "\tOPERATION Create-Job\n\tDELAY 0.05\n"
        "\tSTATUS server-error-busy REPEAT-MATCH REPEAT-LIMIT 100\n",
    )
    assert fixed.count("REPEAT-LIMIT 100") == text.count("OPERATION Create-Job") > 0
    target = tmp_path / "ipp-1.1.test"
    target.write_text(fixed)
    return target


def test_ipp_1_1_passes_against_ippeveprinter(
    ippeveprinter_factory: Callable[..., IppEvePrinter], tmp_pdf: Path, tmp_path: Path
) -> None:
    # Without the page count the job command ends in a few ms, so the suite's "Until Job
    # Complete" step needs no 5 s repeat interval.
    printer = ippeveprinter_factory("eve", impressions=False)
    # The suite expects printer-up-time > 0, i.e. a printer up for at least a second.
    wait_for(lambda: printer.get_printer_attributes().first("printer-up-time", 0) > 0, timeout=3)

    result = ipptool(printer.uri, ipp_1_1_with_busy_retry(tmp_path), document=tmp_pdf)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout


def test_lp_through_cupsd_driverless_queue_reaches_ippeveprinter(
    cupsd: Cupsd, ippeveprinter: IppEvePrinter, tmp_pdf: Path
) -> None:
    cupsd.add_queue("eve", ippeveprinter.uri, model="everywhere")
    job_id = cupsd.lp("eve", tmp_pdf, user="alice")

    attrs = cupsd.wait_job_done("eve", job_id, timeout=60)

    assert attrs["job-state"] == "completed", cupsd.job_log(job_id)
    assert attrs["job-originating-user-name"] == "alice"
    [document] = ippeveprinter.wait_documents(1)
    assert document.read_bytes().startswith(b"%PDF")  # cupsd's pdftopdf rewrote it: still PDF
    assert pdf_pages(document) == 1


def test_ippeveprinter_keeps_documents_and_reports_impressions(
    ippeveprinter: IppEvePrinter, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "three.pdf", pages=3)

    job_id = print_job(ippeveprinter.uri, pdf)

    [document] = ippeveprinter.wait_documents(1)
    assert document.read_bytes() == pdf.read_bytes()
    job = ippeveprinter.get_job_attributes(job_id).group("job")
    assert job["job-impressions-completed"] == [3]
    assert job["job-state"] == [9]  # completed


def test_ippeveprinter_restarts_on_the_same_port_without_losing_documents(
    ippeveprinter: IppEvePrinter, tmp_pdf: Path
) -> None:
    uri = ippeveprinter.uri
    print_job(uri, tmp_pdf)
    ippeveprinter.wait_documents(1)

    ippeveprinter.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", ippeveprinter.port), timeout=1).close()
    ippeveprinter.start()

    assert ippeveprinter.uri == uri
    print_job(uri, tmp_pdf)  # job ids restart at 1 ...
    first, second = ippeveprinter.wait_documents(2)
    assert first != second and first.exists()  # ... but the first document is kept apart


def test_ippeveprinter_answers_busy_while_printing(
    ippeveprinter_factory: Callable[..., IppEvePrinter], tmp_pdf: Path
) -> None:
    slow = ippeveprinter_factory("slow", job_seconds=2)
    print_job(slow.uri, tmp_pdf)

    response = ipp_request(
        slow.uri,
        "Print-Job",
        [
            (0x45, "printer-uri", slow.uri),
            (0x42, "requesting-user-name", "tester"),
            (0x49, "document-format", "application/pdf"),
        ],
        document=tmp_pdf.read_bytes(),
    )

    assert response.status == SERVER_ERROR_BUSY


def test_cupsd_raw_queue_holds_jobs_while_stopped(cupsd: Cupsd, tmp_pdf: Path) -> None:
    cupsd.add_raw_queue("intake")

    job_ids = [cupsd.lp("intake", tmp_pdf) for _ in range(3)]

    time.sleep(0.3)
    assert [cupsd.job_attributes(j)["job-state"] for j in job_ids] == ["pending"] * 3
    assert "disabled" in cupsd.run(["lpstat", "-p", "intake"]).stdout


def test_ensure_dns_sd_is_idempotent() -> None:
    ensure_dns_sd()
    ensure_dns_sd()
    assert Path("/run/dbus/system_bus_socket").exists()


def test_missing_binary_names_the_package() -> None:
    with pytest.raises(PeerError, match="apt-get install -y"):
        find_binary("no-such-printgate-peer")


def test_make_pdf_pages(tmp_path: Path) -> None:
    assert pdf_pages(make_pdf(tmp_path / "a.pdf", pages=4, color=True)) == 4
    # Reproducible bytes: the same call twice gives the same file.
    assert make_pdf(tmp_path / "b.pdf").read_bytes() == make_pdf(tmp_path / "c.pdf").read_bytes()


# -- TOML writer

CONFIG = {
    "server": {"listen": ["127.0.0.1:8631", "[::1]:8631"], "data_dir": "/tmp/x"},
    "database": {"url": "sqlite+aiosqlite:////tmp/x/printgate.db"},
    "printers": [
        {
            "name": "eve",
            "uri": "ipp://127.0.0.1:1/ipp/print",
            "graceful_failover": True,
            "snmp": {"version": "2c", "community": "public"},
        },
        {"name": "file", "uri": "file:///tmp/out"},
    ],
    "queues": [
        {
            "name": "office",
            "printers": ["eve", "file"],
            "auth": "none",
            "require": ["project", "department"],
            "held_hours": 24,
        }
    ],
}


def test_toml_dumps_a_printgate_config() -> None:
    assert tomllib.loads(toml_dumps(CONFIG)) == CONFIG


keys = st.text(min_size=1, max_size=12)
scalars = (
    st.text(max_size=30)
    | st.integers(-(2**63), 2**63 - 1)
    | st.booleans()
    | st.floats(allow_nan=False)
)
values = st.recursive(
    scalars | st.lists(scalars, max_size=4),
    lambda inner: (
        st.dictionaries(keys, inner, max_size=4)
        | st.lists(st.dictionaries(keys, inner, min_size=1, max_size=3), min_size=1, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(keys, values, max_size=5))
def test_toml_dumps_round_trips(data: dict[str, object]) -> None:
    assert tomllib.loads(toml_dumps(data)) == data


# -- Printgate, driven with a stand-in server (the gateway is tested elsewhere)

STUB = textwrap.dedent("""
    import http.server, json, signal, sys, threading, tomllib
    config = tomllib.load(open(sys.argv[sys.argv.index("--config") + 1], "rb"))
    host, port = config["server"]["listen"][0].rsplit(":", 1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(config).encode()
            self.send_response(200 if self.path == "/healthz" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("stub serving", sys.argv[1], flush=True)
    server.serve_forever()
""")


def test_printgate_class_starts_stops_kills_and_restarts(tmp_path: Path) -> None:
    stub = tmp_path / "stub.py"
    stub.write_text(STUB)
    gateway = Printgate(
        CONFIG | {"server": {}}, tmp_path / "data", command=[sys.executable, str(stub)]
    )

    gateway.start()
    status, _ = gateway.get("/healthz")
    assert status == 200
    served = tomllib.loads(gateway.config_path.read_text())
    assert served["server"]["data_dir"] == str(tmp_path / "data")
    assert served["queues"] == CONFIG["queues"]
    assert gateway.queue_uri("office") == f"ipp://127.0.0.1:{gateway.port}/ipp/print/office"
    assert "stub serving serve" in gateway.log()
    assert gateway.stop() == 0

    port = gateway.port
    gateway.start()
    assert gateway.port == port
    assert gateway.kill() == -9
    gateway.start()
    assert gateway.get("/healthz")[0] == 200
    gateway.stop()


def test_printgate_class_reports_a_failed_start(tmp_path: Path) -> None:
    gateway = Printgate(
        {},
        tmp_path / "data",
        command=[sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"],
    )
    with pytest.raises(PeerError, match="exited with status 3") as info:
        gateway.start()
    assert "boom" in str(info.value)
