"""What the My printing tests share (no tests here): a TCP relay that makes connections reach
printgate from a chosen loopback address, and the printgate they run against.

On Linux a connection to 127.0.0.7 still comes from 127.0.0.1, so "a browser on 127.0.0.7"
is a browser (or ipptool) talking to a relay whose outgoing socket is bound to 127.0.0.7:
printgate then sees that peer address, as it would a phone's.

ipptool speaks with libcups' User-Agent ("CUPS/..."), which printgate takes for a CUPS
spooler and answers with CUPS' own account statuses, so that cupsd holds the job on its side
(tests/test_cups_credentials.py). A phone's print service is no spooler: a relay given
`user_agent` puts that in place of the client's, as a phone would have sent it."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.accounting.lists import Lists
from gateway.accounting.rates import Rates
from gateway.runtime.passwords import hash_password
from gateway.store.audit import Actor
from gateway.store.store import Store

LINES = ("mono_lines", "color_lines", "low_density", "high_density")
RATES = {
    "settings": {"currency": "EUR", "tax_rate": "21", "units": "metric"},
    "models": {
        "*": {
            "cost": {"lines": {n: {"area_printed": "2.00"} for n in LINES}, "service": "0.10"},
            "price": {"lines": {n: {"area_printed": "40"} for n in LINES}, "service": "0.25"},
        }
    },
}
PROJECT_PASSWORD = "p146-secret"
ALICE_PASSWORD = "wonderland"


@dataclass(frozen=True)
class Relay:
    port: int
    source: str

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ipp(self, queue: str) -> str:
        return f"ipp://127.0.0.1:{self.port}/ipp/print/{queue}"


USER_AGENT = re.compile(rb"\r\nUser-Agent: [^\r\n]*\r\n", re.IGNORECASE)
PHONE_AGENT = "Pixel 7 Android/14 print service"


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, user_agent: str = ""
) -> None:
    try:
        while chunk := await reader.read(1 << 16):
            if user_agent:
                chunk = USER_AGENT.sub(f"\r\nUser-Agent: {user_agent}\r\n".encode(), chunk, 1)
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@asynccontextmanager
async def relay(target_port: int, source: str, user_agent: str = "") -> AsyncIterator[Relay]:
    """Listen on a free 127.0.0.1 port; relay each connection to 127.0.0.1:target_port from
    the address `source` (and with this User-Agent, when given)."""
    pipes: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(
            "127.0.0.1", target_port, local_addr=(source, 0)
        )
        for task in (
            asyncio.create_task(_pipe(reader, up_writer, user_agent), name="relay-up"),
            asyncio.create_task(_pipe(up_reader, writer), name="relay-down"),
        ):
            pipes.add(task)
            task.add_done_callback(pipes.discard)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Relay(port, source)
    finally:
        server.close()
        for task in list(pipes):
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        await server.wait_closed()


def phones_queue(printer: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "phones",
        "printers": [printer],
        "auth": "list",
        "require": ["project", "department"],
        "allow_billable": True,
        "allow_comment": True,
        "info": "Phones and tablets",
        **extra,
    }


async def fill_lists(store: Store, queue: str = "phones", *, with_password: bool = False) -> None:
    """alice (and bob) in the queue's list, Project146 with its password, Engineering; the
    rate tables for any printer model."""
    lists = Lists(store)
    actor = Actor.cli()
    for user in ("alice", "bob"):
        password = hash_password(ALICE_PASSWORD) if with_password else None
        await lists.add("user", queue, user, password, actor=actor)
    await lists.add("project", queue, "Project146", hash_password(PROJECT_PASSWORD), actor=actor)
    await lists.add("department", queue, "Engineering", actor=actor)
    await Rates(store).load(RATES, replace=True, actor=actor)


def money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))} EUR"
