"""printgate backup / restore: an online backup, a wipe, a restore, and everything is back:
queues (with their printer-uuid), users, projects, administrators, job records, settings and
the TLS material. A corrupt or foreign archive is refused with the current data untouched."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from gateway.ipp import Op
from gateway.ipp import model as m
from gateway.store.db import create_engine
from gateway.store.models import AppUserRow, SettingRow
from tests.harness import create_store
from tests.ipp_call import ipp, print_job
from tests.peers import Printgate, free_port, make_pdf, wait_for


def cli(
    config: Path, *args: str, stdin: str = "", ok: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def _database_url(gw: Printgate) -> str:
    url = gw.config.get("database", {}).get("url")
    return str(url) if url else f"sqlite+aiosqlite:///{gw.data_dir / 'printgate.db'}"


async def _sql(url: str, statement: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(statement)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


def _wipe(gw: Printgate) -> None:
    url = _database_url(gw)
    if url.startswith("postgresql"):
        asyncio.run(_sql(url, text("DROP SCHEMA public CASCADE")))
        asyncio.run(_sql(url, text("CREATE SCHEMA public")))
    shutil.rmtree(gw.data_dir)
    gw.config_path.unlink()


def _uuid(gw: Printgate, queue: str) -> str:
    reply = ipp(
        gw.queue_uri(queue),
        Op.GET_PRINTER_ATTRIBUTES,
        m.keyword("requested-attributes", "printer-uuid"),
    )
    attribute = reply.group(4).get("printer-uuid") if reply.group(4) else None  # type: ignore[arg-type]
    assert attribute is not None
    return str(attribute.value)


def _state(gw: Printgate) -> dict[str, Any]:
    url = _database_url(gw)
    return {
        "jobs": json.loads(cli(gw.config_path, "jobs", "--json").stdout),
        "users": cli(gw.config_path, "user", "export", "plotters").stdout,
        "projects": cli(gw.config_path, "project", "export", "plotters").stdout,
        "admins": sorted(r[0] for r in asyncio.run(_sql(url, select(AppUserRow.username)))),
        "costs": sorted(
            tuple(r) for r in asyncio.run(_sql(url, text("SELECT id, cost FROM jobs")))
        ),
        "settings": sorted(
            tuple(r) for r in asyncio.run(_sql(url, select(SettingRow.key, SettingRow.value)))
        ),
    }


@pytest.fixture
def running(printgate_factory: Callable[..., Printgate], tmp_path: Path) -> Printgate:
    tls_port = free_port()
    gw = printgate_factory(
        {
            "server": {"tls": True, "tls_listen": [f"127.0.0.1:{tls_port}"]},
            "printers": [{"name": "v", "uri": (tmp_path / "out").as_uri()}],
            "queues": [
                {"name": "open", "printers": ["v"]},
                {"name": "plotters", "printers": ["v"], "auth": "password", "require": ["project"]},
            ],
        }
    )
    config = gw.config_path
    cli(
        config,
        "user",
        "add",
        "plotters",
        "alice",
        "--password-stdin",
        "--email",
        "a@x.org",
        stdin="wonder\n",
    )
    cli(config, "project", "add", "plotters", "Project146")
    cli(
        config,
        "admin",
        "add",
        "boss",
        "--role",
        "bookkeeper",
        "--email",
        "b@x.org",
        "--password-stdin",
        stdin="a long s3cret\n",
    )
    asyncio.run(_sql(_database_url(gw), insert(SettingRow).values(key="currency", value="EUR")))
    pdf = make_pdf(tmp_path / "doc.pdf").read_bytes()
    ids = [print_job(gw.queue_uri("open"), pdf, name=f"doc-{i}") for i in range(3)]
    wait_for(
        lambda: all(
            j["state"] == "completed"
            for j in json.loads(cli(config, "jobs", "--json").stdout)
            if j["id"] in ids
        ),
        30,
        what="jobs completed",
    )
    # An exact amount (stored in ten-thousandths) must come back to the last digit.
    asyncio.run(
        _sql(_database_url(gw), text(f"UPDATE jobs SET cost = 1234567 WHERE id = {ids[0]}"))
    )
    return gw


def test_backup_wipe_restore_brings_everything_back(running: Printgate, tmp_path: Path) -> None:
    gw = running
    before = _state(gw)
    uuids = {q: _uuid(gw, q) for q in ("open", "plotters")}
    certificate = (gw.data_dir / "tls" / "printgate.crt").read_bytes()
    assert len(before["jobs"]) == 3 and "alice" in before["users"] and "boss" in before["admins"]
    assert 1234567 in [cost for _, cost in before["costs"]]

    archive = tmp_path / "backups" / "printgate.tar.gz"
    archive.parent.mkdir()
    done = cli(gw.config_path, "backup", str(archive))  # online: printgate keeps running
    assert "backup written" in done.stdout
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert {
        "manifest.json",
        "settings/printgate.toml",
        "database/jobs.jsonl",
        "data/tls/printgate.key",
    } <= set(names)

    gw.stop()
    _wipe(gw)
    restored = cli(gw.config_path, "restore", str(archive))
    assert "3 job records" in restored.stdout
    assert gw.config_path.exists(), "the settings came back from the archive"
    assert (gw.data_dir / "tls" / "printgate.crt").read_bytes() == certificate

    gw.start()
    assert _state(gw) == before
    assert {q: _uuid(gw, q) for q in uuids} == uuids
    # The restored user's password works, and new jobs get new ids after the restored ones.
    new_id = print_job(
        gw.queue_uri("open"), make_pdf(tmp_path / "n.pdf").read_bytes(), name="after"
    )
    assert new_id > max(j["id"] for j in before["jobs"])


def _corrupt(archive: Path, target: Path) -> None:
    data = bytearray(archive.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    target.write_bytes(bytes(data))


def _tampered(archive: Path, target: Path) -> None:
    """A well-formed archive whose job rows were edited after the manifest was written."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for info in source:
            data = source.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == "database/jobs.jsonl":
                data = data.replace(b'"doc-0"', b'"forged"')
                info.size = len(data)
            out.addfile(info, io.BytesIO(data))


def _foreign(_: Path, target: Path) -> None:
    with tarfile.open(target, "w:gz") as out:
        payload = b"hello"
        info = tarfile.TarInfo("notes.txt")
        info.size = len(payload)
        out.addfile(info, io.BytesIO(payload))


SPOILERS = [
    (_corrupt, "corrupt"),
    (_tampered, "does not match its checksum"),
    (_foreign, "not a printgate backup"),
]


def _files(data_dir: Path) -> dict[Path, str]:
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in data_dir.rglob("*")
        if p.is_file() and "printers" not in p.parts
    }


def test_a_bad_archive_is_refused_and_nothing_changes(running: Printgate, tmp_path: Path) -> None:
    gw = running
    good = tmp_path / "good.tar.gz"
    cli(gw.config_path, "backup", str(good))
    before = _state(gw)
    config_before = gw.config_path.read_bytes()
    gw.stop()
    files_before = _files(gw.data_dir)
    for spoil, message in SPOILERS:
        bad = tmp_path / f"bad-{spoil.__name__}.tar.gz"
        spoil(good, bad)
        result = cli(gw.config_path, "restore", str(bad), ok=False)
        assert result.returncode != 0
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert message in result.stderr, result.stderr
        assert gw.config_path.read_bytes() == config_before
        assert _files(gw.data_dir) == files_before
    gw.start()
    assert _state(gw) == before


def test_restore_refuses_while_printgate_runs(running: Printgate, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar.gz"
    cli(running.config_path, "backup", str(archive))
    result = cli(running.config_path, "restore", str(archive), ok=False)
    assert result.returncode != 0 and "stop it before restoring" in result.stderr


def test_a_backup_in_the_root_directory_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "none.toml"
    config.write_text(f'[server]\nlisten = ["127.0.0.1:1"]\ndata_dir = "{tmp_path}"\n')
    result = cli(config, "backup", "/printgate-backup.tar.gz", ok=False)
    assert result.returncode != 0 and "root directory" in result.stderr
    assert not Path("/printgate-backup.tar.gz").exists()


def test_an_archive_made_before_an_upgrade_restores_after_it(
    database_factory: Callable[[], str], tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from gateway.maintenance.restore import _upgrade, head_revision

    old_url, new_url = database_factory(), database_factory()

    async def at_0003() -> None:
        engine = create_engine(old_url)
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, "0003")
            await connection.execute(
                text(
                    "INSERT INTO app_users (username, password_hash, role, email, full_name,"
                    " created_at) VALUES ('olduser', 'x', 'admin', 'o@x.org', '', :at)"
                ),
                {"at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC).replace(tzinfo=None)},
            )
        await engine.dispose()

    asyncio.run(at_0003())

    def config(name: str, url: str) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'[server]\nlisten = ["127.0.0.1:{free_port()}"]\ndata_dir = "{tmp_path / name}"\n'
            f'[database]\nurl = "{url}"\n'
        )
        return path

    archive = tmp_path / "old.tar.gz"
    cli(config("old", old_url), "backup", str(archive))
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["schema"] == "0003"

    cli(config("new", new_url), "restore", str(archive), "--keep-config")
    rows = asyncio.run(_sql(new_url, text("SELECT username, created_at FROM app_users")))
    assert [(r[0], str(r[1])[:19]) for r in rows] == [("olduser", "2025-01-02 03:04:05")]
    version = asyncio.run(_sql(new_url, text("SELECT version_num FROM alembic_version")))
    assert [r[0] for r in version] == [head_revision()]


@pytest.mark.postgresql
def test_a_sqlite_archive_restores_onto_postgresql(
    database_factory: Callable[[], str], tmp_path: Path
) -> None:
    """Moving from the embedded SQLite store to PostgreSQL is a backup and a restore."""

    def config(name: str, url: str) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'[server]\nlisten = ["127.0.0.1:{free_port()}"]\ndata_dir = "{tmp_path / name}"\n'
            f'[database]\nurl = "{url}"\n'
        )
        return path

    sqlite_url = f"sqlite+aiosqlite:///{tmp_path / 'lite.db'}"
    sqlite = config("lite", sqlite_url)
    create_store(sqlite_url)
    for name in ("first", "second"):
        cli(sqlite, "admin", "add", name, "--role", "admin", "--email", f"{name}@x.org",
            "--password-stdin", stdin="a long password\n")  # fmt: skip
    archive = tmp_path / "lite.tar.gz"
    cli(sqlite, "backup", str(archive))

    url = database_factory()
    postgres = config("pg", url)
    cli(postgres, "restore", str(archive), "--keep-config")
    # The id sequence continues after the restored rows: a new user does not collide.
    cli(postgres, "admin", "add", "third", "--role", "admin", "--email", "t@x.org",
        "--password-stdin", stdin="a long password\n")  # fmt: skip
    rows = asyncio.run(_sql(url, text("SELECT id, username FROM app_users ORDER BY id")))
    assert [tuple(r) for r in rows] == [(1, "first"), (2, "second"), (3, "third")]
