"""Logging set-up: one event per line, with its level, in a form journald keeps.

Under systemd (stdout/stderr connected to the journal, $JOURNAL_STREAM set) each line starts
with a syslog priority prefix "<N>", which journald turns into the entry's PRIORITY (so
`journalctl -p warning` works) and strips; the journal adds the time itself. Elsewhere lines
carry a timestamp and the level name. Multi-line messages and tracebacks are folded into their
one line, so an event is never split across entries.
"""

from __future__ import annotations

import logging
import os
import sys

SYSLOG_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class OneLineFormatter(logging.Formatter):
    def __init__(self, journal: bool):
        fmt = (
            "%(name)s: %(message)s"
            if journal
            else ("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        super().__init__(fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\r", "").replace("\n", " | ")
        if self.journal:
            return f"<{SYSLOG_PRIORITY.get(record.levelno, 6)}>{text}"
        return text


def to_journal() -> bool:
    """Is stderr the journal? systemd sets JOURNAL_STREAM to its device:inode."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    if not stream:
        return False
    try:
        info = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return stream == f"{info.st_dev}:{info.st_ino}"


def setup(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(to_journal()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
