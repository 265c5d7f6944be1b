"""One SNMP GET (v1 / v2c) of sysDescr.0, for `printgate check`: is the printer's agent there
and does it take our community? A few lines of BER, so a diagnostic needs no SNMP stack (the
meter poller has its own)."""

from __future__ import annotations

import asyncio
import secrets

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
VERSIONS = {"1": 0, "2c": 1}


class SnmpProbeError(Exception):
    pass


def _tlv(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _oid(parts: tuple[int, ...]) -> bytes:
    body = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.insert(0, 0x80 | (part & 0x7F))
            part >>= 7
        body += bytes(chunk)
    return _tlv(0x06, bytes(body))


def get_request(community: str, version: str, request_id: int) -> bytes:
    binding = _tlv(0x30, _oid(SYS_DESCR) + b"\x05\x00")
    pdu = _tlv(0xA0, _integer(request_id) + _integer(0) + _integer(0) + _tlv(0x30, binding))
    return _tlv(0x30, _integer(VERSIONS[version]) + _tlv(0x04, community.encode()) + pdu)


def _parse(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """(tag, value, offset after it)."""
    tag, size = data[offset], data[offset + 1]
    offset += 2
    if size & 0x80:
        count = size & 0x7F
        size = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    return tag, data[offset : offset + size], offset + size


def parse_response(data: bytes, request_id: int) -> str:
    """sysDescr from a GetResponse, or SnmpProbeError."""
    try:
        _, message, _ = _parse(data)
        _, _, at = _parse(message)  # version
        _, _, at = _parse(message, at)  # community
        tag, pdu, _ = _parse(message, at)
        _, rid, at = _parse(pdu)
        _, status, at = _parse(pdu, at)
        _, _, at = _parse(pdu, at)  # error index
        _, bindings, _ = _parse(pdu, at)
        _, binding, _ = _parse(bindings)
        _, _, at = _parse(binding)  # the OID
        value_tag, value, _ = _parse(binding, at)
    except IndexError as exc:
        raise SnmpProbeError("malformed SNMP answer") from exc
    if tag != 0xA2 or int.from_bytes(rid, "big", signed=True) != request_id:
        raise SnmpProbeError("not an answer to our request")
    if int.from_bytes(status, "big"):
        raise SnmpProbeError(f"agent error-status {int.from_bytes(status, 'big')}")
    if value_tag != 0x04:
        raise SnmpProbeError("sysDescr.0 not available")
    return value.decode(errors="replace")


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if not self.answer.done():
            self.answer.set_result(data)


async def probe(host: str, port: int, community: str, version: str, seconds: float) -> str:
    """The agent's sysDescr.0."""
    if version not in VERSIONS:
        raise SnmpProbeError(f"SNMP version {version!r} is not probed (only 1 and 2c)")
    request_id = secrets.randbelow(2**31 - 1) + 1
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(_Client, remote_addr=(host, port))
    try:
        for _ in range(2):
            transport.sendto(get_request(community, version, request_id))
            try:
                data = await asyncio.wait_for(asyncio.shield(client.answer), seconds / 2)
            except TimeoutError:
                continue
            return parse_response(data, request_id)
        raise SnmpProbeError(f"no SNMP answer from {host}:{port} within {seconds:.0f} s")
    finally:
        transport.close()
