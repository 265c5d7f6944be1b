"""`printgate user|project|department import QUEUE CSV` and `... export QUEUE [CSV]`: the CSV
files of accounting/lists_csv.py read into and written from a queue's list in the store.
cli/lists.py adds these two subcommands to each list's group through register_csv."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..accounting.lists import STATUSES, Kind, ListError, Lists, Put, PutResult
from ..accounting.lists_csv import (
    COLUMNS,
    PASSWORD_MARKER,
    InvalidCsv,
    Problem,
    Record,
    parse,
    write,
)
from ..config import load
from ..runtime.passwords import hash_password
from ..store.audit import Actor
from ..store.store import Store
from .common import CommandError, known_queue, queue_entries, run

HASHING_NOTICE = 10  # say so before hashing this many passwords: each takes a noticeable time

IMPORT_HELP = """\
Import a queue's {kind}s from a CSV file in the columns of HP SmartTracker's grid:
  {headers}
The first line names the columns, in any order; only {name} is required ("{name}*" and a few
other spellings are understood). UTF-8 with or without a BOM (Excel's "CSV UTF-8"), fields
separated by commas or semicolons (told from the first line), quoted where they hold a separator.

Every row is checked before anything is stored: names of at most 100 characters, none of
Guest, Others, Service, Unknown, none twice, a status of Enabled, Disabled or Removed (any
case){email}.
Each bad row is reported on stderr as "line N: why", and then nothing is imported. A valid
file is imported in one transaction.

A {kind} already in the queue's list is updated in place; {kind}s not in the file are left as
they are. A column the file lacks keeps the stored value, and so does an empty STATUS (a new
{kind} is enabled) or an empty PASSWORD (a new {kind} has none). Other empty cells set the
field empty. A PASSWORD is stored as an argon2 hash, never in clear; {marker} (what export
writes for a stored password) keeps the stored one. Surrounding spaces are dropped from every
cell. CSV "-" reads standard input."""

EXPORT_HELP = """\
Export a queue's {kind}s as CSV, header first, in the columns import reads:
  {headers}
to standard output (UTF-8), or to the file CSV (UTF-8 with a BOM, so that Excel reads it right).
Passwords are never exported: PASSWORD is {marker} where one is stored, which import reads as
"keep the stored password", so an export imports back unchanged. Removed {kind}s are left out
unless --removed."""


def register_csv(sub: Any, common: argparse.ArgumentParser, kind: Kind) -> None:
    """Add `import` and `export` to the subcommands of `printgate KIND`."""
    fill = {
        "kind": kind,
        "headers": ", ".join(column.header for column in COLUMNS[kind]),
        "name": COLUMNS[kind][0].header,
        "marker": PASSWORD_MARKER,
        "email": ", an EMAIL ADDRESS that looks like one" if kind == "user" else "",
    }
    importer = sub.add_parser(
        "import",
        parents=[common],
        help=f"add or update a queue's {kind}s from a CSV file",
        description=IMPORT_HELP.format(**fill),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    importer.add_argument("queue")
    importer.add_argument("csv", metavar="CSV", help="the file to import, or - for stdin")
    importer.add_argument(
        "--dry-run", action="store_true", help="check the file and count, change nothing"
    )
    importer.set_defaults(func=import_command(kind))
    exporter = sub.add_parser(
        "export",
        parents=[common],
        help=f"write a queue's {kind}s as CSV",
        description=EXPORT_HELP.format(**fill),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    exporter.add_argument("queue")
    exporter.add_argument(
        "csv", metavar="CSV", nargs="?", default="-", help="the file to write (default: stdout)"
    )
    exporter.add_argument("--removed", action="store_true", help=f"include removed {kind}s")
    exporter.set_defaults(func=export_command(kind))


# --- import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    problems: Sequence[Problem] = ()
    result: PutResult | None = None
    new: int = 0  # --dry-run: how many would be added
    existing: int = 0  # --dry-run: how many would be updated or kept


def import_command(kind: Kind) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        config = load(args.config)
        known_queue(config, args.queue)
        data = _read(args.csv)

        async def action(store: Store) -> _Outcome:
            lists = Lists(store)
            stored = {e.name: e for e in await lists.entries(kind, args.queue, STATUSES)}
            try:
                records = parse(data, kind, stored)
            except InvalidCsv as exc:
                return _Outcome(problems=exc.problems)
            if args.dry_run:
                new = sum(r.name not in stored for r in records)
                return _Outcome(new=new, existing=len(records) - new)
            puts = await asyncio.to_thread(_puts, records)
            try:
                done = await lists.put_many(kind, args.queue, puts, actor=Actor.cli())
                return _Outcome(result=done)
            except ListError as exc:  # the queue changed under us; nothing was stored
                raise CommandError(f"{args.csv}: {exc}; nothing imported") from exc

        outcome = run(config, action)
        for line, message in outcome.problems:
            print(f"line {line}: {message}", file=sys.stderr)
        if outcome.problems:
            bad = len({line for line, _ in outcome.problems})
            rows = "row is" if bad == 1 else "rows are"
            raise CommandError(f"{args.csv}: {bad} {rows} bad; nothing imported")
        if outcome.result is None:
            print(
                f"{args.csv} is valid: it would add {outcome.new} and update or keep "
                f"{outcome.existing} {kind}s of {args.queue}"
            )
        else:
            done = outcome.result
            print(
                f"{kind}s of {args.queue}: {done.added} added, {done.updated} updated, "
                f"{done.unchanged} unchanged"
            )
        return 0

    return command


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc


def _puts(records: Sequence[Record]) -> list[Put]:
    """The records with their passwords hashed (argon2 is slow on purpose: use the cores)."""
    clear = [r.password for r in records if r.password is not None]
    if len(clear) >= HASHING_NOTICE:
        print(f"hashing {len(clear)} passwords...", file=sys.stderr, flush=True)
    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        hashes = iter(list(pool.map(hash_password, clear)))
    return [
        Put(
            name=r.name,
            status=r.status,
            password_hash=next(hashes) if r.password is not None else None,
            keep_password=r.keep_password,
            details=r.details,
        )
        for r in records
    ]


# --- export -------------------------------------------------------------------------------


def export_command(kind: Kind) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        entries = queue_entries(args, kind)
        text = io.StringIO()
        write(text, kind, entries)
        if args.csv == "-":
            sys.stdout.buffer.write(text.getvalue().encode("utf-8"))
            sys.stdout.buffer.flush()
            return 0
        try:
            Path(args.csv).write_text(text.getvalue(), encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise CommandError(f"cannot write {args.csv}: {exc.strerror}") from exc
        print(f"{len(entries)} {kind}s of {args.queue} written to {args.csv}")
        return 0

    return command
