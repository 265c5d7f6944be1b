"""Scheduled backups: printgate serve writes an archive on its timetable, keeps the newest
[backup] keep, mails how it went (aiosmtpd), and a failing backup is mailed as a failure."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from gateway.maintenance.backup import read
from tests.peers import Printgate, toml_dumps, wait_for
from tests.snmp_peers import SmtpSink, body


def mails(sink: SmtpSink, subject: str) -> list[EmailMessage]:
    return [m for m in sink.received() if m["Subject"] == subject]


def test_scheduled_backups_are_written_pruned_and_mailed(
    printgate_factory: Callable[..., Printgate], smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    archives = tmp_path / "backups"
    gateway = printgate_factory(
        {
            "printers": [{"name": "virtual", "uri": (tmp_path / "out").as_uri()}],
            "queues": [{"name": "office", "printers": ["virtual"]}],
            "backup": {"schedule": "every 2s", "directory": str(archives), "keep": 2},
            "mail": {
                "host": smtp_sink.host,
                "port": smtp_sink.port,
                "security": "none",
                "to": ["ops@example.org"],
            },
        }
    )
    written = wait_for(
        lambda: len(got := mails(smtp_sink, "printgate: scheduled backup written")) >= 3 and got,
        60,
        what="three scheduled backups mailed",
    )
    kept = sorted(archives.glob("printgate-*.tar.gz"))
    assert 1 <= len(kept) <= 2  # keep = 2; a third may be under way
    assert any("Older archives removed (keep = 2)" in body(m) for m in written)
    assert f"printgate restore {kept[-1]}" in "".join(body(m) for m in written)
    staging = tmp_path / "staging"
    staging.mkdir()
    archive = read(kept[-1], staging)  # whole, every checksum right
    assert archive.rows("queues")[0]["name"] == "office"
    assert "scheduled backup written" in gateway.log()


def test_a_failing_scheduled_backup_is_mailed_as_such(
    printgate_factory: Callable[..., Printgate], smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the backups should go")
    printgate_factory(
        {
            "backup": {"schedule": "every 2s", "directory": str(blocked / "sub")},
            "mail": {
                "host": smtp_sink.host,
                "port": smtp_sink.port,
                "security": "none",
                "to": ["ops@example.org"],
            },
        }
    )
    failed = wait_for(
        lambda: mails(smtp_sink, "printgate: scheduled backup FAILED"), 30, what="failure mail"
    )
    assert str(blocked / "sub") in body(failed[0])


def test_a_backup_directory_at_the_root_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "printgate.toml"
    config.write_text(toml_dumps({"backup": {"schedule": "weekly sun 02:00", "directory": "/"}}))
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
        check=False,
    )
    assert result.returncode != 0
    assert "[backup] directory: not the root directory" in result.stdout + result.stderr
