"""`printgate report ...` from the command line: a report over a period to a file or standard
output in each format, figures equal to the hand computation; one clear line for bad input;
`--mail` through a real SMTP server (aiosmtpd), with the report attached, or a notice when it is
over the attachment limit; `printgate report rebuild`."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from gateway.cli.main import main
from gateway.store.store import Store
from tests import test_reports_fixture as fx
from tests.peers import REPO_ROOT
from tests.peers.toml_writer import toml_dumps
from tests.snmp_peers import SmtpSink, attachments, body


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
async def config(store: Store, database_url: str, tmp_path: Path, smtp: SmtpSink) -> Path:
    """A printgate config on the store that holds the fixture's jobs, mailing to `smtp`."""
    await fx.load(store)
    path = tmp_path / "printgate.toml"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path.write_text(
        toml_dumps(
            {
                "server": {"data_dir": str(data_dir)},
                "database": {"url": database_url},
                "mail": {
                    "host": smtp.host,
                    "port": smtp.port,
                    "security": "none",
                    "max_attachment_bytes": LIMIT,
                },
            }
        )
    )
    return path


def printgate(config: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "report", *args, "--config", str(config)],
        capture_output=True,
        cwd=REPO_ROOT,
        timeout=120,
    )


LIMIT = 10_000_000
PERIOD = ("--from", fx.FIRST.isoformat(), "--to", fx.LAST.isoformat())


def test_reports_to_stdout_and_files(config: Path, tmp_path: Path) -> None:
    done = printgate(config, "summary", *PERIOD, "--format", "json", "--tax")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert Decimal(data["price"]["gross"]) == fx.add_up(fx.SPECS, "price").gross

    done = printgate(config, "projects", *PERIOD, "--queue", "plotters", "--billable", "billable")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout.decode("utf-8-sig"))))
    totals = {r[0]: Decimal(r[9]) for r in rows[: rows.index([])] if len(r) > 9 and r[1] != "Jobs"}
    billable = [s for s in fx.SPECS if s.billable and s.queue == "plotters"]
    for project in {s.project for s in billable}:
        mine = [s for s in billable if s.project == project]
        assert totals[project] == fx.add_up(mine, "cost").net
    assert totals["Total"] == fx.add_up(billable, "cost").net

    out = tmp_path / "users.xlsx"
    done = printgate(config, "users", *PERIOD, "--format", "xlsx", "--output", str(out))
    assert done.returncode == 0 and out.stat().st_size > 0, done.stderr
    sheet = openpyxl.load_workbook(out)["Totals by user"]
    assert any(row[0] == "alice" for row in sheet.iter_rows(values_only=True))

    done = printgate(config, "raw", *PERIOD, "--printer", "laser")
    lines = list(csv.reader(io.StringIO(done.stdout.decode("utf-8-sig"))))
    assert len(lines) == 1 + sum(1 for s in fx.SPECS if s.printer == "laser")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("summary", "--from", "2026-02-01", "--to", "2026-01-01"), "ends (2026-01-01) before"),
        (("summary", "--from", "first-of-may", "--to", "2026-01-01"), "a date such as"),
        (("summary", "--from", "2026-01-01"), "give --from and --to"),
        (("users", *PERIOD, "--mail", "bookkeeper-at-example"), "not an email address"),
        (("summary", *PERIOD, "--name", "alice"), "--name goes with users"),
        (("summary", *PERIOD, "--queue", "a", "--printer", "b"), "not both"),
    ],
)
def test_bad_input_is_one_clear_line(
    config: Path, args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", *args, "--config", str(config)])
    error = capsys.readouterr().err.strip()
    assert code == 2 and message in error and len(error.splitlines()) == 1, error


def _limit_mail(config: Path, limit: int) -> None:
    text = config.read_text()
    config.write_text(
        text.replace(f"max_attachment_bytes = {LIMIT}", f"max_attachment_bytes = {limit}")
    )


def test_mail_attaches_the_report_or_says_it_is_too_large(
    config: Path, smtp: SmtpSink, tmp_path: Path
) -> None:
    pdf = tmp_path / "users.pdf"
    assert (
        printgate(config, "users", *PERIOD, "--format", "pdf", "--output", str(pdf)).returncode == 0
    )
    _limit_mail(config, pdf.stat().st_size - 1)  # the CSV fits, the PDF is one byte over

    args = ("users", *PERIOD, "--format", "csv", "--mail", "a@example.org; b@example.org")
    done = printgate(config, *args)
    assert done.returncode == 0, done.stderr
    (message,) = smtp.wait(1)
    assert message["To"] == "a@example.org, b@example.org"
    ((name, content),) = attachments(message).items()
    assert name.endswith(".csv") and b"alice" in content

    done = printgate(config, "users", *PERIOD, "--format", "pdf", "--mail", "a@example.org")
    assert done.returncode == 0, done.stderr
    assert "mailed a notice" in done.stderr.decode()
    notice = smtp.wait(2)[1]
    assert attachments(notice) == {} and "too large" in notice["Subject"]
    assert "larger than the mail attachment limit" in body(notice)


def test_rebuild(config: Path) -> None:
    done = printgate(config, "rebuild")
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.decode().strip() == f"report roll-ups rebuilt from {len(fx.SPECS)} printed jobs"
    )
