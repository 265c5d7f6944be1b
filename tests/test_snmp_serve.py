"""`printgate serve` with SNMP configured: it reads the printers and mails the meter report on
its schedule, as CSV and Excel, with new devices highlighted (acceptance 4)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from openpyxl import load_workbook

from tests.harness import create_store
from tests.peers import REPO_ROOT, Printgate, toml_dumps, wait_for
from tests.snmp_peers import SmtpSink, SnmpSim, attachments, hp_printer
from tests.test_credentials import printgate_cli
from tests.web_client import SyncWebClient

YELLOW = "00FFFF00"


def test_meter_report_is_mailed_on_its_schedule(
    tmp_path: Path,
    printgate_factory: Callable[..., Printgate],
    snmpsim_factory: Callable[..., SnmpSim],
    smtp_sink: SmtpSink,
) -> None:
    office = snmpsim_factory(hp_printer(serial="OFFICE1", black="450"), host="127.0.5.1")
    lobby = snmpsim_factory(hp_printer(serial="LOBBY1", location="Lobby"), host="127.0.5.2")
    config = {
        "printers": [
            {
                "name": "office",
                "uri": (tmp_path / "out").as_uri(),
                "snmp": {"host": office.host, "port": office.port},
            }
        ],
        "queues": [{"name": "q", "printers": ["office"]}],
        "snmp": {
            "devices": [lobby.address],
            "poll_interval": 1.0,
            "timeout": 0.5,
            "report_schedule": "every 2s",
            "report_formats": ["csv", "xlsx"],
        },
        "mail": {
            "host": smtp_sink.host,
            "port": smtp_sink.port,
            "security": "none",
            "to": ["dealer@example.org"],
        },
    }
    gateway = printgate_factory(config)

    def reports() -> list[EmailMessage]:
        return [
            m for m in smtp_sink.received() if m["Subject"].startswith("printgate meter report")
        ]

    def with_meters() -> list[dict[str, str]] | None:
        # The first report may go out before the first complete read (snmpsim is slow on a
        # busy machine): wait for one that has every device's meters and serial.
        for message in reports():
            files = attachments(message)
            table = next(v for k, v in files.items() if k.endswith(".csv"))
            rows = list(csv.DictReader(io.StringIO(table.decode())))
            if all(r["total"] and r["serial"] for r in rows):
                return rows
        return None

    rows = wait_for(with_meters, 30, 0.2, "a meter report with meters")
    by_address = {r["address"]: r for r in rows}
    assert set(by_address) == {office.address, lobby.address}
    assert by_address[office.address]["device"] == "office"
    assert by_address[office.address]["serial"] == "OFFICE1"
    assert by_address[lobby.address]["location"] == "Lobby"
    assert (by_address[office.address]["mono"], by_address[office.address]["color"]) == (
        "9000",
        "3000",
    )
    first = reports()[0]
    assert first["To"] == "dealer@example.org"
    assert first["Subject"].startswith("printgate meter report")
    workbook = attachments(first)
    sheet = load_workbook(
        io.BytesIO(next(v for k, v in workbook.items() if k.endswith(".xlsx")))
    ).active
    header = [c.value for c in sheet[1]]
    lines = {row[header.index("address")].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(lines) == {office.address, lobby.address}
    # The hand-added lobby printer is new in the first report: yellow; the configured one not.
    assert lines[lobby.address][0].fill.start_color.rgb == YELLOW
    assert lines[office.address][0].fill.fill_type is None
    assert lines[lobby.address][header.index("flag")].value == "new"
    # Reported once, no longer new in the next report.
    count = len(reports())
    later = wait_for(lambda: len(reports()) > count and reports()[-1], 30, 0.2, "next report")
    table = next(v for k, v in attachments(later).items() if k.endswith(".csv")).decode()
    assert {r["address"]: r["flag"] for r in csv.DictReader(io.StringIO(table))} == {
        office.address: "",
        lobby.address: "",
    }
    assert "meter read" in gateway.log()
    # The low black toner was alerted once, and the web UI shows it with the meters.
    alerts = [m for m in smtp_sink.received() if m["Subject"].startswith("printgate alert")]
    assert len(alerts) == 1 and "Black Cartridge HP 212X is low (5%)" in alerts[0]["Subject"]
    printgate_cli(
        gateway,
        "admin",
        "add",
        "book",
        "--role",
        "bookkeeper",
        "--email",
        "b@example.org",
        "--password-stdin",
        password="a long bookkeeper password",
    )
    web = SyncWebClient(gateway.base_url)
    web.sign_in("book", "a long bookkeeper password")
    status, text = web.get("/console/fleet")
    assert status == 200 and "OFFICE1" in text and lobby.address in text
    assert "Black Cartridge HP 212X is low (5%)" in text


def test_report_command_writes_csv_and_xlsx(
    tmp_path: Path, snmpsim_factory: Callable[..., SnmpSim], database_url: str
) -> None:
    sim = snmpsim_factory(hp_printer(serial="CLI1", black="450"))
    config = tmp_path / "printgate.toml"
    config.write_text(
        toml_dumps(
            {
                "server": {"listen": ["127.0.0.1:1"], "data_dir": str(tmp_path / "data")},
                "database": {"url": database_url},
                "snmp": {"devices": [sim.address], "timeout": 0.5},
            }
        )
    )

    create_store(database_url)

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "gateway", *args, "--config", str(config)],
            capture_output=True,
            cwd=REPO_ROOT,
            timeout=60,
            check=False,
        )

    result = run("snmp", "report", "--format", "csv", "--poll")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
    assert [(r["address"], r["serial"], r["total"], r["flag"]) for r in rows] == [
        (sim.address, "CLI1", "12000", "new")
    ]
    out = tmp_path / "meters.xlsx"
    assert run("snmp", "report", "--format", "xlsx", "--output", str(out)).returncode == 0
    sheet = load_workbook(out).active
    assert sheet.cell(2, 3).value == "CLI1" and sheet.cell(2, 1).fill.start_color.rgb == YELLOW
    # The read also opened the low-toner episode (not mailed: no [mail] host).
    shown = run("snmp", "alerts", "--json")
    assert shown.returncode == 0, shown.stderr
    (alert,) = json.loads(shown.stdout)
    assert (alert["device"], alert["kind"], alert["mailed"]) == (sim.address, "low-supply", None)
