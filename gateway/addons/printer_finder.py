"""The console's "Add printers": what DNS-SD (_ipp._tcp, _ipps._tcp) and, where networks are
configured, an SNMP scan find, minus printgate's own queues (recognised by their printer-uuid
in the TXT record, or by their resource path on one of this machine's addresses and ports),
each marked with the name of the printer printgate already has at that address."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..config import Config, split_address
from ..printers.state import Printer
from ..server.queue_attrs import QueueView
from ..server.queues_live import Found
from ..snmp import discovery
from ..snmp.client import Credentials, SnmpClient
from . import dnssd

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def suggested_name(text: str) -> str:
    """A printer name the config's rules accept, from an advertised instance name."""
    name = _UNSAFE.sub("-", text).strip("-._")[:100]
    return name or "printer"


def _local_addresses() -> set[str]:
    import ifaddr

    return {
        str(ip.ip if isinstance(ip.ip, str) else ip.ip[0])
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
    }


def _ours(found: dnssd.Found, config: Config, queues: Mapping[str, QueueView]) -> bool:
    uuids = {view.uuid.removeprefix("urn:uuid:") for view in queues.values()}
    if found.txt.get("UUID") in uuids:
        return True
    ports = {split_address(a)[1] for a in (*config.server.listen, *config.server.tls_listen)}
    path = found.txt.get("rp", "")
    return (
        found.port in ports
        and path.startswith("ipp/print/")
        and bool(set(found.addresses) & _local_addresses())
    )


def _address(uri: str) -> tuple[str, int | None]:
    parts = urlsplit(uri)
    try:
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", None


def _added_as(uri: str, printers: Mapping[str, Printer]) -> str:
    host, port = _address(uri)
    for name, printer in printers.items():
        if printer.config.uri == uri or (host and _address(printer.config.uri) == (host, port)):
            return name
    return ""


async def _browse(seconds: float) -> list[dnssd.Found]:
    try:
        return await dnssd.browse(seconds)
    except OSError as exc:  # no multicast here: SNMP may still find some
        log.warning("DNS-SD browsing failed: %s", exc)
        return []


async def _scan(config: Config, snmp: SnmpClient | None) -> list[discovery.Found]:
    settings = config.snmp
    if snmp is None or not settings.networks:
        return []
    return await discovery.scan(
        snmp,
        list(settings.networks),
        settings.port,
        Credentials(version=settings.version, community=settings.community),
        settings.discover_timeout,
        settings.discover_concurrency,
    )


async def find(
    config: Config,
    queues: Mapping[str, QueueView],
    printers: Mapping[str, Printer],
    snmp: SnmpClient | None,
    seconds: float = 3.0,
) -> list[Found]:
    """DNS-SD answers within `seconds`, and an SNMP scan of [snmp] networks alongside."""
    advertised, devices = await asyncio.gather(_browse(seconds), _scan(config, snmp))
    found = [
        Found(
            suggested_name(item.name),
            item.uri,
            "dns-sd",
            model=item.txt.get("ty", ""),
            added_as=_added_as(item.uri, printers),
        )
        for item in advertised
        if not _ours(item, config, queues)
    ]
    for device in devices:
        if device.is_printer:
            uri = f"ipp://{device.host}/ipp/print"
            found.append(
                Found(
                    suggested_name(device.host),
                    uri,
                    "snmp",
                    model=device.sys_descr[:255],
                    snmp_community=config.snmp.community,
                    added_as=_added_as(uri, printers),
                )
            )
    return sorted(found, key=lambda f: (f.added_as != "", f.name.lower(), f.uri))
