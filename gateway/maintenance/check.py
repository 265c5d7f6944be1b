"""printgate check [PRINTER]: one line per check, and whether all passed.

Versions, the config, the store (reachable, schema current), the directory, each printer over
IPP (Get-Printer-Attributes) and SNMP, and each queue's DNS-SD advert as a client on this
network would see it. Works with printgate stopped as well as running (the DNS-SD check then
fails, which is what a user would see too).
"""

from __future__ import annotations

import asyncio
import platform
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import __version__
from ..addons.dnssd import Found, browse
from ..config import Config, PrinterConfig, split_address
from ..identity.ldap import LdapDirectory
from ..printers.backend import PrinterRefused
from ..printers.ipp import IppPrinter
from ..printers.ipp_client import IppClient, PrinterUnreachable
from ..printers.virtual import FilePrinter
from ..snmp.client import SnmpClient, SnmpError
from ..snmp.monitor import printer_target
from ..snmp.poller import read_device
from ..store.db import create_engine, missing_data
from .backup import schema_revision
from .restore import head_revision

TIMEOUT = 10.0
BROWSE_SECONDS = 3.0
LIBRARIES = ("aiohttp", "sqlalchemy", "zeroconf", "cryptography")


@dataclass(frozen=True)
class Result:
    ok: bool
    name: str
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def versions() -> Result:
    parts = [f"printgate {__version__}", f"Python {platform.python_version()}"]
    for library in LIBRARIES:
        try:
            parts.append(f"{library} {version(library)}")
        except PackageNotFoundError:
            parts.append(f"{library} missing")
    return Result(all("missing" not in p for p in parts), "versions", ", ".join(parts))


async def store(config: Config) -> Result:
    missing = missing_data(config)  # connecting would create an empty SQLite store
    if missing is not None:
        return Result(False, "store", missing)
    engine = create_engine(config.database_url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        async with asyncio.timeout(TIMEOUT), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            schema = await connection.run_sync(schema_revision)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        return Result(False, "store", f"{shown} unreachable: {exc}".splitlines()[0])
    finally:
        await engine.dispose()
    head = head_revision()
    if schema != head:
        return Result(False, "store", f"{shown}: schema {schema or 'empty'}, expected {head}")
    return Result(True, "store", f"{shown}, schema {schema}")


async def directory(config: Config) -> Result:
    if config.directory is None:
        return Result(True, "directory", "none configured")
    ldap = LdapDirectory(config.directory)
    try:
        ok, detail = await ldap.test_connection()
    finally:
        ldap.close()
    return Result(ok, "directory", detail)


async def printer_ipp(printer: PrinterConfig, client: IppClient) -> Result:
    name = f"printer {printer.name} ipp"
    backend = FilePrinter(printer.uri) if printer.uri.startswith("file:") else None
    try:
        async with asyncio.timeout(TIMEOUT):
            if backend is not None:
                attributes = await backend.fetch_attributes()
            else:
                attributes = await IppPrinter(printer.uri, client).fetch_attributes()
    except (PrinterUnreachable, PrinterRefused, OSError, TimeoutError) as exc:
        return Result(False, name, f"{printer.uri}: {exc or 'no answer'}")
    model = attributes.get("printer-make-and-model")
    state = attributes.get("printer-state")
    states = {3: "idle", 4: "processing", 5: "stopped"}
    shown = [model.text() or "" if model else "answers"]
    if state is not None:
        shown.append(states.get(state.integer() or 0, "unknown state"))
    return Result(True, name, f"{printer.uri}: {', '.join(shown)}")


async def printer_snmp(printer: PrinterConfig) -> Result:
    """One read of the printer's agent with its configured credentials (v1, v2c or v3): is it
    there, and does it take them?"""
    name = f"printer {printer.name} snmp"
    if printer.snmp is None:
        return Result(True, name, "not configured")
    if not urllib.parse.urlsplit(printer.uri).hostname and not printer.snmp.host:
        return Result(True, name, "no network address (virtual printer)")
    target = printer_target(printer.uri, printer.snmp)
    client = SnmpClient(TIMEOUT / 2, 1)
    try:
        reading = await read_device(client, target)
    except (SnmpError, OSError) as exc:
        return Result(False, name, f"{target.host}:{target.port}: {exc}")
    finally:
        client.close()
    return Result(True, name, f"{target.host}:{target.port}: {reading.sys_descr or 'answers'}")


async def dns_sd(config: Config, client: IppClient) -> list[Result]:
    """Each queue's advert as a client sees it: found by browsing, then asked over IPP at the
    addresses it gives; an advert nothing answers at fails (a listener on loopback only, say,
    advertised on the network)."""
    if not config.dns_sd.advertise:
        return [Result(True, "dns-sd", "advertising is off ([dns_sd] advertise = false)")]
    seen = await browse(BROWSE_SECONDS)
    ports = {split_address(a)[1] for a in config.server.listen}
    results = []
    for queue in config.queues:
        name = f"dns-sd {queue.name}"
        path = f"ipp/print/{queue.name}"
        hits = [f for f in seen if f.txt.get("rp") == path and f.port in ports]
        if not hits:
            results.append(Result(False, name, "not advertised (is printgate running?)"))
            continue
        answered = await _answering(hits, path, client)
        if answered:
            results.append(Result(True, name, f"{hits[0].name!r} at {hits[0].uri}: {answered}"))
        else:
            tried = ", ".join(sorted({a for f in hits for a in f.addresses or (f.host,)}))
            results.append(
                Result(False, name, f"advertised at {tried} port {hits[0].port}, nothing answers")
            )
    return results


async def _answering(hits: list[Found], path: str, client: IppClient) -> str:
    """The first advertised address where the queue answers Get-Printer-Attributes, or ""."""
    for hit in hits:
        for address in hit.addresses or (hit.host,):
            host = f"[{address}]" if ":" in address else address
            uri = f"ipp://{host}:{hit.port}/{path}"
            try:
                async with asyncio.timeout(TIMEOUT / 2):
                    await IppPrinter(uri, client).fetch_attributes()
            except (PrinterUnreachable, PrinterRefused, OSError, TimeoutError):
                continue
            return f"answers at {uri}"
    return ""


async def run_checks(config: Config, only: str | None = None) -> list[Result]:
    results = [versions(), Result(True, "config", f"{config.source}: valid")]
    steps: list[Callable[[], Awaitable[Result | list[Result]]]] = [
        lambda: store(config),
        lambda: directory(config),
    ]
    client = IppClient()
    try:
        for printer in config.printers:
            if only is None or printer.name == only:
                steps.append(lambda p=printer: printer_ipp(p, client))  # type: ignore[misc]
                steps.append(lambda p=printer: printer_snmp(p))  # type: ignore[misc]
        if only is None:
            steps.append(lambda: dns_sd(config, client))
        outcomes = await asyncio.gather(*(step() for step in steps))
    finally:
        await client.close()
    for outcome in outcomes:
        results += outcome if isinstance(outcome, list) else [outcome]
    return results
