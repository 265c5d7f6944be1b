"""What the console's report tests share: a printgate with three printers in two groups, an
administrator and a bookkeeper signed in, the fixture of jobs with known figures loaded
(tests/test_reports_fixture.py), a real aiosmtpd, and helpers to read a report table off a
page, download a file and post a form. Not a test module itself: it holds no tests."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.identity.accounts import Accounts
from gateway.store.audit import Actor
from tests import test_reports_fixture as fx
from tests.harness import InProcess, in_process
from tests.snmp_peers import SmtpSink
from tests.web_client import TOKEN_RE, WebClient

ADMIN_PASSWORD = "a long admin password"
KEEPER_PASSWORD = "a long keeper password"
WHOLE = "period=dates&from=2026-01-01&to=2026-02-28"
CLI = Actor.cli()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def gw(tmp_path: Path, database_url: str, sink: SmtpSink) -> AsyncIterator[InProcess]:
    out = tmp_path / "out"
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": name, "uri": out.as_uri()} for name in ("dj1", "dj2", "laser")],
        queues=[
            {"name": "office", "printers": ["laser"]},
            {"name": "plotters", "printers": ["dj1", "dj2"]},
        ],
        mail={"host": sink.host, "port": sink.port, "security": "none"},
    ) as running:
        store = running.gateway.jobs.store
        accounts = Accounts(store)
        await accounts.set_password(CLI, "admin", ADMIN_PASSWORD)
        await accounts.add(CLI, "keeper", KEEPER_PASSWORD, "bookkeeper", "keeper@example.org")
        await fx.load(store)
        yield running


async def signed_in(gw: InProcess, username: str, password: str) -> WebClient:
    client = WebClient(f"http://127.0.0.1:{gw.port}")
    assert (await client.sign_in(username, password)).status == 303
    return client


@pytest.fixture
async def admin(gw: InProcess) -> AsyncIterator[WebClient]:
    client = await signed_in(gw, "admin", ADMIN_PASSWORD)
    async with client:
        yield client


@pytest.fixture
async def keeper(gw: InProcess) -> AsyncIterator[WebClient]:
    client = await signed_in(gw, "keeper", KEEPER_PASSWORD)
    async with client:
        yield client


def table(page: str, key: str) -> list[list[str]]:
    """The rows (body and footer) of the report table `key`, each cell's text."""
    found = re.search(rf'<table class="report" data-key="{key}">(.*?)</table>', page, re.S)
    assert found, f"no table {key}"
    body = found.group(1).split("</thead>", 1)[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def by_first(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in rows}


async def form_token(client: WebClient, page: str) -> str:
    reply = await client.get(page)
    assert reply.status == 200, (page, reply.status, reply.text[:400])
    found = TOKEN_RE.search(reply.text)
    assert found
    return found.group(1)


async def post(client: WebClient, path: str, page: str, data: dict[str, str]) -> Any:
    return await client.post(path, data, token=await form_token(client, page))


async def download(client: WebClient, path: str) -> tuple[int, bytes, str]:
    async with client.session.get(client.base_url + path) as response:
        return response.status, await response.read(), response.headers.get("Content-Type", "")
