"""`printgate backup PATH` and `printgate restore PATH`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..config import load
from ..maintenance.backup import BackupError, create
from ..maintenance.restore import restore
from .common import CommandError


def backup(args: argparse.Namespace) -> int:
    try:
        manifest = create(load(args.config), Path(args.path))
    except BackupError as exc:
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise CommandError(f"cannot write {args.path}: {exc.strerror or exc}") from exc
    rows = sum(manifest.tables.values())
    print(f"backup written to {args.path}: {rows} rows, {len(manifest.files)} files")
    return 0


def restore_command(args: argparse.Namespace) -> int:
    try:
        done = restore(Path(args.path), args.config, keep_config=args.keep_config)
    except BackupError as exc:
        raise CommandError(f"restore refused, nothing changed: {exc}") from exc
    jobs = done.tables.get("jobs", 0)
    print(f"restored {args.path}: {jobs} job records, data in {done.config.server.data_dir}")
    if done.aside is not None:
        print(f"the replaced data is kept in {done.aside}")
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "backup", parents=[common], help="write a backup archive (.tar.gz) while running"
    )
    parser.add_argument("path", help="the archive to write, e.g. /var/backups/printgate.tar.gz")
    parser.set_defaults(func=backup)
    parser = commands.add_parser(
        "restore", parents=[common], help="restore a backup archive (printgate stopped)"
    )
    parser.add_argument("path", help="an archive written by printgate backup")
    parser.add_argument(
        "--keep-config",
        action="store_true",
        help="keep the current config file instead of the archive's settings",
    )
    parser.set_defaults(func=restore_command)
