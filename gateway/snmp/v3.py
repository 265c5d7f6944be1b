"""SNMPv3 through pysnmp's engine (USM authentication and privacy). Imported only when a
device is configured for SNMPv3: v1/v2c go through gateway/snmp/ber.py and udp.py.

Requests go below pysnmp's high-level API, which would resolve every OID through its MIB tree
(most of the CPU of a poll): the OIDs here are numeric already."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pyasn1.type import univ
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import (
    ContextData,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
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
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto.rfc1902 import Null, ObjectName

from .oids import Oid
from .reading import Value
from .types import Credentials, SnmpError, SnmpTimeout, Target

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
_LCD = CommandGeneratorLcdConfigurator()
_GET = cmdgen.GetCommandGenerator()
_NEXT = cmdgen.NextCommandGeneratorSingleRun()
_BULK = cmdgen.BulkCommandGeneratorSingleRun()
_NULL = Null("")


def auth_data(credentials: Credentials) -> Any:
    return UsmUserData(
        credentials.user,
        authKey=credentials.auth_password or None,
        privKey=credentials.priv_password or None,
        authProtocol=AUTH_PROTOCOLS[credentials.auth_protocol.upper()],
        privProtocol=PRIV_PROTOCOLS[credentials.priv_protocol.upper()],
    )


class V3Engine:
    """One SnmpEngine for every SNMPv3 device."""

    def __init__(self) -> None:
        self.engine = SnmpEngine()
        self._context = ContextData()

    def close(self) -> None:
        self.engine.close_dispatcher()

    def _context_of(self, target: Target) -> Any:
        if target.credentials.context:
            return ContextData(contextName=target.credentials.context)
        return self._context

    async def transport(self, target: Target, wait: float, retries: int) -> Any:
        try:
            return await UdpTransportTarget.create(
                (target.host, target.port), timeout=wait, retries=retries
            )
        except Exception as exc:  # pysnmp wraps resolver errors in its own type
            raise SnmpError(f"{target.host}: cannot resolve ({exc})") from exc

    async def request(
        self,
        target: Target,
        transport: Any,
        kind: str,
        asked: Sequence[Oid],
        non_repeaters: int,
        max_repetitions: int,
    ) -> tuple[int, int, list[tuple[Oid, Value | None]]]:
        context = self._context_of(target)
        address, _params = _LCD.configure(
            self.engine, auth_data(target.credentials), transport, context.contextName
        )
        future: asyncio.Future[tuple[Any, Any, Any, Any]] = (
            asyncio.get_running_loop().create_future()
        )

        def done(
            _engine: Any,
            _handle: Any,
            indication: Any,
            status: Any,
            index: Any,
            binds: Any,
            _c: Any,
        ) -> None:
            if not future.done():
                future.set_result((indication, status, index, binds))

        varbinds = [(ObjectName(o), _NULL) for o in asked]
        engine_id, name = context.contextEngineId, context.contextName
        if kind == "bulk":
            _BULK.send_varbinds(
                self.engine,
                address,
                engine_id,
                name,
                non_repeaters,
                max_repetitions,
                varbinds,
                done,
            )
        else:
            generator = _GET if kind == "get" else _NEXT
            generator.send_varbinds(self.engine, address, engine_id, name, varbinds, done)
        indication, status, index, binds = await future
        if indication:
            message = str(indication)
            if "timeout" in message.lower():
                raise SnmpTimeout(f"{target.address}: no answer")
            raise SnmpError(f"{target.address}: {message}")
        status, index = int(status or 0), int(index or 0)
        if status and status != 2:  # noSuchName is the caller's to handle (SNMPv1)
            raise SnmpError(f"{target.address}: error status {status} at {index}")
        return status, index, [(tuple(oid), _python(value)) for oid, value in binds]


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
