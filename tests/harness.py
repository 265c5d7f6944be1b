"""A whole printgate in the test's own process and event loop: built from a config like
`printgate serve`, serving IPP on a free loopback port, with the job manager, dispatcher and
addons at hand, for tests that need no subprocess (no start-up wait, no signals, and every
object can be looked at). Peers it forwards to are still real."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.config import Config, load
from gateway.server.operations import Gateway
from gateway.service import Service
from tests.peers import free_port, toml_dumps


@dataclass
class InProcess:
    service: Service
    gateway: Gateway
    config: Config
    port: int

    def queue_uri(self, queue: str) -> str:
        return f"ipp://127.0.0.1:{self.port}/ipp/print/{queue}"


@asynccontextmanager
async def in_process(
    tmp_path: Path, database_url: str, **sections: Any
) -> AsyncIterator[InProcess]:
    """printgate serving the config made of `sections` (TOML tables as dicts) on top of a
    loopback listener, a data directory under tmp_path, the given database and no DNS-SD."""
    port = free_port()
    server = {
        "listen": [f"127.0.0.1:{port}"],
        "data_dir": str(tmp_path / "printgate-data"),
        "shutdown_timeout": 10,
        **sections.pop("server", {}),
    }
    tables = {
        "server": server,
        "database": {"url": database_url},
        "dns_sd": {"advertise": False},
        **sections,
    }
    path = tmp_path / "printgate.toml"
    path.write_text(toml_dumps(tables))
    config = load(str(path))
    service = Service(config)
    async with service.running() as gateway:
        yield InProcess(service, gateway, config, port)


def create_store(database_url: str) -> None:
    """Create (and migrate) the store at this URL, as `printgate serve` does on its first
    start: other commands refuse a SQLite store that does not exist."""
    import asyncio

    from gateway.store.store import Store
    from gateway.tasks import TaskKeeper

    async def create() -> None:
        tasks = TaskKeeper()
        store = await Store.open(database_url, tasks)
        await store.close()
        await tasks.cancel_all()

    asyncio.run(create())
