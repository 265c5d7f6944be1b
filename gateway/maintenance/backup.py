"""printgate backup: one .tar.gz holding a consistent copy of the store, the settings (the
config file), the TLS material, the branding files and the spooled documents of unfinished
jobs, with a manifest of SHA-256 checksums.

The store is copied as rows (one JSON line per row, per table) read in a single snapshot: on
SQLite from a copy made with SQLite's online backup API, on PostgreSQL in one REPEATABLE READ
transaction. Rows rather than a database file make an archive restorable on either database
(move from SQLite to PostgreSQL by backing up and restoring), and let restore check it first.
The service may keep running meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import MetaData, Table, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from .. import __version__
from ..config import Config
from ..store.db import create_engine

FORMAT = "printgate-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ALEMBIC_TABLE = "alembic_version"
# Files of data_dir that belong in a backup besides the store (the rest is cache or
# re-created): this printgate's id, the journal of jobs not yet in the store, TLS material,
# branding, and the documents of unfinished jobs.
DATA_ENTRIES = ("instance-id", "journal.jsonl", "tls", "branding", "spool")
DATA_GLOBS = ("logo.*",)


class BackupError(Exception):
    """One line for the operator: why there is no backup, or why an archive is refused."""


@dataclass(frozen=True)
class Manifest:
    created: str
    printgate_version: str
    schema: str
    database: str
    tables: dict[str, int]
    files: dict[str, str]  # archive member -> sha256
    config_path: str  # where the settings came from, for a restore onto a bare machine
    tls_paths: dict[str, str]  # archive member -> configured path outside data_dir

    def to_json(self) -> bytes:
        return json.dumps(
            {"format": FORMAT, "format_version": FORMAT_VERSION, **self.__dict__}, indent=1
        ).encode()


# --- rows as JSON ---------------------------------------------------------------------------


def encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # the store keeps naive UTC; so does the archive
            value = value.astimezone(UTC).replace(tzinfo=None)
        return {"$datetime": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    return value


def decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$bytes" in value:
            return base64.b64decode(value["$bytes"])
    return value


def tables(connection: Connection) -> list[Table]:
    """The database's own tables as they are (reflected, not this printgate's models: an
    archive holds the stored values of whatever schema revision made it), parents first."""
    metadata = MetaData()
    metadata.reflect(connection)
    return [t for t in metadata.sorted_tables if t.name != ALEMBIC_TABLE]


def _dump(connection: Connection) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for table in tables(connection):
        query = select(table).order_by(*table.primary_key)
        lines = (
            json.dumps({k: encode_value(v) for k, v in row.items()}, separators=(",", ":"))
            for row in connection.execute(query).mappings()
        )
        out[table.name] = "".join(f"{line}\n" for line in lines).encode()
    return out


def schema_revision(connection: Connection) -> str:
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads))


async def dump_store(url: str) -> tuple[str, str, dict[str, bytes]]:
    """(dialect, schema revision, table name -> JSON lines), read in one snapshot."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="printgate-backup-") as scratch:
            copy = Path(scratch) / "copy.db"
            await asyncio.to_thread(_sqlite_copy, Path(parsed.database or ""), copy)
            engine = create_engine(f"sqlite+aiosqlite:///{copy}")
            try:
                return ("sqlite", *await _read(engine))
            finally:
                await engine.dispose()
    engine = create_engine(url)
    try:
        return (parsed.get_backend_name(), *await _read(engine, "REPEATABLE READ"))
    finally:
        await engine.dispose()


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    with contextlib.closing(sqlite3.connect(source, timeout=30)) as live:
        with contextlib.closing(sqlite3.connect(target)) as copy:
            live.backup(copy)  # the online backup API: a consistent copy while others write
    _give_back(source)


def _give_back(database: Path) -> None:
    """Run as root beside a stopped service, SQLite may have made the -wal / -shm files: they
    must stay the service user's, or it cannot open its database again."""
    if os.geteuid() != 0:
        return
    owner = database.stat()
    for suffix in ("-wal", "-shm"):
        side = database.with_name(database.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            if side.stat().st_uid != owner.st_uid:
                os.chown(side, owner.st_uid, owner.st_gid)


async def _read(engine: AsyncEngine, isolation: str | None = None) -> tuple[str, dict[str, bytes]]:
    try:
        async with engine.connect() as connection:
            if isolation:
                await connection.execution_options(isolation_level=isolation)
            async with connection.begin():
                schema = await connection.run_sync(schema_revision)
                rows = await connection.run_sync(_dump)
    except (SQLAlchemyError, OSError) as exc:
        raise BackupError(f"cannot read the store at {engine.url!r}: {exc}") from exc
    if not schema:
        raise BackupError(f"the store at {engine.url!r} is empty (printgate never ran on it)")
    return schema, rows


# --- the archive ----------------------------------------------------------------------------


def check_destination(path: Path) -> Path:
    """Refuse a backup straight into the root directory, as SmartTracker refuses C:\\ (it
    fills the system volume and is not where anyone looks for backups)."""
    target = path.expanduser().absolute()
    if target.parent == Path(target.anchor):
        raise BackupError(f"{target}: a backup may not go in the root directory; choose a folder")
    if target.is_dir():
        raise BackupError(f"{target} is a directory: give the archive's file name")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} does not exist")
    return target


def _data_files(config: Config) -> Iterator[tuple[str, Path]]:
    data_dir = config.server.data_dir
    entries = [data_dir / name for name in DATA_ENTRIES]
    for pattern in DATA_GLOBS:
        entries += sorted(data_dir.glob(pattern))
    for entry in entries:
        if entry.is_file():
            yield f"data/{entry.relative_to(data_dir)}", entry
        elif entry.is_dir():
            for path in sorted(entry.rglob("*")):
                if path.is_file() and not path.name.endswith(".part"):
                    yield f"data/{path.relative_to(data_dir)}", path


def _tls_files(config: Config) -> dict[str, Path]:
    server = config.server
    if not (server.tls_cert and server.tls_key):
        return {}
    return {"tls/tls_cert.pem": Path(server.tls_cert), "tls/tls_key.pem": Path(server.tls_key)}


def create(config: Config, destination: Path) -> Manifest:
    """Write the archive (to a temporary name, renamed when complete); its manifest."""
    return asyncio.run(write_backup(config, destination))


async def write_backup(config: Config, destination: Path) -> Manifest:
    """create() from inside a running event loop (scheduled backups): the store is read
    asynchronously, the archive written in a thread."""
    target = check_destination(destination)
    dialect, schema, rows = await dump_store(config.database_url)
    return await asyncio.to_thread(_write_archive, config, target, dialect, schema, rows)


def _write_archive(
    config: Config, target: Path, dialect: str, schema: str, rows: dict[str, bytes]
) -> Manifest:
    members: dict[str, bytes] = {f"database/{name}.jsonl": data for name, data in rows.items()}
    config_path = "" if config.source == "embedded default" else config.source
    if config_path:
        members["settings/printgate.toml"] = Path(config_path).read_bytes()
    tls = _tls_files(config)
    for member, path in tls.items():
        members[member] = path.read_bytes()
    partial = target.with_name(f".{target.name}.part")
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    try:
        with tarfile.open(partial, "w:gz") as archive:
            for name, data in members.items():
                _add(archive, name, data)
            # Documents can be big: streamed from disk, hashed as they go.
            for member, path in _data_files(config):
                with contextlib.suppress(FileNotFoundError):  # a job ended while we looked
                    digests[member] = _add_file(archive, member, path)
            manifest = _manifest_for(config_path, dialect, schema, rows, digests, tls)
            _add(archive, MANIFEST, manifest.to_json())
        partial.chmod(0o600)  # it holds password hashes and the TLS key
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def _manifest_for(
    config_path: str,
    dialect: str,
    schema: str,
    rows: dict[str, bytes],
    digests: dict[str, str],
    tls: dict[str, Path],
) -> Manifest:
    return Manifest(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        printgate_version=__version__,
        schema=schema,
        database=dialect,
        tables={name: data.count(b"\n") for name, data in rows.items()},
        files=digests,
        config_path=config_path,
        tls_paths={member: str(path) for member, path in tls.items()},
    )


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


class _Hashing(io.RawIOBase):
    def __init__(self, source: io.BufferedReader):
        self.source = source
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


def _add_file(archive: tarfile.TarFile, name: str, path: Path) -> str:
    with path.open("rb") as source:
        info = archive.gettarinfo(fileobj=source, arcname=name)
        info.mode = 0o600
        hashing = _Hashing(source)
        archive.addfile(info, hashing)
    return hashing.digest.hexdigest()


# --- reading and validating -----------------------------------------------------------------


@dataclass(frozen=True)
class Archive:
    """A checked archive, unpacked into `root`."""

    manifest: Manifest
    root: Path

    def rows(self, table: str) -> list[dict[str, Any]]:
        path = self.root / "database" / f"{table}.jsonl"
        if not path.exists():
            return []
        return [
            {k: decode_value(v) for k, v in json.loads(line).items()}
            for line in path.read_text().splitlines()
        ]

    def member(self, name: str) -> Path:
        return self.root / name


def read(path: Path, staging: Path, known_schemas: frozenset[str] | None = None) -> Archive:
    """Unpack the archive into `staging` (an empty directory) and check it whole: a printgate
    backup, every file present with its checksum, nothing else, and (when given) a schema
    revision this printgate knows. BackupError otherwise; nothing outside `staging` is written."""
    digests: dict[str, str] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for info in archive:
                if not info.isfile() or info.name.startswith("/") or ".." in info.name.split("/"):
                    raise BackupError(
                        f"{path}: unexpected entry {info.name!r}: not a printgate backup"
                    )
                extracted = archive.extractfile(info)
                assert extracted is not None
                digests[info.name] = _unpack(extracted, staging / info.name)
    except FileNotFoundError as exc:
        raise BackupError(f"{path}: no such file") from exc
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise BackupError(f"{path} is corrupt or not a printgate backup: {exc}") from exc
    manifest_path = staging / MANIFEST
    manifest = _manifest(path, manifest_path.read_bytes() if manifest_path.exists() else None)
    digests.pop(MANIFEST, None)
    for name, digest in manifest.files.items():
        if name not in digests:
            raise BackupError(f"{path} is corrupt: {name} is missing")
        if digests[name] != digest:
            raise BackupError(f"{path} is corrupt: {name} does not match its checksum")
    extra = set(digests) - set(manifest.files)
    if extra:
        raise BackupError(f"{path}: files not in its manifest: {', '.join(sorted(extra))}")
    if known_schemas is not None and manifest.schema not in known_schemas:
        raise BackupError(
            f"{path} has schema {manifest.schema}, unknown to this printgate"
            f" {__version__}: restore it with the printgate version that made it or a newer one"
        )
    return Archive(manifest, staging)


def _unpack(source: IO[bytes], target: Path) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with target.open("wb") as out:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _manifest(path: Path, raw: bytes | None) -> Manifest:
    try:
        data = json.loads(raw or b"")
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{path} is not a printgate backup (no printgate manifest)")
    if data.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{path}: backup format {data.get('format_version')} is not supported")
    try:
        return Manifest(**{k: v for k, v in data.items() if k not in ("format", "format_version")})
    except TypeError as exc:
        raise BackupError(f"{path}: its manifest is damaged: {exc}") from exc
