"""Finding printers: every address of a CIDR network is asked, in one GETNEXT, for sysDescr,
the first hrDeviceType and whatever follows the Printer MIB's root. A device that answers with
hrDeviceType printer or with anything under the Printer MIB is a printer."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from . import oids, reading
from .client import Credentials, SnmpClient, SnmpError, Target
from .poller import bounded

# A /16 is 65,534 probes: a typo in a prefix length must not flood a network.
MAX_ADDRESSES = 4096


@dataclass(frozen=True)
class Found:
    address: str
    host: str
    port: int
    sys_descr: str
    sys_object_id: str
    is_printer: bool


def hosts(cidr: str) -> list[str]:
    """The host addresses of a network (a single address is a network of one)."""
    network = ipaddress.ip_network(cidr, strict=False)
    if network.num_addresses > MAX_ADDRESSES:
        raise ValueError(f"{cidr}: more than {MAX_ADDRESSES} addresses; scan smaller segments")
    if network.num_addresses <= 2:
        return [str(a) for a in network]
    return [str(a) for a in network.hosts()]


async def probe(client: SnmpClient, target: Target, wait: float) -> Found | None:
    try:
        answers = await client.next(
            target,
            (oids.SYS_DESCR, oids.SYS_OBJECT_ID, oids.HR_DEVICE_TYPE, oids.PRINTER_MIB),
            wait,
        )
    except SnmpError:
        return None
    values: dict[oids.Oid, reading.Value] = {}
    for asked, (oid, value) in zip(
        (oids.SYS_DESCR, oids.SYS_OBJECT_ID, oids.HR_DEVICE_TYPE, oids.PRINTER_MIB),
        answers,
        strict=False,
    ):
        if value is not None and oid[: len(asked)] == asked:
            values[oid] = value
    if not values:
        return None
    return Found(
        address=target.address,
        host=target.host,
        port=target.port,
        sys_descr=reading.text(reading.first(values, oids.SYS_DESCR)),
        sys_object_id=reading.text(reading.first(values, oids.SYS_OBJECT_ID)),
        is_printer=reading.is_printer(values),
    )


async def scan(
    client: SnmpClient,
    cidrs: list[str],
    port: int,
    credentials: Credentials,
    wait: float,
    concurrency: int,
) -> list[Found]:
    """Every device of the networks that answers SNMP, printers or not, in address order."""
    targets = [Target(h, port, credentials) for cidr in cidrs for h in hosts(cidr)]
    found: list[Found] = []

    async def one(target: Target) -> None:
        answer = await probe(client, target, wait)
        if answer is not None:
            found.append(answer)

    await bounded(targets, concurrency, one)
    return sorted(found, key=lambda f: (ipaddress.ip_address(f.host), f.port))
