"""SmartTracker-style CSV import and export of a queue's users, projects and departments: the
parser and its checks (BOM, semicolons, bad rows by line), the one-transaction bulk write, and
`printgate user|project|department import|export` run as a real command on a temporary store;
every change in the audit log."""

from __future__ import annotations

import codecs
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.accounting.lists import STATUSES, Entry, ListError, Lists, Put
from gateway.accounting.lists_csv import PASSWORD_MARKER, InvalidCsv, Record, parse, write
from gateway.runtime.passwords import verify_password
from gateway.store.audit import Actor, AuditFilter, entries
from gateway.store.store import Store
from gateway.tasks import TaskKeeper

CLI = Actor.cli()
USERS = (
    "USERNAME*,PASSWORD,FIRST NAME,LAST NAME,EMAIL ADDRESS,ADDRESS,USER STATUS\r\n"
    'BarbaraSmith,s3cret,Barbara,Smith,bsmith@mail.com,"1501 Page Mill Rd, Palo Alto",Enabled\r\n'
    "JamesWhite,,James,White,jameswhite@mail.com,,Disabled\r\n"
)


def problems(data: bytes | str, kind: str = "user", **kwargs: dict[str, Entry]) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(InvalidCsv) as caught:
        parse(raw, kind, **kwargs)
    return [f"line {line}: {message}" for line, message in caught.value.problems]


# --- parsing ----------------------------------------------------------------------------


def test_smarttracker_users_with_a_bom_and_a_quoted_comma() -> None:
    barbara, james = parse(codecs.BOM_UTF8 + USERS.encode(), "user")
    assert barbara == Record(
        line=2,
        name="BarbaraSmith",
        password="s3cret",
        status="enabled",
        details=(
            ("first_name", "Barbara"),
            ("last_name", "Smith"),
            ("email", "bsmith@mail.com"),
            ("address", "1501 Page Mill Rd, Palo Alto"),
        ),
    )
    assert james.password is None and james.status == "disabled" and james.line == 3


def test_semicolons_as_european_excel_writes_them() -> None:
    text = 'NAME;PASSWORD;STATUS\n"Bridge; phase 2";;enabled\nTunnel;pw;\n'
    bridge, tunnel = parse(text.encode(), "project")
    assert bridge.name == "Bridge; phase 2" and bridge.password is None
    assert tunnel.password == "pw" and tunnel.status is None  # empty: keep, or enabled if new
    assert bridge.details == ()


def test_utf16_and_non_ascii_names() -> None:
    text = "USERNAME\tFIRST NAME\nJosé\tJosé\n"
    (jose,) = parse(text.encode("utf-16"), "user")
    assert jose.name == "José" and jose.details == (("first_name", "José"),)


def test_columns_in_any_order_and_only_the_name_required() -> None:
    (row,) = parse(b"user status,username\nDISABLED,  ann  \n", "user")
    assert row == Record(line=2, name="ann", status="disabled")


def test_each_bad_row_is_reported_by_its_line() -> None:
    text = (
        "USERNAME,PASSWORD,EMAIL ADDRESS,USER STATUS\n"  # 1
        "ann,,ann@example.org,Enabled\n"  # 2
        "\n"  # 3: blank lines are skipped, but counted
        "Unknown,,,\n"  # 4
        f"{'x' * 101},,,\n"  # 5
        "bob,,not-an-address,Active\n"  # 6
        'carl,,"not\n'  # 7: a quoted field spanning two lines
        'mail",Enabled\n'  # 8
        "ann,,,\n"  # 9
        ",pw,,\n"  # 10
        "dave,,,,surplus\n"  # 11
        "guest,,,\n"  # 12
    )
    assert problems(text) == [
        "line 4: 'Unknown' is reserved (Guest, Others, Service and Unknown are)",
        "line 5: user names are at most 100 characters",
        "line 6: 'not-an-address' is not an email address",
        "line 6: status 'Active' is not one of enabled, disabled, removed",
        "line 7: 'not\\nmail' is not an email address",
        "line 9: 'ann' repeats line 2",
        "line 10: a user needs a name",
        "line 11: 5 fields, the header has 4",
        "line 12: 'guest' is reserved (Guest, Others, Service and Unknown are)",
    ]


def test_a_name_of_100_characters_is_fine() -> None:
    (row,) = parse(f"NAME\n{'p' * 100}\n".encode(), "department")
    assert len(row.name) == 100


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "line 1: the file is empty"),
        ("\n\n", "line 1: the file is empty"),
        ("ann,bob\n", "line 1: no header: the first line must name the columns, USERNAME"),
        ("PASSWORD,FIRST NAME\n", "line 1: no USERNAME column"),
        ("USERNAME,PHONE\nann,1\n", "line 1: unknown column 'PHONE' (a user has USERNAME,"),
        ("USERNAME,STATUS,USER STATUS\n", "line 1: column 'USER STATUS' repeats 'STATUS'"),
    ],
)
def test_a_bad_header(text: str, expected: str) -> None:
    found = problems(text)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_projects_have_no_user_columns() -> None:
    assert problems("NAME,EMAIL ADDRESS\n", "project")[0].startswith(
        "line 1: unknown column 'EMAIL ADDRESS' (a project has NAME, PASSWORD, STATUS)"
    )


def test_text_that_is_not_utf8() -> None:
    data = "USERNAME,FIRST NAME\nann,Ann\njose,José\n".encode("cp1252")
    assert problems(data) == ["line 3: not UTF-8 text: save the file as CSV UTF-8"]


def test_a_value_under_an_empty_header_cell() -> None:
    assert problems("USERNAME,,PASSWORD\nann,x,\n") == [
        "line 2: field 2 has no column name in the header"
    ]


def test_short_rows_and_trailing_separators() -> None:
    ann, bob = parse(b"USERNAME,FIRST NAME,LAST NAME,\nann\nbob,Bob,Jones,\n", "user")
    assert ann.details == (("first_name", ""), ("last_name", ""))
    assert bob.details == (("first_name", "Bob"), ("last_name", "Jones"))


def test_the_password_marker_keeps_only_a_stored_password() -> None:
    text = f"NAME,PASSWORD\nold,{PASSWORD_MARKER}\nopen,{PASSWORD_MARKER}\nnew,{PASSWORD_MARKER}\n"
    stored = {
        "old": Entry("project", "q", "old", "enabled", "$argon2id$..."),
        "open": Entry("project", "q", "open", "enabled", None),
    }
    assert problems(text, "project", stored=stored) == [
        "line 3: 'open' has no stored password for ***** to keep",
        "line 4: 'new' is a new project: ***** keeps a stored password, so give the password "
        "or leave it empty",
    ]
    (old,) = parse(f"NAME,PASSWORD\nold,{PASSWORD_MARKER}\n".encode(), "project", stored)
    assert old.keep_password and old.password is None


def test_export_then_parse_round_trips_and_never_writes_a_hash() -> None:
    entries = [
        Entry(
            "user",
            "q",
            "ann",
            "enabled",
            "$argon2id$v=19$secret-hash",
            (
                ("first_name", "Ann"),
                ("last_name", 'O"Neil'),
                ("email", "a@b.c"),
                ("address", "1 Main St,\nSpringfield"),
            ),
        ),
        Entry("user", "q", "bob", "removed", None, ()),
    ]
    out = io.StringIO()
    write(out, "user", entries)
    text = out.getvalue()
    assert text.startswith(
        "USERNAME,PASSWORD,FIRST NAME,LAST NAME,EMAIL ADDRESS,ADDRESS,USER STATUS\r\n"
    )
    assert "argon2" not in text and "ann,*****,Ann" in text and "bob,,,,,,Removed" in text
    stored = {e.name: e for e in entries}
    ann, bob = parse(text.encode(), "user", stored)
    assert ann.keep_password and ann.status == "enabled"
    assert dict(ann.details) == dict(entries[0].details)
    assert bob == Record(
        line=4,  # the address spans lines 2 and 3
        name="bob",
        status="removed",
        details=(("first_name", ""), ("last_name", ""), ("email", ""), ("address", "")),
    )


# --- the bulk write ---------------------------------------------------------------------


@pytest.fixture
def lists(store: Store) -> Lists:
    return Lists(store)


async def test_put_many_adds_updates_and_keeps(lists: Lists) -> None:
    await lists.add("user", "q", "ann", "hash-a", actor=CLI, first_name="Ann", email="ann@old.org")
    await lists.add("user", "other", "bob", actor=CLI)
    result = await lists.put_many(
        "user",
        "q",
        [
            Put("ann", details=(("email", "ann@new.org"),), keep_password=True),
            Put("bob", status="disabled", password_hash="hash-b"),
        ],
        actor=CLI,
    )
    assert (result.added, result.updated, result.unchanged) == (1, 1, 0)
    ann = await lists.get("user", "q", "ann")
    assert ann is not None and ann.password_hash == "hash-a"
    assert ann.detail("first_name") == "Ann" and ann.detail("email") == "ann@new.org"
    bob = await lists.get("user", "q", "bob")
    assert bob is not None and bob.status == "disabled" and bob.password_hash == "hash-b"
    again = await lists.put_many(
        "user", "q", [Put("ann"), Put("bob", status="disabled")], actor=CLI
    )
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    log = await entries(lists.store, AuditFilter(target="q"))
    assert [(e.action, e.target) for e in reversed(log)] == [
        ("user.add", "q/ann"),
        ("user.edit", "q/ann"),
        ("user.add", "q/bob"),
        ("user.import", "q"),
        ("user.import", "q"),
    ]
    added_bob = next(e for e in log if e.target == "q/bob")
    assert added_bob.after["password"] == "(set)" and "hash-b" not in str(added_bob.after)
    edited = next(e for e in log if e.action == "user.edit")
    assert (edited.before, edited.after) == ({"email": "ann@old.org"}, {"email": "ann@new.org"})
    assert log[0].after == {"added": 0, "updated": 0, "unchanged": 2}


async def test_a_refused_import_logs_nothing(lists: Lists) -> None:
    with pytest.raises(ListError):
        await lists.put_many("project", "q", [Put("new"), Put("x", keep_password=True)], actor=CLI)
    assert await entries(lists.store, AuditFilter()) == []


async def test_put_many_is_all_or_nothing(lists: Lists) -> None:
    await lists.add("project", "q", "open", actor=CLI)  # no password
    before = await lists.entries("project", "q", STATUSES)
    # The bad entry comes last, after an add and an update in the same transaction.
    with pytest.raises(ListError, match="no stored password to keep"):
        await lists.put_many(
            "project",
            "q",
            [Put("new"), Put("later", status="disabled"), Put("open", keep_password=True)],
            actor=CLI,
        )
    with pytest.raises(ListError, match="has no project 'gone' whose password to keep"):
        await lists.put_many(
            "project",
            "q",
            [Put("open", status="disabled", password_hash="h"), Put("gone", keep_password=True)],
            actor=CLI,
        )
    assert await lists.entries("project", "q", STATUSES) == before
    with pytest.raises(ListError, match="given more than once"):
        await lists.put_many("project", "q", [Put("a"), Put(" a ")], actor=CLI)
    with pytest.raises(ListError, match="reserved"):
        await lists.put_many("project", "q", [Put("a"), Put("Others")], actor=CLI)
    assert await lists.entries("project", "q", STATUSES) == before


# --- the commands -----------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, database_url: str, store: Store) -> Path:
    """A config on a store that exists (as `printgate serve` leaves it: the commands refuse to
    create one)."""
    path = tmp_path / "printgate.toml"
    path.write_text(
        f"""
[server]
listen = ["127.0.0.1:8631"]
data_dir = "{tmp_path / "data"}"

[database]
url = "{database_url}"

[[printers]]
name = "virtual"
uri = "{(tmp_path / "out").as_uri()}"

[[queues]]
name = "plotters"
printers = ["virtual"]
auth = "list-password"
""",
        encoding="utf-8",
    )
    return path


Cli = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def printgate(config: Path) -> Cli:
    def call(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "gateway", *args, "--config", str(config)],
            input=stdin,
            capture_output=True,
            timeout=120,
            check=False,
        )

    return call


def test_import_then_export_round_trips(printgate: Cli, tmp_path: Path) -> None:
    source = tmp_path / "users.csv"
    semicolons = USERS.replace(",", ";").replace("Rd; Palo", "Rd, Palo")  # as Excel in FR
    source.write_bytes(codecs.BOM_UTF8 + semicolons.encode())
    done = printgate("user", "import", "plotters", str(source))
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == "users of plotters: 2 added, 0 updated, 0 unchanged\n"

    exported = printgate("user", "export", "plotters")
    assert exported.returncode == 0, exported.stderr
    text = exported.stdout.decode()
    assert "s3cret" not in text and "argon2" not in text
    assert text.splitlines() == [
        "USERNAME,PASSWORD,FIRST NAME,LAST NAME,EMAIL ADDRESS,ADDRESS,USER STATUS",
        'BarbaraSmith,*****,Barbara,Smith,bsmith@mail.com,"1501 Page Mill Rd, Palo Alto",Enabled',
        "JamesWhite,,James,White,jameswhite@mail.com,,Disabled",
    ]
    again = printgate("user", "import", "plotters", "-", stdin=exported.stdout)
    assert again.returncode == 0, again.stderr
    assert again.stdout.decode() == "users of plotters: 0 added, 0 updated, 2 unchanged\n"

    to_file = tmp_path / "out.csv"
    written = printgate("user", "export", "plotters", str(to_file))
    assert written.returncode == 0, written.stderr
    assert to_file.read_bytes() == codecs.BOM_UTF8 + exported.stdout


async def test_an_imported_password_is_hashed(printgate: Cli, database_url: str) -> None:
    done = printgate("project", "import", "plotters", "-", stdin=b"NAME,PASSWORD\nBridge,pw1\n")
    assert done.returncode == 0, done.stderr
    update = b"PROJECT;PASSWORD;STATUS\nBridge;;Disabled\n"  # an empty password keeps it
    assert printgate("project", "import", "plotters", "-", stdin=update).returncode == 0
    tasks = TaskKeeper()
    store = await Store.open(database_url, tasks)
    try:
        bridge = await Lists(store).get("project", "plotters", "Bridge")
        log = await entries(store, AuditFilter(target="plotters"))
    finally:
        await store.close()
        await tasks.cancel_all()
    assert bridge is not None and bridge.status == "disabled"
    assert bridge.password_hash is not None and verify_password(bridge.password_hash, "pw1")
    assert [(e.actor, e.source, e.action) for e in reversed(log)] == [
        ("cli", "cli", "project.add"),
        ("cli", "cli", "project.import"),
        ("cli", "cli", "project.edit"),
        ("cli", "cli", "project.import"),
    ]
    assert (log[1].before, log[1].after) == ({"status": "enabled"}, {"status": "disabled"})
    assert "pw1" not in str(log) and bridge.password_hash not in str(log)


def test_a_bad_file_imports_nothing(printgate: Cli) -> None:
    bad = b"NAME,STATUS\nBridge,Enabled\nUnknown,Enabled\nTunnel,gone\nBridge,\n"
    done = printgate("department", "import", "plotters", "-", stdin=bad)
    assert done.returncode != 0
    assert done.stderr.decode().splitlines() == [
        "line 3: 'Unknown' is reserved (Guest, Others, Service and Unknown are)",
        "line 4: status 'gone' is not one of enabled, disabled, removed",
        "line 5: 'Bridge' repeats line 2",
        "printgate: -: 3 rows are bad; nothing imported",
    ]
    listed = printgate("department", "export", "plotters", "--removed")
    assert listed.stdout.decode() == "NAME,PASSWORD,STATUS\r\n"


def test_dry_run_and_an_unknown_queue(printgate: Cli) -> None:
    checked = printgate("user", "import", "plotters", "-", "--dry-run", stdin=USERS.encode())
    assert checked.returncode == 0, checked.stderr
    assert b"would add 2 and update or keep 0 users" in checked.stdout
    assert printgate("user", "export", "plotters").stdout.count(b"\n") == 1
    missing = printgate("user", "import", "nowhere", "-", stdin=USERS.encode())
    assert missing.returncode != 0 and b"no queue 'nowhere'" in missing.stderr
    unreadable = printgate("user", "import", "plotters", "/nonexistent.csv")
    assert unreadable.returncode != 0 and b"cannot read /nonexistent.csv" in unreadable.stderr
