"""Preferences, Permissions: console accounts added, edited and removed with their audit
entries, field errors with nothing saved, the last administrator kept; and a bookkeeper
turned away from every page of Preferences and the audit log."""

from __future__ import annotations

import re

import pytest

from gateway.identity.accounts import Accounts
from tests.console_fixtures import (
    ADMIN_PASSWORD,
    KEEPER_PASSWORD,
    PEOPLE,
    audited,
    cli_actor,
    error_beside,
    post,
    store_of,
    stored,
    value_of,
)
from tests.harness import InProcess
from tests.web_client import WebClient
from webui.console import audit, preferences

# The fixtures gw, admin, auth_sink and slapd.
pytest_plugins = ("tests.console_fixtures",)


async def test_accounts_are_added_edited_and_removed(gw: InProcess, admin: WebClient) -> None:
    accounts = Accounts(store_of(gw))
    new = {
        "username": "carol",
        "first_name": "Carol",
        "last_name": "Danvers",
        "email": "carol@example.org",
        "role": "admin",
        "password": "carol's long password",
        "password2": "carol's long password",
        "must_change": "on",
    }
    reply = await post(admin, f"{PEOPLE}new", f"{PEOPLE}new", new)
    assert reply.status == 303, reply.text[:500]
    carol = await accounts.get("carol")
    assert carol is not None and carol.role == "admin" and carol.must_change_password
    assert (carol.first_name, carol.last_name) == ("Carol", "Danvers")
    listing = await admin.get(PEOPLE)
    assert "carol@example.org" in listing.text and "Carol Danvers" in listing.text

    edit = {
        "first_name": "Carol",
        "last_name": "Marvel",
        "email": "cm@example.org",
        "role": "bookkeeper",
        "password": "",
        "password2": "",
    }
    reply = await post(admin, f"{PEOPLE}carol/edit", f"{PEOPLE}carol/edit", edit)
    assert reply.status == 303, reply.text[:500]
    carol = await accounts.get("carol")
    assert carol is not None and (carol.role, carol.email) == ("bookkeeper", "cm@example.org")
    assert await accounts.check_password("carol", "carol's long password") is not None

    with_password = {
        **edit,
        "password": "a brand new password",
        "password2": "a brand new password",
    }
    reply = await post(admin, f"{PEOPLE}carol/edit", f"{PEOPLE}carol/edit", with_password)
    assert reply.status == 303
    carol = await accounts.get("carol")
    assert carol is not None and not carol.must_change_password
    assert await accounts.check_password("carol", "a brand new password") is not None

    confirm = await admin.get(f"{PEOPLE}carol/remove")
    assert confirm.status == 200 and "Remove the account" in confirm.text
    assert await accounts.get("carol") is not None  # the confirmation page changes nothing
    unconfirmed = await post(admin, f"{PEOPLE}carol/remove", f"{PEOPLE}carol/remove", {})
    assert unconfirmed.status == 400 and await accounts.get("carol") is not None
    confirmed = {"confirm": "carol"}
    reply = await post(admin, f"{PEOPLE}carol/remove", f"{PEOPLE}carol/remove", confirmed)
    assert reply.status == 303
    assert await accounts.get("carol") is None

    carol_entries = [e for e in reversed(await audited(gw, "account.")) if e.target == "carol"]
    assert [e.action for e in carol_entries] == [
        "account.add",
        "account.role",
        "account.edit",
        "account.password",  # the second edit changed nothing else: no empty entry
        "account.remove",
    ]
    adds = [e for e in await audited(gw, "account.add") if e.target == "carol"]
    assert adds[0].after["email"] == "carol@example.org" and adds[0].actor == "admin"
    (role,) = [e for e in await audited(gw, "account.role") if e.target == "carol"]
    assert role.before == {"role": "admin"} and role.after == {"role": "bookkeeper"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "", "This field is required."),
        ("email", "carol", "This is not an e-mail address."),
        ("username", "<script>alert(1)</script>", None),
        ("password", "short", "At least 10 characters."),
        ("password2", "something else entirely", "The two passwords differ."),
        ("role", "owner", "Choose one of the options."),
    ],
)
async def test_add_errors_show_beside_the_field_and_nothing_is_saved(
    gw: InProcess, admin: WebClient, field: str, value: str, message: str | None
) -> None:
    new = {
        "username": "carol",
        "email": "carol@example.org",
        "role": "bookkeeper",
        "password": "carol's long password",
        "password2": "carol's long password",
        field: value,
    }
    reply = await post(admin, f"{PEOPLE}new", f"{PEOPLE}new", new)
    assert reply.status == 400
    error = error_beside(reply.text, field)
    assert message is None or error == message
    if field in ("email", "username"):
        assert value_of(reply.text, field) == value.replace("<", "&lt;").replace(">", "&gt;")
    assert "<script>alert(1)</script>" not in reply.text
    assert {a.username for a in await Accounts(store_of(gw)).everyone()} == {"admin", "keeper"}


async def test_the_last_administrator_is_neither_demoted_nor_removed(
    gw: InProcess, admin: WebClient
) -> None:
    demote = {"email": "admin@localhost", "role": "bookkeeper", "first_name": "Changed"}
    reply = await post(admin, f"{PEOPLE}admin/edit", f"{PEOPLE}admin/edit", demote)
    assert reply.status == 400 and "admin is the last administrator" in reply.text
    assert value_of(reply.text, "first_name") == "Changed"
    admin_account = await Accounts(store_of(gw)).get("admin")
    assert admin_account is not None and admin_account.role == "admin"
    assert admin_account.first_name != "Changed"  # nothing of the refused edit is saved

    mine = {"confirm": "admin"}
    reply = await post(admin, f"{PEOPLE}admin/remove", f"{PEOPLE}admin/remove", mine)
    assert reply.status == 400 and "your own account" in reply.text
    await Accounts(store_of(gw)).add(cli_actor(), "root2", ADMIN_PASSWORD, "admin", "r@example.org")
    async with WebClient(admin.base_url) as other:
        await other.sign_in("root2", ADMIN_PASSWORD)
        await Accounts(store_of(gw)).set_role(cli_actor(), "admin", "bookkeeper")
        reply = await post(
            other,
            f"{PEOPLE}root2/edit",
            f"{PEOPLE}root2/edit",
            {"email": "r@example.org", "role": "bookkeeper"},
        )
        assert reply.status == 400 and "root2 is the last administrator" in reply.text


async def test_a_missing_account_is_404(admin: WebClient) -> None:
    assert (await admin.get(f"{PEOPLE}nobody/edit")).status == 404
    assert (await admin.get(f"{PEOPLE}nobody/remove")).status == 404


# --- roles --------------------------------------------------------------------------------


def area_paths() -> list[tuple[str, str]]:
    """(method, path) of every route of the Preferences and audit areas."""
    paths = []
    for prefix, app in (("/preferences", preferences.make()), ("/audit", audit.make())):
        for route in app.router.routes():
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter", "")
            if route.method in ("GET", "POST"):
                # Any value will do: the role check answers before a handler looks it up.
                paths.append((route.method, prefix + re.sub(r"\{[^}]+\}", "1", path)))
    return paths


async def test_a_bookkeeper_is_turned_away_from_every_page(gw: InProcess) -> None:
    paths = area_paths()
    assert ("GET", "/preferences/connectivity") in paths and ("GET", "/audit/") in paths
    async with WebClient(f"http://127.0.0.1:{gw.port}") as keeper:
        assert (await keeper.sign_in("keeper", KEEPER_PASSWORD)).status == 303
        csrf = await keeper.token_for()
        for method, path in paths:
            if method == "GET":
                reply = await keeper.get(path)
            else:
                reply = await keeper.request("POST", path, data={"csrf_token": csrf})
            assert reply.status == 403, (method, path, reply.status)
    assert await stored(gw) == {}
    async with WebClient(f"http://127.0.0.1:{gw.port}") as anonymous:
        reply = await anonymous.get("/preferences/options")
        assert reply.status == 303 and reply.location.startswith("/signin")
