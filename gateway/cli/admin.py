"""`printgate admin add|list|passwd|role|remove`: the console accounts (administrators and
bookkeepers). Every change goes through identity.accounts, as the console's do, so the same
rules hold (the last administrator stays one; a new password or role ends the account's
sessions) and each change is in the audit log as made from the CLI."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..config import load
from ..identity.accounts import ROLES, Account, AccountError, Accounts, check_password_strength
from ..store.audit import Actor
from ..store.store import Store
from .common import CommandError, read_password, run

T = TypeVar("T")
COLUMNS = ("name", "role", "email", "full_name", "two_factor", "must_change_password", "created")


def _accounts(args: argparse.Namespace, action: Callable[[Accounts], Awaitable[T]]) -> T:
    """Run the action on the store's accounts; a refusal is the command's one-line error."""

    async def on_store(store: Store) -> T:
        try:
            return await action(Accounts(store))
        except AccountError as exc:
            raise CommandError(str(exc)) from exc

    return run(load(args.config), on_store)


def _new_password(args: argparse.Namespace) -> str:
    password = read_password(args)
    if password is None:
        raise CommandError("a console account needs a password: use --password-stdin")
    try:
        check_password_strength(password)
    except AccountError as exc:
        raise CommandError(str(exc)) from exc
    return password


def admin_add(args: argparse.Namespace) -> int:
    if "@" not in args.email:
        raise CommandError("--email must be an email address (it receives notifications)")
    password = _new_password(args)

    async def action(accounts: Accounts) -> None:
        await accounts.add(
            Actor.cli(),
            args.name,
            password,
            args.role,
            args.email,
            args.first_name,
            args.last_name,
            must_change_password=args.temporary,
        )

    _accounts(args, action)
    print(f"{args.role} {args.name} added{_temporary_note(args)}")
    return 0


def admin_list(args: argparse.Namespace) -> int:
    found = _accounts(args, lambda accounts: accounts.everyone())
    shown = [_shown(account) for account in found]
    if args.json:
        print(json.dumps(shown, indent=1))
        return 0
    table = [{c: _cell(row[c]) for c in COLUMNS} for row in shown]
    widths = {c: max([len(c), *(len(row[c]) for row in table)]) for c in COLUMNS}
    print("  ".join(c.upper().replace("_", " ").ljust(widths[c]) for c in COLUMNS).rstrip())
    for row in table:
        print("  ".join(row[c].ljust(widths[c]) for c in COLUMNS).rstrip())
    return 0


def _shown(account: Account) -> dict[str, Any]:
    """An account as `admin list` shows it: never its password or its second factor's secret."""
    return {
        "name": account.username,
        "role": account.role,
        "email": account.email,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "full_name": account.full_name,
        "two_factor": bool(account.totp_secret),
        "must_change_password": account.must_change_password,
        "language": account.language,
        "created": account.created_at.isoformat(timespec="seconds"),
    }


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def admin_passwd(args: argparse.Namespace) -> int:
    password = _new_password(args)

    async def action(accounts: Accounts) -> None:
        await accounts.set_password(Actor.cli(), args.name, password, must_change=args.temporary)

    _accounts(args, action)
    print(f"password of {args.name} changed{_temporary_note(args)}; its sessions have ended")
    return 0


def _temporary_note(args: argparse.Namespace) -> str:
    return " (temporary: to be changed at the next sign-in)" if args.temporary else ""


def admin_role(args: argparse.Namespace) -> int:
    async def action(accounts: Accounts) -> str | None:
        before = await accounts.get(args.name)
        await accounts.set_role(Actor.cli(), args.name, args.role)
        return None if before is None else before.role

    before = _accounts(args, action)
    if before == args.role:
        print(f"{args.name} is already {args.role}")
    else:
        print(f"{args.name} is now {args.role} (was {before}); its sessions have ended")
    return 0


def admin_remove(args: argparse.Namespace) -> int:
    async def action(accounts: Accounts) -> None:
        await accounts.remove(Actor.cli(), args.name)

    _accounts(args, action)
    print(f"{args.name} removed")
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `printgate admin` to the `printgate` parser."""
    admin = commands.add_parser(
        "admin", parents=[common], help="console accounts: administrators and bookkeepers"
    )
    sub = admin.add_subparsers(dest="admin_command", required=True)
    temporary = argparse.ArgumentParser(add_help=False)
    temporary.add_argument(
        "--temporary",
        action="store_true",
        help="a one-time password: the account must change it at its next sign-in",
    )
    stdin = argparse.ArgumentParser(add_help=False)
    stdin.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (required)"
    )

    add = sub.add_parser(
        "add", parents=[common, stdin, temporary], help="add an administrator or bookkeeper"
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--email", required=True)
    add.add_argument("--first-name", default="")
    add.add_argument("--last-name", default="")
    add.set_defaults(func=admin_add)

    listing = sub.add_parser("list", parents=[common], help="the console accounts")
    listing.add_argument("--json", action="store_true", help="one JSON array")
    listing.set_defaults(func=admin_list)

    passwd = sub.add_parser(
        "passwd", parents=[common, stdin, temporary], help="set an account's password"
    )
    passwd.add_argument("name")
    passwd.set_defaults(func=admin_passwd)

    role = sub.add_parser(
        "role", parents=[common], help="make an account an administrator or a bookkeeper"
    )
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(func=admin_role)

    remove = sub.add_parser("remove", parents=[common], help="remove a console account")
    remove.add_argument("name")
    remove.set_defaults(func=admin_remove)
