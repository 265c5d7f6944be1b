"""A minimal IPP client, independent of the gateway's codec (the peers must not trust the code
under test): encodes requests, decodes responses, posts them over HTTP."""

from __future__ import annotations

import http.client
import struct
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.peers.process import PeerError

_TAG_INTEGER, _TAG_BOOLEAN, _TAG_ENUM = 0x21, 0x22, 0x23
_TAG_RANGE, _TAG_BEG_COLLECTION, _TAG_END_COLLECTION = 0x33, 0x34, 0x37
_TAG_TEXT_LANG, _TAG_NAME_LANG = 0x35, 0x36
_GROUPS = {0x01: "operation", 0x02: "job", 0x04: "printer", 0x05: "unsupported"}

JOB_STATES = {
    3: "pending",
    4: "pending-held",
    5: "processing",
    6: "processing-stopped",
    7: "canceled",
    8: "aborted",
    9: "completed",
}
_CUPS_GET_DEFAULT = 0x4001
OPERATIONS = {
    "Print-Job": 0x02,
    "Validate-Job": 0x04,
    "Create-Job": 0x05,
    "Send-Document": 0x06,
    "Cancel-Job": 0x08,
    "Get-Job-Attributes": 0x09,
    "Get-Jobs": 0x0A,
    "Get-Printer-Attributes": 0x0B,
}


@dataclass
class IppResponse:
    """A decoded IPP response: status code and attribute groups (collections are skipped)."""

    status: int
    request_id: int
    groups: list[tuple[str, dict[str, list[Any]]]] = field(default_factory=list)

    def group(self, name: str) -> dict[str, list[Any]]:
        """The first group of that kind ('operation', 'job', 'printer'), or {}."""
        return next((attrs for kind, attrs in self.groups if kind == name), {})

    def first(self, name: str, default: Any = None) -> Any:
        """The first value of `name` in any group."""
        for _, attrs in self.groups:
            if attrs.get(name):
                return attrs[name][0]
        return default

    @property
    def ok(self) -> bool:
        return self.status < 0x0100


def _ipp_value(tag: int, value: Any) -> bytes:
    if tag in (_TAG_INTEGER, _TAG_ENUM):
        return struct.pack(">i", int(value))
    if tag == _TAG_BOOLEAN:
        return b"\x01" if value else b"\x00"
    return str(value).encode()


def _encode_ipp(
    operation: int, attributes: Sequence[tuple[int, str, Any]], request_id: int
) -> bytes:
    out = bytearray(struct.pack(">BBHI", 2, 0, operation, request_id))
    out.append(0x01)
    preamble = [(0x47, "attributes-charset", "utf-8"), (0x48, "attributes-natural-language", "en")]
    for tag, name, value in [*preamble, *attributes]:
        values = value if isinstance(value, list | tuple) else [value]
        for i, item in enumerate(values):
            encoded_name = b"" if i else name.encode()
            encoded = _ipp_value(tag, item)
            out += struct.pack(">BH", tag, len(encoded_name)) + encoded_name
            out += struct.pack(">H", len(encoded)) + encoded
    out.append(0x03)
    return bytes(out)


def _decode_ipp_value(tag: int, raw: bytes) -> Any:
    if tag in (_TAG_INTEGER, _TAG_ENUM) and len(raw) == 4:
        return struct.unpack(">i", raw)[0]
    if tag == _TAG_BOOLEAN and len(raw) == 1:
        return raw != b"\x00"
    if tag == _TAG_RANGE and len(raw) == 8:
        return struct.unpack(">ii", raw)
    if tag in (_TAG_TEXT_LANG, _TAG_NAME_LANG) and len(raw) >= 4:
        lang_len = struct.unpack(">H", raw[:2])[0]
        text_len = struct.unpack(">H", raw[2 + lang_len : 4 + lang_len])[0]
        return raw[4 + lang_len : 4 + lang_len + text_len].decode(errors="replace")
    if 0x40 <= tag <= 0x5F:
        return raw.decode(errors="replace")
    return raw


def _decode_ipp(data: bytes) -> IppResponse:
    if len(data) < 9:
        raise PeerError(f"IPP response too short ({len(data)} bytes)")
    _, _, status, request_id = struct.unpack(">BBHI", data[:8])
    response = IppResponse(status=status, request_id=request_id)
    pos, depth = 8, 0
    attrs: dict[str, list[Any]] | None = None
    last: list[Any] | None = None
    while pos < len(data):
        tag = data[pos]
        pos += 1
        if tag == 0x03:
            break
        if tag < 0x10:
            attrs = {}
            response.groups.append((_GROUPS.get(tag, hex(tag)), attrs))
            continue
        name_len = struct.unpack(">H", data[pos : pos + 2])[0]
        name = data[pos + 2 : pos + 2 + name_len].decode(errors="replace")
        pos += 2 + name_len
        value_len = struct.unpack(">H", data[pos : pos + 2])[0]
        raw = data[pos + 2 : pos + 2 + value_len]
        pos += 2 + value_len
        if tag == _TAG_BEG_COLLECTION:
            depth += 1
            if depth == 1 and attrs is not None:
                last = attrs.setdefault(name, []) if name else last
                if last is not None:
                    last.append({})
            continue
        if tag == _TAG_END_COLLECTION:
            depth -= 1
            continue
        if depth or attrs is None:
            continue  # collection members are not decoded
        if name:
            last = attrs.setdefault(name, [])
        if last is not None:
            last.append(_decode_ipp_value(tag, raw))
    return response


def ipp_request(
    uri: str,
    operation: int | str,
    attributes: Sequence[tuple[int, str, Any]] = (),
    document: bytes | None = None,
    timeout: float = 10.0,
    request_id: int = 1,
) -> IppResponse:
    """Send one IPP request over HTTP and decode the response.

    `attributes` are extra operation attributes as (value tag, name, value or list of values);
    the charset and natural language come first automatically. Tags: 0x21 integer, 0x22
    boolean, 0x23 enum, 0x42 name, 0x44 keyword, 0x45 uri, 0x49 mimeMediaType.
    """
    op = OPERATIONS[operation] if isinstance(operation, str) else operation
    parts = urllib.parse.urlsplit(uri)
    body = _encode_ipp(op, attributes, request_id) + (document or b"")
    port = parts.port or 631
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", port, timeout=timeout)
    try:
        conn.request(
            "POST", parts.path or "/", body=body, headers={"Content-Type": "application/ipp"}
        )
        reply = conn.getresponse()
        payload = reply.read()
    finally:
        conn.close()
    if reply.status != 200:
        raise PeerError(f"POST {uri}: HTTP {reply.status} {reply.reason}")
    return _decode_ipp(payload)


def _get_printer_attributes(uri: str, timeout: float) -> IppResponse:
    return ipp_request(
        uri,
        "Get-Printer-Attributes",
        [
            (0x45, "printer-uri", uri),
            (0x44, "requested-attributes", ["printer-state", "printer-name"]),
        ],
        timeout=timeout,
    )
