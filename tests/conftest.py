"""Fixtures that run real peers (the package tests/peers/) on loopback, one set per test.

Each fixture starts its program on a free port in a directory of its own and stops it by PID
at teardown, so tests run side by side under pytest-xdist. A missing program is an error
naming its Debian package, never a skip. When a test fails, the peers' logs are printed in
its teardown section.

The database: PRINTGATE_TEST_DB=sqlite (the default) or postgresql. With postgresql every
printgate the factory starts, and every in-process store opened on `database_url`, gets a
fresh database of its own on the machine's PostgreSQL (tests/pg.py), dropped at teardown; a
server that does not answer stops the run at once with a message, never a skip. The `store`
fixture is such an in-process store, closed at teardown whatever the test did. Tests marked
`postgresql` are about PostgreSQL alone (several gateways on one database): they run in the
PostgreSQL pass and are deselected, and counted as such, in the SQLite pass.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.store.store import Store
from gateway.tasks import TaskKeeper
from tests import pg
from tests.peers import (
    Cupsd,
    IppEvePrinter,
    PeerError,
    Printgate,
    ensure_dns_sd,
    make_pdf,
)

LOG_TAIL = 80
DATABASES = ("sqlite", "postgresql")
TEST_DB = os.environ.get("PRINTGATE_TEST_DB", "").strip().lower() or "sqlite"
ON_POSTGRESQL = TEST_DB == "postgresql"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "postgresql: needs PostgreSQL; runs only with PRINTGATE_TEST_DB=postgresql, deselected"
        " otherwise",
    )
    config.addinivalue_line(
        "markers",
        "no_database: touches no database, so the PostgreSQL pass leaves it to the SQLite one",
    )
    if TEST_DB not in DATABASES:
        raise pytest.UsageError(
            f"PRINTGATE_TEST_DB={TEST_DB!r}: expected one of {', '.join(DATABASES)}"
        )
    if ON_POSTGRESQL and not hasattr(config, "workerinput"):  # once, in the controller
        try:
            pg.check_server()
        except PeerError as exc:
            raise pytest.UsageError(str(exc)) from None
        pg.drop_leftovers()


# PostgreSQL-only tests left out of this (SQLite) run; under xdist the workers deselect, and
# send their lists to the controller, which says so in its summary (xdist does not).
_postgresql_only: set[str] = set()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ON_POSTGRESQL:
        # Tests that do not use the test database, and browser tests, run in the SQLite
        # pass only (see _runs_once).
        once = [item for item in items if _runs_once(item)]
        if once:
            config.hook.pytest_deselected(items=once)
            items[:] = [item for item in items if not _runs_once(item)]
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
        _postgresql_only.update(item.nodeid for item in deselected)
    if hasattr(config, "workeroutput"):
        config.workeroutput["postgresql_only"] = sorted(_postgresql_only)


def _runs_once(item: pytest.Item) -> bool:
    """Whether the PostgreSQL pass leaves this test to the SQLite one: it does not use the
    test database (`database_factory`, directly or through database_url, store,
    printgate_factory...), so a second pass would run the very same thing; or it drives a
    browser (the store code under the console is tested on both databases over HTTP)."""
    if item.get_closest_marker("postgresql") is not None:
        return False
    fixtures = getattr(item, "fixturenames", ())
    browser = "console_factory" in fixtures
    uses_database = "database_factory" in fixtures
    return browser or not uses_database or item.get_closest_marker("no_database") is not None


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    _postgresql_only.update(getattr(node, "workeroutput", {}).get("postgresql_only", ()))


def pytest_report_header(config: pytest.Config) -> str:
    return _database_line()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        terminalreporter.write_line(_database_line())


def _database_line() -> str:
    if ON_POSTGRESQL:
        return f"printgate test database: postgresql ({pg.ADMIN_DSN}, a fresh database per store)"
    count = len(_postgresql_only)
    left_out = (
        f"; {count} PostgreSQL-only test{'s' * (count != 1)} deselected (marker postgresql;"
        " run with PRINTGATE_TEST_DB=postgresql)"
        if count
        else ""
    )
    return f"printgate test database: sqlite{left_out}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keep each phase's report on the item so fixtures can tell, at teardown, that it failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


def _show(title: str, text: str) -> None:
    lines = text.splitlines()[-LOG_TAIL:]
    print(f"\n===== {title} (last {len(lines)} lines) =====\n" + "\n".join(lines))


@pytest.fixture(scope="session")
def dns_sd() -> None:
    """System D-Bus and avahi-daemon running (ippeveprinter needs them)."""
    ensure_dns_sd()


@pytest.fixture
def ippeveprinter_factory(
    tmp_path: Path, dns_sd: None, request: pytest.FixtureRequest
) -> Iterator[Callable[..., IppEvePrinter]]:
    """`make(name="eve", **IppEvePrinter kwargs)` -> a started printer; all stopped at teardown."""
    printers: list[IppEvePrinter] = []

    def make(name: str = "eve", **kwargs: Any) -> IppEvePrinter:
        kwargs.setdefault("base_dir", tmp_path / f"ippeve-{name}-{len(printers)}")
        printer = IppEvePrinter(name, **kwargs)
        printers.append(printer)
        return printer.start()

    yield make
    failed = _failed(request)
    for printer in printers:
        printer.stop()
        if failed:
            _show(f"ippeveprinter {printer.name} at {printer.uri}", printer.log())


@pytest.fixture
def ippeveprinter(ippeveprinter_factory: Callable[..., IppEvePrinter]) -> IppEvePrinter:
    """A running ippeveprinter (PDF, JPEG, PWG and Apple raster) keeping what it receives."""
    return ippeveprinter_factory("eve")


@pytest.fixture
def cupsd(request: pytest.FixtureRequest) -> Iterator[Cupsd]:
    """A private, running cupsd with no queues (add them with cupsd.add_queue)."""
    server = Cupsd().start()
    try:
        yield server
    finally:
        server.stop()
        if _failed(request):
            _show(f"cupsd error_log ({server.root})", server.error_log())
        server.close()


@pytest.fixture
def tmp_pdf(tmp_path: Path) -> Path:
    """A one-page A4 PDF."""
    return make_pdf(tmp_path / "test.pdf", pages=1)


@pytest.fixture
def database_factory(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """`make()` -> the URL of a new, empty database of the selected kind (PRINTGATE_TEST_DB);
    PostgreSQL ones are dropped at teardown, after everything that used them has stopped."""
    databases: list[pg.PostgresDatabase] = []
    sqlite_files: list[Path] = []

    def make() -> str:
        if not ON_POSTGRESQL:
            sqlite_files.append(tmp_path / f"db-{len(sqlite_files)}.sqlite")
            return f"sqlite+aiosqlite:///{sqlite_files[-1]}"
        databases.append(pg.PostgresDatabase().create())
        return databases[-1].url

    yield make
    for database in databases:
        database.drop()


@pytest.fixture
def database_url(database_factory: Callable[[], str]) -> str:
    """A new, empty database for an in-process Store: SQLite file or PostgreSQL database."""
    return database_factory()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """An in-process Store on `database_url` (migrated), closed at teardown, and its writer
    task with it, even when the test fails half-way."""
    tasks = TaskKeeper()
    opened = await Store.open(database_url, tasks)
    try:
        yield opened
    finally:
        await opened.close()
        await tasks.cancel_all()


@pytest.fixture
def printgate_factory(
    tmp_path: Path, request: pytest.FixtureRequest, database_factory: Callable[[], str]
) -> Iterator[Callable[..., Printgate]]:
    """`make(config, data_dir=None, start=True, **Printgate kwargs)` -> printgate serving the
    config dict (server.listen and server.data_dir are filled in when absent; with
    PRINTGATE_TEST_DB=postgresql so is database.url, a database of its own); every instance
    is stopped at teardown, and one that ignores SIGTERM fails the test."""
    gateways: list[Printgate] = []

    def make(
        config: dict[str, Any], data_dir: Path | None = None, start: bool = True, **kwargs: Any
    ) -> Printgate:
        data_dir = data_dir or tmp_path / f"printgate-{len(gateways)}"
        if ON_POSTGRESQL and "url" not in config.get("database", {}):
            config = {**config, "database": {**config.get("database", {})}}
            config["database"]["url"] = database_factory()
        gateway = Printgate(config, data_dir, **kwargs)
        gateways.append(gateway)
        return gateway.start() if start else gateway

    yield make
    failed = _failed(request)
    errors: list[str] = []
    for gateway in gateways:
        try:
            gateway.stop()
        except PeerError as exc:
            errors.append(str(exc))
        if failed or errors:
            _show(f"printgate at {gateway.base_url}", gateway.log())
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture
def printgate(
    printgate_factory: Callable[..., Printgate], ippeveprinter: IppEvePrinter
) -> Printgate:
    """printgate with one queue, "office" (auth none), in front of the `ippeveprinter`."""
    return printgate_factory(
        {
            "printers": [{"name": "eve", "uri": ippeveprinter.uri}],
            "queues": [{"name": "office", "printers": ["eve"], "auth": "none"}],
        }
    )


# --- SNMP and mail peers (tests/snmp_peers.py) --------------------------------------------


@pytest.fixture
def snmpsim_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """`make(snmprec, host="127.0.0.1", port=0)` -> a started snmpsim serving that recording; all
    stopped at teardown (their logs shown when the test failed)."""
    from tests.snmp_peers import SnmpSim

    sims: list[SnmpSim] = []

    def make(snmprec: str, host: str = "127.0.0.1", port: int = 0) -> SnmpSim:
        sim = SnmpSim(tmp_path / f"snmpsim-{len(sims)}", snmprec, host=host, port=port)
        sims.append(sim)
        return sim.start()

    yield make
    failed = _failed(request)
    for sim in sims:
        sim.stop()
        if failed:
            _show(f"snmpsim at {sim.address}", sim.log())


@pytest.fixture
def smtp_sink() -> Iterator[Any]:
    """A running aiosmtpd that keeps every message it receives."""
    from tests.snmp_peers import SmtpSink

    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


# --- the console in a browser (tests/browser.py) ------------------------------------------


@pytest.fixture
async def console_factory(
    tmp_path: Path, database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Any]:
    """`await console_factory.start(**toml_tables)` -> a Console: an in-process printgate and
    a chromium to open its console with (screenshots kept under test-artifacts/)."""
    from tests.browser import console_factory as factory

    async for made in factory(tmp_path, database_url, request.node.name):
        yield made


@pytest.fixture
async def console(console_factory: Any) -> Any:
    """A Console on the default tables: one queue `demo` on a virtual printer."""
    return await console_factory.start()
