"""Scheduled backups ([backup] schedule): an archive like `printgate backup` makes, named by its
time, the oldest beyond [backup] keep removed, and a mail saying how it went."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from ..config import Config
from ..runtime.mail import Mail, Mailer, MailError
from ..store.store import Store, StoreUnavailable
from .backup import BackupError, write_backup

log = logging.getLogger(__name__)
PREFIX = "printgate-"
SUFFIX = ".tar.gz"


def archive_name(moment: datetime) -> str:
    return f"{PREFIX}{moment:%Y%m%d-%H%M%S}{SUFFIX}"


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the `keep` newest scheduled archives (their names sort by time); only
    files this module names are touched."""
    archives = sorted(
        p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file() and not p.is_symlink()
    )
    doomed = archives[: max(0, len(archives) - keep)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


class ScheduledBackups:
    def __init__(self, config: Config, store: Store, mailer: Mailer):
        self.config = config
        self.store = store
        self.mailer = mailer

    async def run(self) -> Path | None:
        """One scheduled backup; the archive written, or None when it failed (and said why)."""
        settings = self.config.backup
        target = settings.directory / archive_name(datetime.now())
        try:
            await asyncio.to_thread(settings.directory.mkdir, parents=True, exist_ok=True)
            manifest = await write_backup(self.config, target)
        except (BackupError, OSError) as exc:
            log.error("scheduled backup to %s failed: %s", target, exc)
            await self._notify(
                "printgate: scheduled backup FAILED",
                f"The scheduled backup to {target} failed:\n\n    {exc}\n\n"
                "Nothing was written. The previous archives are untouched.",
            )
            return None
        removed = await asyncio.to_thread(prune, settings.directory, settings.keep)
        rows = sum(manifest.tables.values())
        log.info(
            "scheduled backup written to %s: %d rows, %d files; %d old archives removed",
            target,
            rows,
            len(manifest.files),
            len(removed),
        )
        await self._notify(
            "printgate: scheduled backup written",
            f"A backup was written to {target}\n"
            f"({rows} rows, {len(manifest.files)} files, {target.stat().st_size} bytes).\n"
            f"Restore it with: printgate restore {target}\n"
            + (f"\nOlder archives removed (keep = {settings.keep}):\n" if removed else "")
            + "".join(f"    {p.name}\n" for p in removed),
        )
        return target

    async def _notify(self, subject: str, body: str) -> None:
        if not (self.config.backup.notify and self.mailer.configured):
            return
        try:
            to = self.mailer.recipients(await self.store.admin_emails())
            await self.mailer.send(Mail(to, subject, body))
        except (MailError, StoreUnavailable, OSError) as exc:
            log.warning("backup notification not sent: %s", exc)
