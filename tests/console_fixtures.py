"""What the Preferences tests share: a printgate with an administrator and a bookkeeper, a
signed-in administrator, mail and directory peers, and helpers to post forms and read what
was stored and audited."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity.accounts import Accounts
from gateway.store.audit import Actor, AuditEntry, AuditFilter, entries
from gateway.store.models import SettingRow
from gateway.store.store import Store
from tests.harness import InProcess, in_process
from tests.slapd import Slapd
from tests.snmp_peers import SmtpSink
from tests.web_client import TOKEN_RE, Reply, WebClient

ADMIN_PASSWORD = "a long admin password"
KEEPER_PASSWORD = "a long keeper password"


@pytest.fixture
async def gw(tmp_path: Path, database_url: str) -> AsyncIterator[InProcess]:
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
        queues=[
            {"name": "demo", "printers": ["virtual"]},
            {"name": "staff", "printers": ["virtual"], "auth": "directory"},
        ],
    ) as running:
        accounts = Accounts(running.gateway.jobs.store)
        await accounts.set_password(cli_actor(), "admin", ADMIN_PASSWORD)
        await accounts.add(
            cli_actor(), "keeper", KEEPER_PASSWORD, "bookkeeper", "keeper@example.org"
        )
        yield running


@pytest.fixture
async def admin(gw: InProcess) -> AsyncIterator[WebClient]:
    async with WebClient(f"http://127.0.0.1:{gw.port}") as client:
        assert (await client.sign_in("admin", ADMIN_PASSWORD)).status == 303
        yield client


@pytest.fixture
def auth_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(users={"printgate": "s3cret"}).start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with Slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server


def cli_actor() -> Actor:
    return Actor.cli()


def store_of(gw: InProcess) -> Store:
    return gw.gateway.jobs.store


async def stored(gw: InProcess) -> dict[str, str]:
    async def fn(session: AsyncSession) -> dict[str, str]:
        return {row.key: row.value for row in await session.scalars(select(SettingRow))}

    return await store_of(gw).read(fn)


async def audited(gw: InProcess, action: str) -> list[AuditEntry]:
    return await entries(store_of(gw), AuditFilter(action=action))


async def token(client: WebClient, page: str) -> str:
    reply = await client.get(page)
    assert reply.status == 200, (page, reply.status, reply.text[:300])
    found = TOKEN_RE.search(reply.text)
    assert found, page
    return found.group(1)


async def post(client: WebClient, path: str, page: str, data: dict[str, str]) -> Reply:
    return await client.post(path, data, token=await token(client, page))


def error_beside(text: str, field: str) -> str:
    """The error shown beside a form field (macros.html: id="e-FIELD")."""
    found = re.search(rf'<div class="error" id="e-{field}"[^>]*>([^<]*)</div>', text)
    assert found, f"no error beside {field}"
    return found.group(1)


def value_of(text: str, field: str) -> str:
    found = re.search(rf'id="f-{field}" name="{field}" type="[a-z]+" value="([^"]*)"', text)
    assert found, f"no value for {field}"
    return found.group(1)


CONNECTIVITY = "/preferences/connectivity"
OPTIONS = "/preferences/options"
PEOPLE = "/preferences/permissions/"


def png_bytes(size: tuple[int, int] = (40, 20), text: str = "") -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if text:
        info.add_text("Comment", text)
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG", pnginfo=info)
    return out.getvalue()
