"""`printgate user|project|department list|add|enable|disable|remove|import|export`: a queue's
lists of users, projects and departments, written to the store directly (a running gateway sees
the changes at once: it reads the lists on every check), each change in the audit log as made
from the CLI. The CSV import and export are lists_csv's."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import Any

from ..accounting.lists import USER_DETAILS, Entry, Kind, ListError, Lists
from ..config import Config, load
from ..runtime.passwords import hash_password
from ..store.audit import Actor
from ..store.store import Store
from .common import CommandError, known_queue, queue_entries, read_password, run
from .lists_csv import register_csv

KINDS: tuple[Kind, ...] = ("user", "project", "department")


def list_add(kind: Kind) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        config = load(args.config)
        known_queue(config, args.queue)
        password = read_password(args)
        details = {
            key: value
            for key in ("first_name", "last_name", "email", "address")
            if (value := getattr(args, key, None))
        }

        async def action(store: Store) -> None:
            await Lists(store).add(
                kind,
                args.queue,
                args.name,
                hash_password(password) if password is not None else None,
                "disabled" if getattr(args, "disabled", False) else "enabled",
                actor=Actor.cli(),
                **details,
            )

        _run_list_change(config, action)
        print(f"{kind} {args.name} added to {args.queue}")
        return 0

    return command


def list_status(kind: Kind, status: str) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        config = load(args.config)
        known_queue(config, args.queue)

        async def action(store: Store) -> None:
            await Lists(store).change(kind, args.queue, args.name, actor=Actor.cli(), status=status)

        _run_list_change(config, action)
        print(f"{kind} {args.name} of {args.queue} is {status}")
        return 0

    return command


def list_entries(kind: Kind) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        shown = [_shown(entry) for entry in queue_entries(args, kind)]
        if args.json:
            print(json.dumps(shown, indent=1))
            return 0
        if not shown:
            which = "" if args.removed else "enabled or disabled "
            print(f"{args.queue} has no {which}{kind}s")
            return 0
        table = [{c: _cell(value) for c, value in row.items()} for row in shown]
        columns = list(table[0])
        widths = {c: max([len(c), *(len(row[c]) for row in table)]) for c in columns}
        print("  ".join(c.upper().replace("_", " ").ljust(widths[c]) for c in columns).rstrip())
        for row in table:
            print("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip())
        return 0

    return command


def _shown(entry: Entry) -> dict[str, Any]:
    """An entry as `list` shows it: whether it has a password, never the password's hash."""
    shown: dict[str, Any] = {
        "name": entry.name,
        "status": entry.status,
        "password": entry.password_hash is not None,
    }
    if entry.kind == "user":
        shown.update({key: entry.detail(key) for key in USER_DETAILS})
    return shown


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _run_list_change(config: Config, action: Callable[[Store], Awaitable[None]]) -> None:
    """run(), with the lists' refusals (a name taken, a name unknown) as the command's error."""
    try:
        run(config, action)
    except ListError as exc:
        raise CommandError(str(exc)) from exc


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `printgate user`, `project` and `department` to the `printgate` parser."""
    for kind in KINDS:
        parser = commands.add_parser(kind, parents=[common], help=f"a queue's {kind}s")
        sub = parser.add_subparsers(dest=f"{kind}_command", required=True)
        lister = sub.add_parser("list", parents=[common], help=f"a queue's {kind}s")
        lister.add_argument("queue")
        lister.add_argument("--removed", action="store_true", help=f"include removed {kind}s")
        lister.add_argument("--json", action="store_true", help="one JSON array")
        lister.set_defaults(func=list_entries(kind))
        adder = sub.add_parser("add", parents=[common], help=f"add a {kind} to a queue")
        adder.add_argument("queue")
        adder.add_argument("name")
        adder.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )
        adder.add_argument("--disabled", action="store_true", help="add it disabled")
        if kind == "user":
            for detail in ("first-name", "last-name", "email", "address"):
                adder.add_argument(f"--{detail}", default="")
        adder.set_defaults(func=list_add(kind))
        for verb, status in (("enable", "enabled"), ("disable", "disabled"), ("remove", "removed")):
            changer = sub.add_parser(verb, parents=[common], help=f"{verb} a {kind}")
            changer.add_argument("queue")
            changer.add_argument("name")
            changer.set_defaults(func=list_status(kind, status))
        register_csv(sub, common, kind)
