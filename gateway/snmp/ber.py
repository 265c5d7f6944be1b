"""SNMPv1/v2c messages in BER, sans IO: requests encoded, responses decoded.

pysnmp (pyasn1) decodes a 50-variable answer in about 5 ms of CPU; polling a thousand printers
needs a few thousand such answers, so community-based polling goes through this codec (about
fifty times faster), and SNMPv3, whose security needs pysnmp's engine, does not.
Values come out as the client's plain types: int, bytes, a dotted OID string, or None for
NULL / noSuchObject / noSuchInstance / endOfMibView.
"""

from __future__ import annotations

from dataclasses import dataclass

from .oids import Oid

GET, GETNEXT, RESPONSE, GETBULK = 0xA0, 0xA1, 0xA2, 0xA5
_INTEGER, _OCTETS, _NULL, _OID, _SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
_UNSIGNED = frozenset({0x41, 0x42, 0x43, 0x46})  # Counter32, Gauge32, TimeTicks, Counter64
_BYTES = frozenset({_OCTETS, 0x40, 0x44})  # OCTET STRING, IpAddress, Opaque
_EXCEPTIONS = frozenset({0x80, 0x81, 0x82})  # noSuchObject, noSuchInstance, endOfMibView
VERSION_CODES = {"1": 0, "2c": 1}


class BerError(ValueError):
    """Not an SNMP message this codec understands."""


@dataclass(frozen=True)
class Response:
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, int | bytes | str | None]]


# --- encoding ---------------------------------------------------------------------------------


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    body = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _length(len(body)) + body


def _integer(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return _tlv(_INTEGER, value.to_bytes(size, "big", signed=True))


def _oid(value: Oid) -> bytes:
    if len(value) < 2:
        raise BerError(f"OID {value} is too short")
    body = bytearray()
    for arc in (value[0] * 40 + value[1], *value[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _tlv(_OID, bytes(body))


def encode_request(
    version: str,
    community: str,
    pdu: int,
    request_id: int,
    oids: list[Oid],
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    varbinds = b"".join(_tlv(_SEQUENCE, _oid(o) + b"\x05\x00") for o in oids)
    second, third = (non_repeaters, max_repetitions) if pdu == GETBULK else (0, 0)
    body = _integer(request_id) + _integer(second) + _integer(third) + _tlv(_SEQUENCE, varbinds)
    message = _integer(VERSION_CODES[version]) + _tlv(_OCTETS, community.encode()) + _tlv(pdu, body)
    return _tlv(_SEQUENCE, message)


# --- decoding ---------------------------------------------------------------------------------


def _header(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the TLV at `at`."""
    try:
        tag = data[at]
        first = data[at + 1]
    except IndexError as exc:
        raise BerError("truncated message") from exc
    at += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise BerError("unsupported length")
        size = int.from_bytes(data[at : at + count], "big")
        at += count
    else:
        size = first
    end = at + size
    if end > len(data):
        raise BerError("truncated message")
    return tag, at, end


def _decode_oid(body: bytes) -> Oid:
    if not body:
        raise BerError("empty OID")
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            if not arcs:  # the first subidentifier holds the first two arcs
                top = min(value // 40, 2)
                arcs += [top, value - 40 * top]
            else:
                arcs.append(value)
            value = 0
    return tuple(arcs)


def _value(tag: int, body: bytes) -> int | bytes | str | None:
    if tag == _INTEGER:
        return int.from_bytes(body, "big", signed=True)
    if tag in _UNSIGNED:
        return int.from_bytes(body, "big", signed=False)
    if tag in _BYTES:
        return bytes(body)
    if tag == _OID:
        return ".".join(str(arc) for arc in _decode_oid(body))
    if tag == _NULL or tag in _EXCEPTIONS:
        return None
    raise BerError(f"unexpected value tag 0x{tag:02x}")


def decode_response(data: bytes) -> Response:
    tag, at, _end = _header(data, 0)
    if tag != _SEQUENCE:
        raise BerError("not an SNMP message")
    tag, start, at = _header(data, at)  # version
    tag, start, at = _header(data, at)  # community
    tag, at, _pdu_end = _header(data, at)
    if tag != RESPONSE:
        raise BerError(f"not a response PDU (0x{tag:02x})")
    numbers = []
    for _ in range(3):
        tag, start, at = _header(data, at)
        if tag != _INTEGER:
            raise BerError("malformed PDU header")
        numbers.append(int.from_bytes(data[start:at], "big", signed=True))
    tag, at, list_end = _header(data, at)
    varbinds: list[tuple[Oid, int | bytes | str | None]] = []
    while at < list_end:
        tag, at, bind_end = _header(data, at)
        tag, start, at = _header(data, at)
        if tag != _OID:
            raise BerError("a variable without an OID")
        name = _decode_oid(data[start:at])
        tag, start, at = _header(data, at)
        varbinds.append((name, _value(tag, data[start:at])))
        at = bind_end
    return Response(numbers[0], numbers[1], numbers[2], varbinds)
