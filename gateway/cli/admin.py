"""`printgate admin add`: application users (administrators and bookkeepers of the web
console), written to the store directly."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.exc import IntegrityError

from ..config import load
from ..runtime.passwords import hash_password
from ..store.store import Store
from .common import CommandError, read_password, run

ROLES = ("admin", "bookkeeper")


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


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `printgate admin` to the `printgate` parser."""
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
