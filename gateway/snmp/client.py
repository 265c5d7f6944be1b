"""SNMP requests over one pysnmp engine (v1, v2c, v3 with auth/priv).

One engine serves every request: an engine per device would cost a socket and its own state
each. Tables are walked many columns at a time, one GETBULK (GETNEXT for v1) per round, so a
whole printer is read in two or three round trips.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
    usmAesCfb128Protocol,
    usmAesCfb192Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC128SHA224AuthProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC256SHA384AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
    usmNoAuthProtocol,
    usmNoPrivProtocol,
)

from .oids import Oid
from .reading import Value

VERSIONS = ("1", "2c", "3")
AUTH_PROTOCOLS = {
    "": usmNoAuthProtocol,
    "MD5": usmHMACMD5AuthProtocol,
    "SHA": usmHMACSHAAuthProtocol,
    "SHA224": usmHMAC128SHA224AuthProtocol,
    "SHA256": usmHMAC192SHA256AuthProtocol,
    "SHA384": usmHMAC256SHA384AuthProtocol,
    "SHA512": usmHMAC384SHA512AuthProtocol,
}
PRIV_PROTOCOLS = {
    "": usmNoPrivProtocol,
    "DES": usmDESPrivProtocol,
    "AES": usmAesCfb128Protocol,
    "AES192": usmAesCfb192Protocol,
    "AES256": usmAesCfb256Protocol,
}
# Large enough for a printer's supplies and alerts in one or two rounds, small enough that the
# answer fits one unfragmented datagram on most agents.
MAX_REPETITIONS = 12
MAX_ROUNDS = 40  # a broken agent that never ends a column must not keep us forever


class SnmpError(Exception):
    """The device did not answer, or answered with an error."""


class SnmpTimeout(SnmpError):
    pass


@dataclass(frozen=True)
class Credentials:
    version: str = "2c"
    community: str = "public"
    user: str = ""
    auth_protocol: str = ""
    auth_password: str = ""
    priv_protocol: str = ""
    priv_password: str = ""
    context: str = ""  # SNMPv3 context name (agents serving several devices tell them apart)

    def auth_data(self) -> Any:
        if self.version == "3":
            return UsmUserData(
                self.user,
                authKey=self.auth_password or None,
                privKey=self.priv_password or None,
                authProtocol=AUTH_PROTOCOLS[self.auth_protocol.upper()],
                privProtocol=PRIV_PROTOCOLS[self.priv_protocol.upper()],
            )
        return CommunityData(self.community, mpModel=0 if self.version == "1" else 1)


@dataclass(frozen=True)
class Target:
    host: str
    port: int = 161
    credentials: Credentials = Credentials()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


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
        self.engine = SnmpEngine()
        self._context = ContextData()

    def _context_of(self, target: Target) -> Any:
        if target.credentials.context:
            return ContextData(contextName=target.credentials.context)
        return self._context

    def close(self) -> None:
        self.engine.close_dispatcher()

    async def _transport(self, target: Target, wait: float | None) -> Any:
        try:
            return await UdpTransportTarget.create(
                (target.host, target.port),
                timeout=self.timeout if wait is None else wait,
                retries=self.retries,
            )
        except Exception as exc:  # pysnmp wraps resolver errors in its own type
            raise SnmpError(f"{target.host}: cannot resolve ({exc})") from exc

    async def get(
        self, target: Target, wanted: Sequence[Oid], wait: float | None = None
    ) -> dict[Oid, Value]:
        """The values of these instances; ones the device does not have are left out."""
        if not wanted:
            return {}
        transport = await self._transport(target, wait)
        result = await get_cmd(
            self.engine,
            target.credentials.auth_data(),
            transport,
            self._context_of(target),
            *(ObjectType(ObjectIdentity(o)) for o in wanted),
            lookupMib=False,
        )
        return {oid: value for oid, value in _varbinds(target, result) if value is not None}

    async def walk(
        self,
        target: Target,
        columns: Iterable[Oid],
        scalars: Sequence[Oid] = (),
        wait: float | None = None,
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
                target, transport, [*asked, *(pending[c] for c in walking)], len(asked)
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
            if target.credentials.version != "1" and len(rows) < width:
                ended.update(walking)  # the agent cut the answer short: nothing more to get
            for base in ended:
                pending.pop(base, None)
            first_round = False
        return found

    async def next(
        self, target: Target, asked: Sequence[Oid], wait: float | None = None
    ) -> list[tuple[Oid, Value | None]]:
        """One GETNEXT of each OID, in one request: what follows each."""
        transport = await self._transport(target, wait)
        if target.credentials.version == "1":
            return await self._next_v1(target, transport, list(asked))
        result = await next_cmd(
            self.engine,
            target.credentials.auth_data(),
            transport,
            self._context_of(target),
            *(ObjectType(ObjectIdentity(o)) for o in asked),
            lookupMib=False,
        )
        return _varbinds(target, result)

    async def _next(
        self, target: Target, transport: Any, asked: list[Oid], non_repeaters: int
    ) -> list[tuple[Oid, Value | None]]:
        objects = [ObjectType(ObjectIdentity(o)) for o in asked]
        auth = target.credentials.auth_data()
        if target.credentials.version == "1":
            return await self._next_v1(target, transport, asked)
        result = await bulk_cmd(
            self.engine,
            auth,
            transport,
            self._context_of(target),
            non_repeaters,
            MAX_REPETITIONS,
            *objects,
            lookupMib=False,
        )
        return _varbinds(target, result)

    async def _next_v1(
        self, target: Target, transport: Any, asked: list[Oid]
    ) -> list[tuple[Oid, Value | None]]:
        """v1 has no GETBULK, and answers a whole GETNEXT with noSuchName when one of its
        variables has nothing after it: that one ends (None) and the rest is asked again."""
        answers: dict[int, tuple[Oid, Value | None]] = {}
        left = list(range(len(asked)))
        auth = target.credentials.auth_data()
        while left:
            objects = [ObjectType(ObjectIdentity(asked[i])) for i in left]
            result = await next_cmd(
                self.engine, auth, transport, self._context_of(target), *objects, lookupMib=False
            )
            status, index = int(result[1] or 0), int(result[2] or 0)
            if status == 2 and 0 < index <= len(left):
                gone = left.pop(index - 1)
                answers[gone] = (asked[gone], None)
                continue
            for i, pair in zip(left, _varbinds(target, result), strict=False):
                answers[i] = pair
            break
        return [answers.get(i, (o, None)) for i, o in enumerate(asked)]


def _varbinds(target: Target, result: Any) -> list[tuple[Oid, Value | None]]:
    error_indication, error_status, error_index, varbinds = result
    if error_indication:
        message = str(error_indication)
        if "timeout" in message.lower():
            raise SnmpTimeout(f"{target.address}: no answer")
        raise SnmpError(f"{target.address}: {message}")
    if error_status and int(error_status) != 2:  # noSuchName is handled by the caller
        raise SnmpError(f"{target.address}: {error_status.prettyPrint()} at {error_index}")
    return [(tuple(name), _python(value)) for name, value in varbinds]


def _python(value: Any) -> Value | None:
    """pysnmp value -> int, bytes or a dotted OID; None for noSuchObject, noSuchInstance and
    endOfMibView (which pyasn1 derives from Null, itself an OctetString)."""
    if isinstance(value, univ.Null):
        return None
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(part) for part in value)
    if isinstance(value, univ.OctetString):
        return bytes(value)
    if isinstance(value, univ.Integer):
        return int(value)
    return None


def resolve(host: str) -> str:
    """A host name's IPv4 address (manual adds by name are stored by name, polled by address)."""
    return socket.gethostbyname(host)
