"""The subcommands that work on the store directly (a running gateway sees their changes at
once: it reads the lists on every check): application users, queue users, projects,
departments, and the job list."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..accounting import job_report
from ..accounting.lists import Kind, ListError, Lists
from ..config import Config, load
from ..ipp import JobState
from ..jobs.manager import Job
from ..runtime.passwords import hash_password
from ..store.store import Store
from ..tasks import TaskKeeper

T = TypeVar("T")
ROLES = ("admin", "bookkeeper")


class CommandError(Exception):
    """One line for the operator; the command exits non-zero."""


def run(config: Config, action: Callable[[Store], Awaitable[T]]) -> T:
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
    if not getattr(args, "password_stdin", False):
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("--password-stdin: no password on standard input")
    return password


# --- printgate admin add ------------------------------------------------------------------


def admin_add(args: argparse.Namespace) -> int:
    if args.role not in ROLES:
        raise CommandError(f"--role must be one of {', '.join(ROLES)}")
    if "@" not in args.email:
        raise CommandError("--email must be an email address (it receives notifications)")
    password = read_password(args)
    if password is None:
        raise CommandError("an administrator needs a password: use --password-stdin")
    full_name = " ".join(x for x in (args.first_name, args.last_name) if x)

    async def action(store: Store) -> None:
        try:
            await store.add_app_user(
                args.name, hash_password(password), args.role, args.email, full_name
            )
        except IntegrityError as exc:
            raise CommandError(f"an application user named {args.name!r} exists already") from exc

    run(load(args.config), action)
    print(f"{args.role} {args.name} added")
    return 0


# --- printgate user|project|department add / enable / disable / remove ----------------------


def list_add(kind: Kind) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        config = load(args.config)
        _known_queue(config, args.queue)
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
                **details,
            )

        _lists_call(run, config, action)
        print(f"{kind} {args.name} added to {args.queue}")
        return 0

    return command


def list_status(kind: Kind, status: str) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        config = load(args.config)
        _known_queue(config, args.queue)

        async def action(store: Store) -> None:
            await Lists(store).change(kind, args.queue, args.name, status=status)

        _lists_call(run, config, action)
        print(f"{kind} {args.name} of {args.queue} is {status}")
        return 0

    return command


def _lists_call(runner: Any, config: Config, action: Callable[[Store], Awaitable[None]]) -> None:
    try:
        runner(config, action)
    except ListError as exc:
        raise CommandError(str(exc)) from exc


def _known_queue(config: Config, queue: str) -> None:
    if all(q.name != queue for q in config.queues):
        names = ", ".join(q.name for q in config.queues) or "none"
        raise CommandError(f"no queue {queue!r} in {config.source} (queues: {names})")


# --- printgate jobs -------------------------------------------------------------------------

STATE_NAMES = {s.name.lower().replace("_", "-"): s for s in JobState}
COLUMNS = ("id", "queue", "state", "user", "project", "department", "name", "printer", "created")


def jobs(args: argparse.Namespace) -> int:
    states = list(JobState)
    if args.state:
        if args.state not in STATE_NAMES:
            raise CommandError(f"--state must be one of {', '.join(STATE_NAMES)}")
        states = [STATE_NAMES[args.state]]

    async def action(store: Store) -> list[dict[str, Any]]:
        rows = await store.list_jobs(
            args.queue, [int(s) for s in states], args.user, args.limit, newest_first=True
        )
        found = [Job.from_row(r) for r in rows]
        return [
            {
                "id": j.id,
                "queue": j.queue,
                "state": j.state.name.lower().replace("_", "-"),
                "reasons": list(j.reasons),
                "message": j.message,
                "user": j.user,
                "project": j.project,
                "department": j.department,
                "billable": j.billable,
                "name": j.name,
                "printer": j.printer,
                "created": j.created_at.isoformat(timespec="seconds"),
                "completed": j.completed_at.isoformat(timespec="seconds")
                if j.completed_at
                else None,
                "bytes": j.document_bytes,
                "impressions": j.impressions,
                "analysis": job_report.measured(j),
                "charge": job_report.charged(j),
                "meter_delta": j.meter_delta,
                "meter_mismatch": j.meter_mismatch,
            }
            for j in found
            if args.project is None or j.project == args.project
        ]

    found = run(load(args.config), action)
    if args.json:
        print(json.dumps(found, indent=1))
        return 0
    widths = {c: max([len(c), *(len(str(j[c])) for j in found)]) for c in COLUMNS}
    print("  ".join(c.upper().ljust(widths[c]) for c in COLUMNS))
    for job in found:
        print("  ".join(str(job[c]).ljust(widths[c]) for c in COLUMNS))
    return 0


def _iso(when: Any) -> str | None:
    return when.isoformat(timespec="seconds") if when else None


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the store subcommands to the `printgate` parser."""
    from .lists_csv import register_csv

    admin = commands.add_parser("admin", parents=[common], help="application users")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    add = admin_commands.add_parser(
        "add", parents=[common], help="add an administrator or bookkeeper"
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--email", required=True)
    add.add_argument("--first-name", default="")
    add.add_argument("--last-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=admin_add)

    for kind in ("user", "project", "department"):
        parser = commands.add_parser(kind, parents=[common], help=f"a queue's {kind}s")
        sub = parser.add_subparsers(dest=f"{kind}_command", required=True)
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

    listing = commands.add_parser("jobs", parents=[common], help="list recorded jobs")
    listing.add_argument("--queue")
    listing.add_argument("--user")
    listing.add_argument("--project")
    listing.add_argument("--state", help="e.g. completed, pending-held, aborted")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON array")
    listing.set_defaults(func=jobs)
