"""printgate restore: put a backup archive (backup.py) back.

The archive is unpacked and checked whole before anything is touched; a corrupt or foreign
archive is refused and the current data stays as it was. Then what is about to be replaced is
kept aside under data_dir/replaced/<time>/ (a backup archive of the store, the data files and
the config as they were), the store's rows are replaced in one transaction, and the files are
put back. printgate must be stopped meanwhile: restore refuses while it answers on its
listeners.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection

from .accounting.db import MIGRATIONS, create_engine, migrate
from .backup import DATA_ENTRIES, DATA_GLOBS, Archive, BackupError, create, read, tables
from .config import Config, config_path, load, parse, split_address

INSERT_CHUNK = 500


@dataclass(frozen=True)
class Restored:
    config: Config
    aside: Path | None
    tables: dict[str, int]


def head_revision() -> str:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def restore(archive_path: Path, config_arg: str | None, keep_config: bool = False) -> Restored:
    with tempfile.TemporaryDirectory(prefix="printgate-restore-") as scratch:
        archive = read(archive_path, Path(scratch), expected_schema=head_revision())
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
        aside = _keep_aside(config, config_arg, stamp)
        counts = asyncio.run(load_rows(config.database_url, archive))
        _put_files(config, archive)
        _own_like_data_dir(config.server.data_dir)
        if use_archive_settings and target_config is not None:
            target_config.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(settings, target_config)
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


def _keep_aside(config: Config, config_arg: str | None, stamp: str) -> Path | None:
    """What the restore replaces, under data_dir/replaced/<stamp>/; None when there was
    nothing (a bare machine)."""
    data_dir = config.server.data_dir
    aside = data_dir / "replaced" / stamp
    kept = False
    try:
        aside.mkdir(parents=True)
        create(config, aside / "store-before-restore.tar.gz")
        kept = True
    except BackupError:
        pass  # no store yet: nothing to keep
    entries = [data_dir / n for n in DATA_ENTRIES]
    for pattern in DATA_GLOBS:
        entries += list(data_dir.glob(pattern))
    for entry in entries:
        if entry.exists():
            (aside / "data").mkdir(exist_ok=True)
            entry.rename(aside / "data" / entry.name)
            kept = True
    current = config_path(config_arg)
    if current is not None and current.exists():
        shutil.copy2(current, aside / current.name)
        kept = True
    if not kept:
        shutil.rmtree(aside)
        return None
    return aside


async def load_rows(url: str, archive: Archive) -> dict[str, int]:
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with engine.begin() as connection:
            return await connection.run_sync(_replace_rows, archive)
    finally:
        await engine.dispose()


def _replace_rows(connection: Connection, archive: Archive) -> dict[str, int]:
    ordered = tables()
    for table in reversed(ordered):
        connection.execute(delete(table))
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
