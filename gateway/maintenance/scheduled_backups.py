"""Scheduled backups ([backup] schedule): an archive like `printgate backup` makes, named by its
time, the oldest beyond [backup] keep removed, and a mail saying how it went.

The console's Database panel may override the [backup] table: its values are kept as settings
in the store (keys backup.schedule, backup.directory, backup.keep, backup.notify) and win over
the TOML. Each run reads them afresh, so a new directory, keep or notify applies from the next
run of a running printgate; a new schedule needs the scheduler to be given it (service.py)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..config import BackupConfig, Config
from ..runtime.mail import Mail, Mailer, MailError
from ..schedule import parse_schedule
from ..store.audit import Actor, record
from ..store.models import SettingRow
from ..store.store import Store, StoreUnavailable
from .backup import BackupError, write_backup

log = logging.getLogger(__name__)
PREFIX = "printgate-"
SUFFIX = ".tar.gz"
SETTING_PREFIX = "backup."
FIELDS = ("schedule", "directory", "keep", "notify")
MAX_KEEP = 1000


class BackupSettingsError(ValueError):
    """A value the [backup] settings refuse: `field` says which."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def checked(schedule: str, directory: str, keep: int, notify: bool) -> BackupConfig:
    """The settings as the TOML's [backup] would accept them, else BackupSettingsError."""
    schedule = " ".join(schedule.split())
    if schedule:
        try:
            parse_schedule(schedule)
        except ValueError as exc:
            raise BackupSettingsError("schedule", str(exc)) from exc
    path = Path(directory.strip()).expanduser()
    if not directory.strip() or not path.is_absolute():
        raise BackupSettingsError("directory", "an absolute path is needed")
    if path == Path(path.anchor):
        raise BackupSettingsError("directory", "not the root directory; choose a folder")
    if not 1 <= keep <= MAX_KEEP:
        raise BackupSettingsError("keep", f"between 1 and {MAX_KEEP}")
    return BackupConfig(schedule, path, keep, notify)


def _as_text(settings: BackupConfig) -> dict[str, str]:
    return {
        "schedule": settings.schedule,
        "directory": str(settings.directory),
        "keep": str(settings.keep),
        "notify": "true" if settings.notify else "false",
    }


async def overrides(store: Store) -> dict[str, str]:
    """The console's values (field -> text), without the prefix."""

    async def fn(session: AsyncSession) -> dict[str, str]:
        keys = [SETTING_PREFIX + name for name in FIELDS]
        rows = await session.scalars(select(SettingRow).where(SettingRow.key.in_(keys)))
        return {row.key.removeprefix(SETTING_PREFIX): row.value for row in rows}

    return await store.read(fn)


def merged(base: BackupConfig, stored: dict[str, str]) -> BackupConfig:
    """The TOML's [backup] with the console's values over it; a stored value that no longer
    reads (edited by hand) is ignored rather than stopping backups."""
    values = _as_text(base) | stored
    try:
        return checked(
            values["schedule"],
            values["directory"],
            int(values["keep"]),
            values["notify"] == "true",
        )
    except (BackupSettingsError, ValueError):
        log.warning("the console's backup settings do not read; using [backup] of the config")
        return base


async def in_force(base: BackupConfig, store: Store) -> BackupConfig:
    return merged(base, await overrides(store))


async def save(store: Store, actor: Actor, base: BackupConfig, settings: BackupConfig) -> None:
    """Store the console's values (all four, so the TOML no longer decides them) with their
    audit entry."""
    after = _as_text(settings)

    def fn(session: Session) -> None:
        stored = {
            row.key.removeprefix(SETTING_PREFIX): row.value
            for row in session.scalars(
                select(SettingRow).where(SettingRow.key.startswith(SETTING_PREFIX))
            )
        }
        before = _as_text(base) | stored
        for name, value in after.items():
            session.merge(SettingRow(key=SETTING_PREFIX + name, value=value))
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        record(
            session,
            actor,
            "backup.settings",
            "scheduled backups",
            {k: before.get(k, "") for k in changed},
            changed,
        )

    await store.write(fn)


async def reset(store: Store, actor: Actor) -> None:
    """Back to the TOML's [backup]."""

    def fn(session: Session) -> None:
        rows = list(
            session.scalars(select(SettingRow).where(SettingRow.key.startswith(SETTING_PREFIX)))
        )
        before = {row.key.removeprefix(SETTING_PREFIX): row.value for row in rows}
        for row in rows:
            session.delete(row)
        record(session, actor, "backup.settings", "scheduled backups", before, {"from": "toml"})

    await store.write(fn)


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
        try:
            settings = await in_force(self.config.backup, self.store)
        except StoreUnavailable:
            settings = self.config.backup  # the backup itself will say the store is down
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
                settings.notify,
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
            settings.notify,
        )
        return target

    async def _notify(self, subject: str, body: str, notify: bool) -> None:
        if not (notify and self.mailer.configured):
            return
        try:
            to = self.mailer.recipients(await self.store.admin_emails())
            await self.mailer.send(Mail(to, subject, body))
        except (MailError, StoreUnavailable, OSError) as exc:
            log.warning("backup notification not sent: %s", exc)
