"""SNMP requests: v1 and v2c through a BER codec (ber.py) and one UDP socket (udp.py), v3
through one pysnmp engine (v3.py, loaded on first use).

One socket, and one engine, serve every request: one per device would cost a socket and its
own state each. Tables are walked many columns at a time, one GETBULK (GETNEXT for v1) per
round, so a whole printer is read in two round trips.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import ber
from .oids import Oid
from .reading import Value

# Re-exported: the rest of the package and its users import these from here.
from .types import Credentials as Credentials
from .types import SnmpError as SnmpError
from .types import SnmpTimeout as SnmpTimeout
from .types import Target as Target
from .udp import Timeout, UdpManager

if TYPE_CHECKING:
    from .v3 import V3Engine

VERSIONS = ("1", "2c", "3")
# Large enough for a printer's supplies and alerts in one or two rounds, small enough that the
# answer fits one unfragmented datagram on most agents.
MAX_REPETITIONS = 12
MAX_ROUNDS = 40  # a broken agent that never ends a column must not keep us forever
# Variables per GET: agents commonly answer up to 64 (snmpsim's limit) before tooBig.
MAX_VARBINDS = 60


def split_host_port(text: str, default_port: int = 161) -> tuple[str, int]:
    """HOST, HOST:PORT, [V6]:PORT -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return text, default_port


class SnmpClient:
    def __init__(self, timeout: float = 2.0, retries: int = 1):
        self.timeout = timeout
        self.retries = retries
        self.udp = UdpManager()  # SNMPv1 / v2c: our socket and codec
        self._v3: Any = None  # SNMPv3: pysnmp's engine, made on first use

    def close(self) -> None:
        self.udp.close()
        if self._v3 is not None:
            self._v3.close()

    @property
    def v3(self) -> V3Engine:
        if self._v3 is None:
            from .v3 import V3Engine  # pysnmp: loaded only when a device speaks SNMPv3

            self._v3 = V3Engine()
        engine: V3Engine = self._v3
        return engine

    async def _transport(self, target: Target, wait: float | None) -> Any:
        """Where and how long to ask: for v1/v2c an _Endpoint for our own socket, for v3
        pysnmp's transport target."""
        timeout = self.timeout if wait is None else wait
        if target.credentials.version != "3":
            return _Endpoint(await _resolve(target), timeout)
        return await self.v3.transport(target, timeout, self.retries)

    async def _request(
        self,
        target: Target,
        transport: Any,
        kind: str,
        asked: Sequence[Oid],
        non_repeaters: int = 0,
        max_repetitions: int = 0,
    ) -> tuple[int, int, list[tuple[Oid, Value | None]]]:
        """One GET, GETNEXT or GETBULK: (error status, error index, varbinds).

        v1/v2c go through the BER codec and our socket; v3 through pysnmp's engine, below its
        high-level API, which would resolve every OID through its MIB tree (most of the CPU of
        a poll): the OIDs here are numeric already."""
        if isinstance(transport, _Endpoint):
            return await self._community_request(
                target, transport, kind, asked, non_repeaters, max_repetitions
            )
        return await self.v3.request(target, transport, kind, asked, non_repeaters, max_repetitions)

    async def _community_request(
        self,
        target: Target,
        endpoint: _Endpoint,
        kind: str,
        asked: Sequence[Oid],
        non_repeaters: int,
        max_repetitions: int,
    ) -> tuple[int, int, list[tuple[Oid, Value | None]]]:
        request_id = self.udp.next_id()
        pdu = {"get": ber.GET, "next": ber.GETNEXT, "bulk": ber.GETBULK}[kind]
        message = ber.encode_request(
            target.credentials.version,
            target.credentials.community,
            pdu,
            request_id,
            list(asked),
            non_repeaters,
            max_repetitions,
        )
        try:
            response = await self.udp.request(
                endpoint.address, request_id, message, endpoint.timeout, self.retries
            )
        except Timeout as exc:
            raise SnmpTimeout(f"{target.address}: no answer") from exc
        status, index = response.error_status, response.error_index
        if status and status != 2:  # noSuchName is the caller's to handle (SNMPv1)
            raise SnmpError(f"{target.address}: error status {status} at {index}")
        return status, index, response.varbinds

    async def get(
        self, target: Target, wanted: Sequence[Oid], wait: float | None = None
    ) -> dict[Oid, Value]:
        """The values of these instances; ones the device does not have are left out. Asked
        in PDUs of at most MAX_VARBINDS, all at once."""
        if not wanted:
            return {}
        transport = await self._transport(target, wait)
        chunks = [wanted[i : i + MAX_VARBINDS] for i in range(0, len(wanted), MAX_VARBINDS)]
        found: dict[Oid, Value] = {}
        for answer in await asyncio.gather(*(self._get(target, transport, c) for c in chunks)):
            found.update(answer)
        return found

    async def _get(self, target: Target, transport: Any, wanted: Sequence[Oid]) -> dict[Oid, Value]:
        left = list(wanted)
        while left:
            status, index, binds = await self._request(target, transport, "get", left)
            if status == 2 and 0 < index <= len(left):  # v1: drop the missing one, ask again
                left.pop(index - 1)
                continue
            return {oid: value for oid, value in binds if value is not None}
        return {}

    async def walk(
        self,
        target: Target,
        columns: Iterable[Oid],
        scalars: Sequence[Oid] = (),
        wait: float | None = None,
        repetitions: int = MAX_REPETITIONS,
    ) -> dict[Oid, Value]:
        """Walk the columns together, and GETNEXT each scalar prefix once (`sysDescr` gives
        sysDescr.0). Only values inside what was asked for are returned."""
        transport = await self._transport(target, wait)
        found: dict[Oid, Value] = {}
        pending = {c: c for c in columns}  # column -> last OID seen in it
        first_round = True
        for _ in range(MAX_ROUNDS):
            asked = list(scalars) if first_round else []
            walking = list(pending)
            if not asked and not walking:
                break
            varbinds = await self._next(
                target,
                transport,
                [*asked, *(pending[c] for c in walking)],
                len(asked),
                repetitions,
            )
            for (oid, value), prefix in zip(varbinds, asked, strict=False):
                if value is not None and oid[: len(prefix)] == prefix:
                    found[oid] = value
            rows = varbinds[len(asked) :]
            ended = set()
            width = len(walking)
            for position, (oid, value) in enumerate(rows):
                base = walking[position % width] if width else ()
                if base in ended:
                    continue
                if value is None or oid[: len(base)] != base or oid <= pending[base]:
                    ended.add(base)
                    continue
                found[oid] = value
                pending[base] = oid
            if not rows:
                ended.update(walking)  # nothing came back for the columns: stop, not loop
            # An answer the agent cut short (to stay under its message size) leaves the
            # columns it did not reach pending: they are asked again from where they were.
            for base in ended:
                pending.pop(base, None)
            first_round = False
        return found

    async def next(
        self, target: Target, asked: Sequence[Oid], wait: float | None = None
    ) -> list[tuple[Oid, Value | None]]:
        """One GETNEXT of each OID, in one request: what follows each."""
        transport = await self._transport(target, wait)
        return await self._next_v1(target, transport, list(asked))

    async def _next(
        self,
        target: Target,
        transport: Any,
        asked: list[Oid],
        non_repeaters: int,
        repetitions: int,
    ) -> list[tuple[Oid, Value | None]]:
        if target.credentials.version == "1":
            return await self._next_v1(target, transport, asked)
        _status, _index, binds = await self._request(
            target, transport, "bulk", asked, non_repeaters, repetitions
        )
        return binds

    async def _next_v1(
        self, target: Target, transport: Any, asked: list[Oid]
    ) -> list[tuple[Oid, Value | None]]:
        """GETNEXT. SNMPv1 answers a whole GETNEXT with noSuchName when one of its variables
        has nothing after it: that one ends (None) and the rest is asked again."""
        answers: dict[int, tuple[Oid, Value | None]] = {}
        left = list(range(len(asked)))
        while left:
            status, index, binds = await self._request(
                target, transport, "next", [asked[i] for i in left]
            )
            if status == 2 and 0 < index <= len(left):
                gone = left.pop(index - 1)
                answers[gone] = (asked[gone], None)
                continue
            for i, pair in zip(left, binds, strict=False):
                answers[i] = pair
            break
        return [answers.get(i, (o, None)) for i, o in enumerate(asked)]


@dataclass(frozen=True)
class _Endpoint:
    address: tuple[str, int]
    timeout: float


async def _resolve(target: Target) -> tuple[str, int]:
    try:
        ipaddress.IPv4Address(target.host)
        return target.host, target.port
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            target.host, target.port, family=socket.AF_INET, type=socket.SOCK_DGRAM
        )
    except OSError as exc:
        raise SnmpError(f"{target.host}: cannot resolve ({exc})") from exc
    host, port = infos[0][4][:2]
    return str(host), int(port)


def resolve(host: str) -> str:
    """A host name's IPv4 address (manual adds by name are stored by name, polled by address)."""
    return socket.gethostbyname(host)
