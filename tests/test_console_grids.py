"""The queue grids as a browser without JavaScript uses them (plain forms and links): add,
edit, disable, remove and restore rows, each audited; names the lists refuse shown beside
the cell; filter, sort and pages done on the server; the tabs renamed; a directory group's
users grid closed; the group's options; CSV export with formulas neutralised and import with
a field mapping, all-or-nothing. The browser's version is test_console_grids_browser.py."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from gateway.accounting.lists import Lists, Put
from gateway.identity.accounts import Accounts
from gateway.store.audit import Actor
from tests.console_fixtures import ADMIN_PASSWORD, KEEPER_PASSWORD, audited, error_beside, store_of
from tests.harness import InProcess, in_process
from tests.web_client import TOKEN_RE, Reply, WebClient

GRID = "/console/queues/demo"
CHANGE = "/console/grids/demo"


@pytest.fixture
async def gw(tmp_path: Path, database_url: str) -> AsyncIterator[InProcess]:
    (tmp_path / "lists").mkdir()
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
        queues=[
            {"name": "demo", "printers": ["virtual"]},
            {"name": "staff", "printers": ["virtual"], "auth": "directory"},
        ],
        lists={"linked_dirs": [str(tmp_path / "lists")], "linked_interval": 3600},
    ) as running:
        accounts = Accounts(store_of(running))
        await accounts.set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        await accounts.add(
            Actor.cli(), "keeper", KEEPER_PASSWORD, "bookkeeper", "keeper@example.org"
        )
        yield running


@pytest.fixture
async def admin(gw: InProcess) -> AsyncIterator[WebClient]:
    async with WebClient(f"http://127.0.0.1:{gw.port}") as client:
        assert (await client.sign_in("admin", ADMIN_PASSWORD)).status == 303
        yield client


async def send(client: WebClient, action: str, data: dict[str, str] | list[tuple[str, str]]):
    page = await client.get(GRID)
    token = TOKEN_RE.search(page.text)
    assert token, page.text[:300]
    form = [("csrf_token", token.group(1)), *(data.items() if isinstance(data, dict) else data)]
    return await client.request("POST", f"{CHANGE}/{action}", data=form)


def row_names(page: Reply) -> list[str]:
    """The grid's rows, top to bottom."""
    return re.findall(r'<tr data-name="([^"]*)"', page.text)


async def test_add_edit_disable_remove_restore_each_audited(
    gw: InProcess, admin: WebClient
) -> None:
    added = await send(
        admin,
        "users/add",
        {"name": "ann", "password": "pw-ann", "first_name": "Ann", "email": "ann@example.org"},
    )
    assert added.status == 303 and added.location.startswith(GRID)
    lists = Lists(store_of(gw))
    ann = await lists.get("user", "demo", "ann")
    assert ann is not None and ann.detail("first_name") == "Ann" and ann.password_hash
    assert "pw-ann" not in ann.password_hash

    edited = await send(
        admin, "users/edit", {"name": "ann", "last_name": "Lee", "email": "a@x.org"}
    )
    assert edited.status == 303
    ann = await lists.get("user", "demo", "ann")
    assert ann is not None and ann.detail("last_name") == "Lee"

    for action, status in (("disable", "disabled"), ("remove", "removed"), ("restore", "enabled")):
        reply = await send(admin, "users/status", [("names", "ann"), ("action", action)])
        assert reply.status == 303, reply.text[:300]
        ann = await lists.get("user", "demo", "ann")
        assert ann is not None and ann.status == status
    removed_view = await admin.get(f"{GRID}?tab=users&view=removed")
    assert row_names(removed_view) == []

    assert [e.actor for e in await audited(gw, "user.add")] == ["admin"]
    assert (await audited(gw, "user.edit"))[0].after == {"last_name": "Lee", "email": "a@x.org"}
    assert len(await audited(gw, "user.remove")) == 1
    assert len(await audited(gw, "user.enable")) == 1  # the restore


@pytest.mark.parametrize(
    ("name", "message"),
    [("Guest", "This name is reserved."), ("x" * 101, "At most 100 characters.")],
)
async def test_refused_names_show_beside_the_cell(
    gw: InProcess, admin: WebClient, name: str, message: str
) -> None:
    reply = await send(admin, "projects/add", {"name": name, "description": "kept"})
    assert reply.status == 400
    assert error_beside(reply.text, "new-name") == message
    assert 'value="kept"' in reply.text  # what was typed is shown again
    assert await Lists(store_of(gw)).entries("project", "demo") == []


async def test_json_answers_for_the_inline_edit(gw: InProcess, admin: WebClient) -> None:
    await Lists(store_of(gw)).add("user", "demo", "bob", actor=Actor.cli())
    token = TOKEN_RE.search((await admin.get(GRID)).text)
    assert token
    headers = {"Accept": "application/json", "X-CSRF-Token": token.group(1)}
    ok = await admin.request(
        "POST", f"{CHANGE}/users/edit", data={"name": "bob", "email": "bob@x.org"}, headers=headers
    )
    assert ok.status == 200 and '"email": "bob@x.org"' in ok.text
    bad = await admin.request(
        "POST", f"{CHANGE}/users/edit", data={"name": "bob", "email": "nope"}, headers=headers
    )
    assert bad.status == 400 and "This is not an e-mail address." in bad.text


async def test_filter_sort_and_pages_on_the_server(gw: InProcess, admin: WebClient) -> None:
    puts = [
        Put(f"user{n:03d}", details=(("email", f"{99 - n:02d}@{'b' if n % 2 else 'a'}.org"),))
        for n in range(60)
    ]
    await Lists(store_of(gw)).put_many("user", "demo", puts, actor=Actor.cli())
    first = await admin.get(f"{GRID}?tab=users")
    assert row_names(first) == [f"user{n:03d}" for n in range(25)]
    assert "Page 1 of 3, 60 rows" in first.text
    third = await admin.get(f"{GRID}?tab=users&page=3")
    assert row_names(third) == [f"user{n:03d}" for n in range(50, 60)]
    wide = await admin.get(f"{GRID}?tab=users&size=100")
    assert len(row_names(wide)) == 60
    by_email = await admin.get(f"{GRID}?tab=users&sort=email&dir=desc&size=50")
    assert row_names(by_email)[:2] == ["user000", "user001"]  # 99@a.org, 98@b.org
    filtered = await admin.get(f"{GRID}?tab=users&q=B.ORG&sort=name&dir=desc")
    assert row_names(filtered)[:3] == ["user059", "user057", "user055"]
    assert "30 rows" in filtered.text
    await send(admin, "users/status", [("names", "user001"), ("action", "disable")])
    disabled = await admin.get(f"{GRID}?tab=users&status=disabled")
    assert row_names(disabled) == ["user001"]
    assert 'Users <span class="count">(59)</span>' in disabled.text  # active rows


async def test_tabs_are_renamed_never_to_the_same_name(gw: InProcess, admin: WebClient) -> None:
    renamed = await send(admin, "tabs", {"tab": "projects", "label": "Cost centres"})
    assert renamed.status == 303
    page = await admin.get(GRID)
    assert re.search(r'id="tab-projects"[^>]*>Cost centres <span', page.text)
    same = await send(admin, "tabs", {"tab": "departments", "label": "cost centres"})
    assert same.status == 400
    assert error_beside(same.text, "tab-departments") == "Another tab already has this name."
    users = await send(admin, "tabs", {"tab": "users", "label": "People"})
    assert users.status == 400
    assert [e.after for e in await audited(gw, "project.tab")] == [{"label": "Cost centres"}]


async def test_a_directory_group_closes_its_users_grid(gw: InProcess, admin: WebClient) -> None:
    page = await admin.get("/console/queues/staff?tab=users")
    assert "Using the directory, printgate users are disabled" in page.text
    assert 'id="add-form"' not in page.text
    token = TOKEN_RE.search(page.text)
    assert token
    refused = await admin.request(
        "POST",
        "/console/grids/staff/users/add",
        data={"csrf_token": token.group(1), "name": "ann"},
    )
    assert refused.status == 400
    projects = await admin.get("/console/queues/staff?tab=projects")
    assert 'id="add-form"' in projects.text


async def test_a_bookkeeper_sees_the_grid_and_changes_nothing(gw: InProcess) -> None:
    await Lists(store_of(gw)).add("user", "demo", "ann", actor=Actor.cli())
    async with WebClient(f"http://127.0.0.1:{gw.port}") as keeper:
        assert (await keeper.sign_in("keeper", KEEPER_PASSWORD)).status == 303
        page = await keeper.get(GRID)
        assert page.status == 200 and row_names(page) == ["ann"]
        assert 'id="add-form"' not in page.text and "data-edit=" not in page.text
        refused = await send(keeper, "users/add", {"name": "bob"})
        assert refused.status == 403
        exported = await keeper.get(f"{GRID}/export/users")
        assert exported.status == 200


async def test_group_options_of_a_console_group(gw: InProcess, admin: WebClient) -> None:
    live = gw.gateway.live_queues
    assert live is not None
    from gateway.config import QueueConfig

    await live.add_group(
        Actor.cli(), QueueConfig(name="plotters", printers=("virtual",)), ("ipp", "web", "release")
    )
    page = await admin.get("/console/queues/plotters")
    token = TOKEN_RE.search(page.text)
    assert token and 'name="allow_comment"' in page.text
    saved = await admin.request(
        "POST",
        "/console/grids/plotters/options",
        data={
            "csrf_token": token.group(1),
            "auth": "list-password",
            "require_project": "on",
            "allow_billable": "on",
        },
    )
    assert saved.status == 303
    entry = live.group("plotters")
    assert entry is not None
    assert (entry.config.auth, entry.config.require) == ("list-password", ("project",))
    assert entry.config.allow_billable and not entry.config.allow_comment
    locked = await send(admin, "options", {"auth": "none"})  # demo is printgate.toml's
    assert locked.status == 400 and "Managed in printgate.toml" in locked.text


async def test_export_neutralises_formulas(gw: InProcess, admin: WebClient) -> None:
    lists = Lists(store_of(gw))
    await lists.add("user", "demo", "=cmd", actor=Actor.cli(), first_name="+1", last_name="@x")
    await lists.add("user", "demo", "plain", actor=Actor.cli(), address="-3\tz")
    reply = await admin.get(f"{GRID}/export/users")
    assert reply.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(reply.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["USERNAME", "PASSWORD", "FIRST NAME"]
    assert rows[1][:4] == ["'=cmd", "", "'+1", "'@x"]
    assert rows[2][5] == "'-3\tz"


# --- import with a mapping ----------------------------------------------------------------

# SmartTracker's export order, with a column of its own in the middle, semicolons, a quoted
# field holding a newline, in Windows-1252.
SMARTTRACKER = (
    "USERNAME*;PASSWORD;FIRST NAME;Badge;LAST NAME;EMAIL ADDRESS;ADDRESS;USER STATUS\r\n"
    'jose;pw1;José;B-1;Núñez;jose@example.org;"1 Main St\nSpringfield";Enabled\r\n'
    "mary;;Mary;B-2;Wilson;mary@example.org;;Disabled\r\n"
).encode("cp1252")


async def upload(client: WebClient, kind: str, data: bytes) -> Reply:
    page = await client.get(f"{CHANGE}/{kind}/import")
    token = TOKEN_RE.search(page.text)
    assert token
    form = aiohttp.FormData()
    form.add_field("csrf_token", token.group(1))
    form.add_field("file", data, filename="list.csv", content_type="text/csv")
    return await client.request("POST", f"{CHANGE}/{kind}/import", data=form)


SELECTED = (
    r'<select id="f-map_(\w+)" name="map_\w+">(?:(?!</select>).)*?<option value="(\d+)" selected'
)


async def map_step(client: WebClient, kind: str, page: Reply, step: str, **mapping: str) -> Reply:
    token = TOKEN_RE.search(page.text)
    data = re.search(r'name="data" value="([^"]*)"', page.text)
    assert token and data
    chosen = dict(re.findall(SELECTED, page.text, re.S))
    chosen.update(mapping)
    form = aiohttp.FormData()
    form.add_field("csrf_token", token.group(1))
    form.add_field("data", data.group(1), content_type="text/plain")  # a multipart form
    for field, index in chosen.items():
        form.add_field(f"map_{field}", index)
    form.add_field("step", step)
    return await client.request("POST", f"{CHANGE}/{kind}/import/map", data=form)


async def test_a_smarttracker_file_is_mapped_and_imported(gw: InProcess, admin: WebClient) -> None:
    page = await upload(admin, "users", SMARTTRACKER)
    assert page.status == 200, page.text[:500]
    assert '<li draggable="true" data-index="3">Badge</li>' in page.text
    assert "2 rows, 2 of them new." in page.text  # the proposal maps every known column
    done = await map_step(admin, "users", page, "import")
    assert done.status == 303 and "2+added" in done.location
    jose = await Lists(store_of(gw)).get("user", "demo", "jose")
    assert jose is not None
    assert (jose.detail("first_name"), jose.detail("address")) == ("José", "1 Main St\nSpringfield")
    mary = await Lists(store_of(gw)).get("user", "demo", "mary")
    assert mary is not None and mary.status == "disabled"
    assert [e.after for e in await audited(gw, "user.import")] == [
        {"added": 2, "updated": 0, "unchanged": 0}
    ]


async def test_a_mapping_chosen_by_hand(gw: InProcess, admin: WebClient) -> None:
    data = b"Login,Dept code,Mail\nann,D1,ann@example.org\n"
    page = await upload(admin, "users", data)
    assert "no column is mapped to USERNAME" in page.text
    preview = await map_step(admin, "users", page, "preview", name="0", email="2")
    assert "1 rows, 1 of them new." in preview.text and "ann@example.org" in preview.text
    done = await map_step(admin, "users", preview, "import")
    assert done.status == 303
    ann = await Lists(store_of(gw)).get("user", "demo", "ann")
    assert ann is not None and ann.detail("email") == "ann@example.org"


async def test_a_file_with_a_bad_line_is_refused_whole(gw: InProcess, admin: WebClient) -> None:
    bad = SMARTTRACKER + b"Guest;;;;;;;Enabled\r\n"
    page = await upload(admin, "users", bad)
    assert re.search(r"<li>line 5: &#39;Guest&#39; is reserved", page.text), page.text[-800:]
    refused = await map_step(admin, "users", page, "import")
    assert refused.status == 400 and "line 5" in refused.text
    assert await Lists(store_of(gw)).entries("user", "demo") == []


async def test_an_upload_that_is_no_csv(admin: WebClient) -> None:
    reply = await upload(admin, "users", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert reply.status == 400 and "This is not a CSV file." in reply.text


async def test_a_path_outside_the_allowed_directories_is_refused(
    gw: InProcess, admin: WebClient, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("USERNAME\nann\n")
    reply = await send(admin, "users/link", {"path": str(outside)})
    assert reply.status == 400
    assert "directories allowed" in error_beside(reply.text, "link-path")
    sneaky = await send(
        admin, "users/link", {"path": str(tmp_path / "lists" / ".." / "elsewhere.csv")}
    )
    assert sneaky.status == 400
    assert await Lists(store_of(gw)).entries("user", "demo") == []
