"""What every `printgate` command module shares: the one-line error, the store opened for one
action (only where printgate has data: `serve` alone creates a store), the password read from
stdin, and the check that a queue named on the command line is configured."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from ..accounting.lists import STATUSES, Entry, Kind, Lists
from ..config import Config, load
from ..store.db import missing_data
from ..store.store import Store
from ..tasks import TaskKeeper
from .errors import CommandError as CommandError

T = TypeVar("T")


def run(config: Config, action: Callable[[Store], Awaitable[T]]) -> T:
    """Open the store, run the action on it, close it: a command's whole use of the store."""
    missing = missing_data(config)
    if missing is not None:
        raise CommandError(missing)

    async def main() -> T:
        tasks = TaskKeeper()
        try:
            store = await Store.open(config.database_url, tasks)
        except (SQLAlchemyError, OSError) as exc:
            raise CommandError(f"cannot open the store at {config.database_url}: {exc}") from exc
        try:
            return await action(store)
        finally:
            await store.close()
            await tasks.cancel_all()

    return asyncio.run(main())


def read_password(args: argparse.Namespace) -> str | None:
    """The first line of stdin with --password-stdin (never an argument: ps would show it)."""
    if not getattr(args, "password_stdin", False):
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("--password-stdin: no password on standard input")
    return password


def known_queue(config: Config, queue: str) -> None:
    """Refuse a queue the config does not name: the store would keep a list for it that no
    queue ever reads."""
    if all(q.name != queue for q in config.queues):
        names = ", ".join(q.name for q in config.queues) or "none"
        raise CommandError(f"no queue {queue!r} in {config.source} (queues: {names})")


def queue_entries(args: argparse.Namespace, kind: Kind) -> list[Entry]:
    """A queue's users, projects or departments as `list` and `export` show them: enabled and
    disabled, and removed ones too with --removed."""
    config = load(args.config)
    known_queue(config, args.queue)
    statuses = STATUSES if args.removed else ("enabled", "disabled")

    async def action(store: Store) -> list[Entry]:
        return await Lists(store).entries(kind, args.queue, statuses)

    return run(config, action)
