"""Fixtures that run real peers (tests/peers.py) on loopback, one set per test.

Each fixture starts its program on a free port in a directory of its own and stops it by PID
at teardown, so tests run side by side under pytest-xdist. A missing program is an error
naming its Debian package, never a skip. When a test fails, the peers' logs are printed in
its teardown section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers import (
    Cupsd,
    IppEvePrinter,
    PeerError,
    Printgate,
    ensure_dns_sd,
    make_pdf,
)

LOG_TAIL = 80


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
def printgate_factory(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Printgate]]:
    """`make(config, data_dir=None, start=True, **Printgate kwargs)` -> printgate serving the
    config dict (server.listen and server.data_dir are filled in when absent); every instance
    is stopped at teardown, and one that ignores SIGTERM fails the test."""
    gateways: list[Printgate] = []

    def make(
        config: dict[str, Any], data_dir: Path | None = None, start: bool = True, **kwargs: Any
    ) -> Printgate:
        data_dir = data_dir or tmp_path / f"printgate-{len(gateways)}"
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
