"""`printgate admin add|list|passwd|role|remove` run as the real command on a store: the same
rules as the console (the last administrator stays one; a new password or role ends the
account's sessions), one clear line when a change is refused, and every change in the audit
log as made from the CLI, without a password in it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.identity.accounts import Accounts, SessionPolicy
from gateway.store.audit import AuditFilter, entries
from gateway.store.store import Store
from tests.peers import toml_dumps

BOSS_PASSWORD = "correct horse battery"
POLICY = SessionPolicy(idle=timedelta(hours=1), lifetime=timedelta(hours=8))


@pytest.fixture
def config(tmp_path: Path, database_url: str, store: Store) -> Path:
    """A config on a store that exists, as `printgate serve` leaves it."""
    path = tmp_path / "printgate.toml"
    path.write_text(
        toml_dumps(
            {"server": {"data_dir": str(tmp_path / "data")}, "database": {"url": database_url}}
        )
    )
    return path


def printgate(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command says (exit status 2, nothing on stdout)."""
    assert result.returncode == 2, result.stdout
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


def add(config: Path, name: str, role: str, password: str = BOSS_PASSWORD, *extra: str) -> str:
    return ok(
        printgate(
            config,
            "admin",
            "add",
            name,
            "--role",
            role,
            "--email",
            f"{name}@example.org",
            "--password-stdin",
            *extra,
            stdin=f"{password}\n",
        )
    )


async def test_add_list_passwd_role_remove_each_audited(config: Path, store: Store) -> None:
    accounts = Accounts(store)
    assert (
        add(config, "boss", "admin", BOSS_PASSWORD, "--first-name", "Ada") == "admin boss added\n"
    )
    added = add(config, "book", "bookkeeper", "ledger-password", "--temporary")
    assert added == "bookkeeper book added (temporary: to be changed at the next sign-in)\n"

    listed = json.loads(ok(printgate(config, "admin", "list", "--json")))
    assert [(a["name"], a["role"], a["must_change_password"]) for a in listed] == [
        ("book", "bookkeeper", True),
        ("boss", "admin", False),
    ]
    assert listed[1]["first_name"] == "Ada" and listed[1]["two_factor"] is False
    assert "password" not in json.dumps(listed).replace("must_change_password", "")
    table = ok(printgate(config, "admin", "list")).splitlines()
    assert table[0].split()[:3] == ["NAME", "ROLE", "EMAIL"]
    assert table[2].split()[:3] == ["boss", "admin", "boss@example.org"]

    # A new password ends the account's sessions; --temporary makes it a one-time one.
    boss = await accounts.get("boss")
    assert boss is not None
    token, _ = await accounts.open_session(boss, "127.0.0.1")
    changed = ok(
        printgate(config, "admin", "passwd", "boss", "--password-stdin", stdin="a new passphrase\n")
    )
    assert changed == "password of boss changed; its sessions have ended\n"
    assert await accounts.session(token, POLICY) is None
    assert await accounts.check_password("boss", BOSS_PASSWORD) is None
    renewed = await accounts.check_password("boss", "a new passphrase")
    assert renewed is not None and not renewed.must_change_password
    ok(
        printgate(
            config,
            "admin",
            "passwd",
            "book",
            "--password-stdin",
            "--temporary",
            stdin="one-time-secret\n",
        )
    )
    book = await accounts.check_password("book", "one-time-secret")
    assert book is not None and book.must_change_password

    assert ok(printgate(config, "admin", "role", "book", "admin")) == (
        "book is now admin (was bookkeeper); its sessions have ended\n"
    )
    assert ok(printgate(config, "admin", "role", "book", "admin")) == "book is already admin\n"
    assert ok(printgate(config, "admin", "role", "boss", "bookkeeper")).startswith("boss is now")
    assert ok(printgate(config, "admin", "remove", "boss")) == "boss removed\n"
    assert [a.username for a in await accounts.everyone()] == ["book"]

    log = list(reversed(await entries(store, AuditFilter())))
    assert {(e.actor, e.source) for e in log} == {("cli", "cli")}
    assert [(e.action, e.target) for e in log] == [
        ("account.add", "boss"),
        ("account.add", "book"),
        ("account.password", "boss"),
        ("account.password", "book"),
        ("account.role", "book"),
        ("account.role", "boss"),
        ("account.remove", "boss"),
    ]
    assert log[0].after["first_name"] == "Ada"
    assert (log[4].before, log[4].after) == ({"role": "bookkeeper"}, {"role": "admin"})
    for secret in (BOSS_PASSWORD, "a new passphrase", "one-time-secret", "ledger-password"):
        assert secret not in json.dumps([(e.before, e.after) for e in log])


async def test_the_last_administrator_stays_one(config: Path, store: Store) -> None:
    add(config, "boss", "admin")
    add(config, "book", "bookkeeper")
    assert refused(printgate(config, "admin", "remove", "boss")) == (
        "printgate: boss is the last administrator"
    )
    assert refused(printgate(config, "admin", "role", "boss", "bookkeeper")) == (
        "printgate: boss is the last administrator"
    )
    ok(printgate(config, "admin", "remove", "book"))  # a bookkeeper can go
    roles = {a.username: a.role for a in await Accounts(store).everyone()}
    assert roles == {"boss": "admin"}
    log = await entries(store, AuditFilter())
    assert [e.action for e in log] == ["account.remove", "account.add", "account.add"]


def test_refusals_are_one_line(config: Path) -> None:
    add(config, "boss", "admin")
    assert refused(printgate(config, "admin", "remove", "nobody")) == (
        "printgate: no console account named 'nobody'"
    )
    assert refused(printgate(config, "admin", "role", "nobody", "admin")) == (
        "printgate: no console account named 'nobody'"
    )
    short = printgate(config, "admin", "passwd", "boss", "--password-stdin", stdin="short\n")
    assert refused(short) == "printgate: a password needs at least 10 characters"
    assert refused(printgate(config, "admin", "passwd", "boss")) == (
        "printgate: a console account needs a password: use --password-stdin"
    )
    twice = printgate(
        config,
        "admin",
        "add",
        "boss",
        "--role",
        "admin",
        "--email",
        "b@example.org",
        "--password-stdin",
        stdin=f"{BOSS_PASSWORD}\n",
    )
    assert refused(twice) == "printgate: a console account named 'boss' exists already"
