"""printgate restore: put a backup archive (backup.py) back.

The archive is unpacked and checked whole before anything is touched; a corrupt or foreign
archive is refused and the current data stays as it was. Then what is about to be replaced is
kept aside under data_dir/replaced/<time>/ (a backup archive of the store, the data files and
the config as they were), the store's rows are replaced in one transaction, and the files are
put back. printgate must be stopped meanwhile: restore refuses while it answers on its
listeners.

From the web console a restore is staged: the uploaded archive is checked whole at once (a
foreign or damaged one is refused and nothing changes), kept in data_dir/restore-pending/, and
restored by the code above when printgate next starts, before it opens its store
(`apply_pending`), so a running gateway never has its store replaced under its feet. Staging is
refused while jobs are unfinished: their records would be replaced by the archive's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, delete, func, insert, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import Config, config_path, load, parse, split_address
from ..jobs.state import ACTIVE_STATES
from ..store.audit import Actor, append
from ..store.db import MIGRATION_LOCK, MIGRATIONS, create_engine
from ..store.models import JobRow
from ..store.store import Store
from ..tasks import TaskKeeper
from .backup import (
    DATA_ENTRIES,
    DATA_GLOBS,
    MANIFEST,
    Archive,
    BackupError,
    Manifest,
    create,
    read,
    tables,
)

log = logging.getLogger(__name__)
INSERT_CHUNK = 500
PENDING_DIR = "restore-pending"
PENDING_ARCHIVE = "archive.tar.gz"
PENDING_NOTE = "request.json"


@dataclass(frozen=True)
class Restored:
    config: Config
    aside: Path | None
    tables: dict[str, int]


def _scripts() -> ScriptDirectory:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    return ",".join(sorted(_scripts().get_heads()))


def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def restore(archive_path: Path, config_arg: str | None, keep_config: bool = False) -> Restored:
    with tempfile.TemporaryDirectory(prefix="printgate-restore-") as scratch:
        archive = read(archive_path, Path(scratch), known_schemas=known_revisions())
        target_config = config_path(config_arg)
        settings = archive.member("settings/printgate.toml")
        use_archive_settings = settings.exists() and not keep_config
        if use_archive_settings:
            config = _parse_settings(settings, target_config)
        elif target_config is None:
            config = load(None)
        else:
            config = load(str(target_config))
        refuse_if_running(config)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = config.server.data_dir / "replaced" / stamp
        aside.mkdir(parents=True)
        _store_aside(config, aside)
        # Nothing else is touched until the store is restored: that is what can still fail.
        counts = _restore_store(config.database_url, archive, aside)
        _files_aside(config, config_arg, aside)
        _put_files(config, archive)
        _own_like_data_dir(config.server.data_dir)
        if use_archive_settings and target_config is not None:
            target_config.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(settings, target_config)
        if not any(aside.iterdir()):
            aside.rmdir()  # a bare machine: nothing was replaced
            return Restored(config, None, counts)
        return Restored(config, aside, counts)


def _parse_settings(settings: Path, target: Path | None) -> Config:
    import tomllib

    try:
        return parse(tomllib.loads(settings.read_text()), source=str(target or settings))
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise BackupError(f"the archive's settings are not a valid config: {exc}") from exc


def refuse_if_running(config: Config) -> None:
    for address in config.server.listen:
        host, port = split_address(address)
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        url = f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1.0):
                pass
        except urllib.error.HTTPError:
            pass  # answered, if with an error: running
        except (OSError, ValueError):
            continue
        raise BackupError(f"printgate is running on {address}: stop it before restoring")


def _store_aside(config: Config, aside: Path) -> None:
    """The store as it is, as a backup archive in the aside directory."""
    with contextlib.suppress(BackupError):  # no store yet: nothing to keep
        create(config, aside / "store-before-restore.tar.gz")


def _files_aside(config: Config, config_arg: str | None, aside: Path) -> None:
    data_dir = config.server.data_dir
    entries = [data_dir / n for n in DATA_ENTRIES]
    for pattern in DATA_GLOBS:
        entries += list(data_dir.glob(pattern))
    for entry in entries:
        if entry.exists():
            (aside / "data").mkdir(exist_ok=True)
            entry.rename(aside / "data" / entry.name)
    current = config_path(config_arg)
    if current is not None and current.exists():
        shutil.copy2(current, aside / current.name)


def _restore_store(url: str, archive: Archive, aside: Path | None) -> dict[str, int]:
    """PostgreSQL rebuilds the schema in one transaction. SQLite does not roll back DDL, so
    its store is built in a new file beside the current one and swapped in only when whole;
    the old file goes aside."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return asyncio.run(load_rows(url, archive))
    live = Path(parsed.database)
    fresh = live.with_name(live.name + ".restoring")
    for leftover in _sqlite_files(fresh):
        leftover.unlink(missing_ok=True)
    try:
        counts = asyncio.run(
            load_rows(parsed.set(database=str(fresh)).render_as_string(False), archive)
        )
    except BaseException:
        for partial in _sqlite_files(fresh):
            partial.unlink(missing_ok=True)
        raise
    for old in _sqlite_files(live):
        if old.exists():
            if aside is None:
                old.unlink()
            else:
                old.rename(aside / old.name)
    fresh.rename(live)
    for side in _sqlite_files(fresh)[1:]:
        side.unlink(missing_ok=True)
    return counts


def _sqlite_files(database: Path) -> list[Path]:
    return [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]


async def load_rows(url: str, archive: Archive) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(_rebuild, archive)
    finally:
        await engine.dispose()


def _rebuild(connection: Connection, archive: Archive) -> dict[str, int]:
    """In one transaction: drop the schema (its rows are kept aside already), build it at the
    archive's revision, put the rows back as they were stored, then migrate to this printgate's
    schema, so an archive made before an upgrade restores after it."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
    current = MetaData()
    current.reflect(connection)
    current.drop_all(connection)
    _upgrade(connection, archive.manifest.schema)
    counts = _replace_rows(connection, archive)
    _upgrade(connection, "heads")
    return counts


def _upgrade(connection: Connection, revision: str) -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _replace_rows(connection: Connection, archive: Archive) -> dict[str, int]:
    ordered = tables(connection)
    for table in reversed(ordered):
        connection.execute(delete(table))  # rows a migration may have seeded
    expected = {t.name for t in ordered}
    stray = {n.removesuffix(".jsonl").removeprefix("database/") for n in archive.manifest.files}
    stray = {n for n in stray if n in archive.manifest.tables} - expected
    if stray:
        raise BackupError(f"tables unknown at schema {archive.manifest.schema}: {sorted(stray)}")
    counts: dict[str, int] = {}
    for table in ordered:
        rows = archive.rows(table.name)
        unknown = {key for row in rows for key in row} - set(table.columns.keys())
        if unknown:
            raise BackupError(f"table {table.name}: unknown columns {', '.join(sorted(unknown))}")
        for start in range(0, len(rows), INSERT_CHUNK):
            connection.execute(insert(table), rows[start : start + INSERT_CHUNK])
        counts[table.name] = len(rows)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, table.name, [c.name for c in table.primary_key])
    return counts


def _reset_sequences(connection: Connection, table: str, keys: list[str]) -> None:
    """Rows came back with their ids: the id sequence must continue after the highest, or the
    next job would collide with a restored one."""
    for key in keys:
        sequence = connection.scalar(select(func.pg_get_serial_sequence(table, key)))
        if sequence:
            connection.execute(
                text(
                    f'SELECT setval(:seq, COALESCE((SELECT MAX("{key}") FROM "{table}"), 0) + 1,'
                    " false)"
                ),
                {"seq": sequence},
            )


def _put_files(config: Config, archive: Archive) -> None:
    data_dir = config.server.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in archive.manifest.files:
        source = archive.member(name)
        if name.startswith("data/"):
            target = data_dir / name.removeprefix("data/")
        elif name in archive.manifest.tls_paths:
            target = _tls_target(config, name) or Path(archive.manifest.tls_paths[name])
        else:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        if "tls" in name:
            target.chmod(0o600)


def _own_like_data_dir(data_dir: Path) -> None:
    """Run as root, restore writes root-owned files; the service runs as its own user and
    must be able to write them. (A data_dir made afresh by root is fixed by systemd's
    StateDirectory= at the next start.)"""
    if os.geteuid() != 0:
        return
    owner = data_dir.stat()
    if owner.st_uid == 0:
        return
    for path in [data_dir, *data_dir.rglob("*")]:
        os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)


def _tls_target(config: Config, member: str) -> Path | None:
    server = config.server
    if member == "tls/tls_cert.pem" and server.tls_cert:
        return Path(server.tls_cert)
    if member == "tls/tls_key.pem" and server.tls_key:
        return Path(server.tls_key)
    return None


# --- a restore staged by the console, applied at the next start -------------------------------


@dataclass(frozen=True)
class Pending:
    archive: Path
    manifest: Manifest
    requested_by: str
    requested_at: str
    filename: str  # as uploaded


def _pending_dir(config: Config) -> Path:
    return config.server.data_dir / PENDING_DIR


async def active_jobs(store: Store) -> int:
    """Jobs not yet ended: a restore would replace their records."""

    async def fn(session: AsyncSession) -> int:
        query = select(func.count()).select_from(JobRow)
        states = [int(state) for state in ACTIVE_STATES]
        return int(await session.scalar(query.where(JobRow.state.in_(states))) or 0)

    return await store.read(fn)


def stage(config: Config, upload: Path, filename: str, requested_by: str) -> Manifest:
    """Check an uploaded archive as `printgate restore` does before touching anything, then keep
    it for the next start (replacing any restore staged before). BackupError, in words that
    name the file as uploaded, when it is refused; nothing is kept then."""
    with tempfile.TemporaryDirectory(prefix="printgate-restore-check-") as scratch:
        try:
            manifest = read(upload, Path(scratch), known_schemas=known_revisions()).manifest
        except BackupError as exc:
            raise BackupError(str(exc).replace(str(upload), filename)) from exc
    folder = _pending_dir(config)
    partial = folder.with_name(f".{PENDING_DIR}.part")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700, parents=True)
    try:
        shutil.copyfile(upload, partial / PENDING_ARCHIVE)
        (partial / PENDING_ARCHIVE).chmod(0o600)  # password hashes, the TLS key
        note = {
            "requested_by": requested_by,
            "requested_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "filename": filename,
        }
        (partial / PENDING_NOTE).write_text(json.dumps(note))
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return manifest


def pending(config: Config) -> Pending | None:
    folder = _pending_dir(config)
    try:
        note = json.loads((folder / PENDING_NOTE).read_text())
    except (OSError, ValueError):
        return None
    archive = folder / PENDING_ARCHIVE
    try:
        with tarfile.open(archive, "r:gz") as opened:
            member = opened.extractfile(MANIFEST)
            raw = member.read() if member is not None else b""
        manifest = Manifest(
            **{k: v for k, v in json.loads(raw).items() if k not in ("format", "format_version")}
        )
    except (OSError, KeyError, ValueError, TypeError, tarfile.TarError):
        return None
    return Pending(
        archive,
        manifest,
        str(note.get("requested_by", "")),
        str(note.get("requested_at", "")),
        str(note.get("filename", "")),
    )


def cancel_pending(config: Config) -> bool:
    folder = _pending_dir(config)
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    return True


def apply_pending(config: Config) -> Restored | None:
    """At start-up, before the store is opened: restore the staged archive, if any (keeping
    the current config file: the console does not change infrastructure), and log it in the
    restored store's audit log. Called outside any event loop. A restore that fails leaves the
    data as it was (as `printgate restore` does); its archive is moved to restore-failed/."""
    found = pending(config)
    if found is None:
        if _pending_dir(config).exists():
            log.error("a staged restore in %s is unreadable: ignored", _pending_dir(config))
        return None
    config_arg = None if config.source == "embedded default" else config.source
    folder = _pending_dir(config)
    try:
        done = restore(found.archive, config_arg, keep_config=True)
    except BackupError as exc:
        failed = config.server.data_dir / "restore-failed"
        shutil.rmtree(failed, ignore_errors=True)
        folder.rename(failed)
        log.error("the restore staged by %s failed, nothing changed: %s", found.requested_by, exc)
        return None
    shutil.rmtree(folder, ignore_errors=True)
    log.info(
        "restored %s (made %s by printgate %s), staged by %s; the replaced data is in %s",
        found.filename,
        found.manifest.created,
        found.manifest.printgate_version,
        found.requested_by,
        done.aside,
    )
    asyncio.run(_audit_restore(done.config.database_url, found, done))
    return done


async def _audit_restore(url: str, found: Pending, done: Restored) -> None:
    tasks = TaskKeeper()
    store = await Store.open(url, tasks)
    try:
        await append(
            store,
            Actor(found.requested_by, "console"),
            "database.restore",
            found.filename,
            {"kept_aside_in": str(done.aside or "")},
            {"archive_created": found.manifest.created, "rows": sum(done.tables.values())},
        )
    finally:
        await store.close()
        await tasks.cancel_all()
