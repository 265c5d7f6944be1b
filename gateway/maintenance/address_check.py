"""`printgate check` aimed at a printer address typed in the console, before it is added: the
same steps (versions, the store, the directory, the printer over IPP and over SNMP) with
check.py's own functions, for a printer that is not in the config yet.

Only network printers: the address is an ipp:// or ipps:// URI or a host[:port] (its IPP
Everywhere path is assumed), never a file:// path, so the console cannot be made to read
files on the server."""

from __future__ import annotations

import asyncio
import re
import urllib.parse

from ..config import Config, PrinterConfig, SnmpAccess
from ..printers.ipp_client import IppClient
from .check import Result, directory, printer_ipp, printer_snmp, store, versions

SCHEMES = ("ipp", "ipps")
_HOST = re.compile(r"^[A-Za-z0-9._\-]+$|^\[[0-9A-Fa-f:.]+\]$")
CHECK_NAME = "checked"


class AddressError(ValueError):
    """Not an address the check may use; the message is for a person."""


def printer_uri(address: str) -> str:
    """ipp://host[:port]/ipp/print for a bare host, the URI itself for an ipp(s):// one."""
    address = address.strip()
    if not address or len(address) > 1000 or not address.isprintable():
        raise AddressError("enter a printer's address: a host name, an IP address or an ipp:// URI")
    if "://" not in address:
        address = f"ipp://{address}/ipp/print"
    parts = urllib.parse.urlsplit(address)
    if parts.scheme not in SCHEMES:
        raise AddressError("only ipp:// and ipps:// addresses are checked")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise AddressError(f"the port is not a number: {exc}") from exc
    if not host or not _HOST.match(f"[{host}]" if ":" in host else host):
        raise AddressError("the address has no valid host")
    if parts.username or parts.password:
        raise AddressError("leave credentials out of the address")
    path = parts.path or "/ipp/print"
    shown_host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown_host}{f':{port}' if port else ''}{path}"


async def check_address(
    config: Config, address: str, community: str = "", snmp_port: int = 161
) -> list[Result]:
    """Each check's result, in `printgate check`'s order. SNMP is read only when a community
    is given (v2c)."""
    uri = printer_uri(address)
    access = SnmpAccess(community=community, port=snmp_port) if community else None
    printer = PrinterConfig(CHECK_NAME, uri, snmp=access)
    client = IppClient(connect_timeout=5.0, read_timeout=10.0)
    try:
        outcomes = await asyncio.gather(
            store(config), directory(config), printer_ipp(printer, client), printer_snmp(printer)
        )
    finally:
        await client.close()
    return [versions(), Result(True, "config", f"{config.source}: valid"), *outcomes]
