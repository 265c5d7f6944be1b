"""The diagnostic bundle a person sends to support: versions, the database revision, the check
results, the config with its secrets removed, and the recent log lines. A .tar.gz built in
memory (it is small); nothing in it is a password, a token, a community or a key.

Log lines come from a ring of the most recent records kept in memory (`RecentLog`, installed
once per process), else from the systemd journal."""

from __future__ import annotations

import asyncio
import collections
import io
import logging
import re
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from ..config import Config
from ..store.store import Store
from .backup import schema_revision
from .check import Result

RECENT_LINES = 2000
JOURNAL_LINES = "2000"
_SECRET_KEY = re.compile(
    r"""^(\s*(?:[A-Za-z_]*(?:password|secret|token|passphrase)[A-Za-z_]*|community|auth_key|"""
    r"""priv_key)\s*=\s*)("[^"]*"|'[^']*')""",
    re.MULTILINE,
)
_INLINE_SECRET = re.compile(
    r"""((?:community|auth_key|priv_key|password|auth_password|priv_password)\s*=\s*)"""
    r"""("[^"]*"|'[^']*')"""
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s\"']+:)([^@\s\"']+)(@)")


def redact(text: str) -> str:
    """Config or log text with every secret value replaced by "<redacted>"."""
    text = _SECRET_KEY.sub(r'\1"<redacted>"', text)
    text = _INLINE_SECRET.sub(r'\1"<redacted>"', text)
    return _URL_PASSWORD.sub(r"\1<redacted>\3", text)


class RecentLog(logging.Handler):
    """The last RECENT_LINES log lines of this process, formatted as the console prints them."""

    _installed: RecentLog | None = None
    _lock = threading.Lock()

    def __init__(self, size: int = RECENT_LINES):
        super().__init__(logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=size)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a log line must never break what logged it
            self.handleError(record)

    @classmethod
    def install(cls) -> RecentLog:
        """The process's ring, attached to the root logger the first time."""
        with cls._lock:
            if cls._installed is None:
                cls._installed = cls()
                logging.getLogger().addHandler(cls._installed)
            return cls._installed


async def store_revision(store: Store) -> str:
    """The Alembic revision the running store is at."""

    async def fn(session: AsyncSession) -> str:
        connection = await session.connection()
        return await connection.run_sync(schema_revision)

    return await store.read(fn)


def _journal() -> str:
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        return "no log lines kept and journalctl is not available\n"
    try:
        result = subprocess.run(
            [journalctl, "-u", "printgate", "-n", JOURNAL_LINES, "--no-pager", "-o", "short-iso"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"journalctl failed: {exc}\n"
    return (result.stdout or result.stderr).decode(errors="replace")


def log_text(recent: RecentLog | None) -> str:
    if recent is not None and recent.lines:
        return "\n".join(recent.lines) + "\n"
    return _journal()


def config_text(config: Config) -> str:
    if config.source == "embedded default":
        return "# the embedded default configuration (no config file)\n"
    try:
        return redact(Path(config.source).read_text(encoding="utf-8"))
    except OSError as exc:
        return f"# {config.source}: {exc.strerror}\n"


def _tar(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


async def build(
    config: Config,
    about: dict[str, str],
    results: Iterable[Result],
    recent: RecentLog | None = None,
) -> bytes:
    """The bundle: about.txt (version, revision, uptime...), check.txt, the redacted config and
    the log lines (redacted too: a URL with a password may have been logged)."""
    log = await asyncio.to_thread(log_text, recent)
    members = {
        "about.txt": "".join(f"{key}: {value}\n" for key, value in about.items()),
        "check.txt": "".join(f"{result.line()}\n" for result in results),
        "printgate-redacted.toml": config_text(config),
        "log.txt": redact(log),
    }
    return await asyncio.to_thread(_tar, members)
