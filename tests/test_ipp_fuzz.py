"""Fuzzing the IPP decoder, and printgate's IPP endpoint, with malformed messages.

Codec level: whatever the bytes, the decoder returns a message or raises IppDecodeError; its
work is linear in the bytes fed (counted, not timed) and it never holds more than max_bytes.
Server level: a running printgate answers malformed bodies with HTTP 400 or IPP
client-error-bad-request and still serves a valid request afterwards.
"""

from __future__ import annotations

import random
import struct
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.ipp import (
    Attribute,
    Decoder,
    Group,
    IppDecodeError,
    IppTooLarge,
    Message,
    Op,
    Status,
    Tag,
    Value,
    decode,
    encode,
)

pytestmark = pytest.mark.no_database  # the PostgreSQL pass leaves it out

DATA = Path(__file__).parent / "data" / "ipp"
GOLDEN = {p.name: p.read_bytes() for p in sorted(DATA.glob("*.bin"))}
LIMIT = 4096


class CountingDecoder(Decoder):
    """A Decoder that counts its parsing steps and the most it ever had buffered."""

    def __init__(self, max_bytes: int = LIMIT, max_depth: int = 16) -> None:
        super().__init__(max_bytes=max_bytes, max_depth=max_depth)
        self.steps = 0
        self.most_buffered = 0

    def _parse(self) -> int:
        self.most_buffered = max(self.most_buffered, len(self._buf))
        return super()._parse()

    def _item(self, tag: int, name: str, raw: bytes) -> None:
        self.steps += 1
        super()._item(tag, name, raw)

    def _delimiter(self, tag: int) -> None:
        self.steps += 1
        super()._delimiter(tag)


def chunks(data: bytes, rng: random.Random) -> Iterator[bytes]:
    pos = 0
    while pos < len(data):
        size = rng.choice((1, 2, 3, 7, 64, 512, 4096, 100_000))
        yield data[pos : pos + size]
        pos += size


def check(data: bytes, rng: random.Random, max_bytes: int = LIMIT) -> Message | None:
    """Decode `data` in random pieces; only a message or IppDecodeError may come out."""
    decoder = CountingDecoder(max_bytes=max_bytes)
    fed = 0
    try:
        for piece in chunks(data, rng):
            fed += len(piece)
            decoder.feed(piece)
            # Every step consumes at least one byte: the work is bounded by the input.
            assert decoder.steps <= fed
            assert decoder.most_buffered <= max_bytes
            if decoder.message is not None:
                break
        message = decoder.finish()
    except IppDecodeError:
        return None
    # What decodes must re-encode to something that decodes to the same message.
    again, rest = decode(encode(message), max_bytes=1 << 24)
    assert again == message and rest == b""
    return message


# --- a seeded mutator over the golden messages ----------------------------------------------


def length_fields(data: bytes) -> list[int]:
    """Offsets of the name-length and value-length fields of a well-formed message."""
    offsets, pos = [], 8
    while pos < len(data):
        tag = data[pos]
        if tag < 0x10:
            pos += 1
            if tag == Tag.END:
                break
            continue
        name_len = struct.unpack_from(">H", data, pos + 1)[0]
        value_at = pos + 3 + name_len
        offsets += [pos + 1, value_at]
        pos = value_at + 2 + struct.unpack_from(">H", data, value_at)[0]
    return offsets


INTERESTING_BYTES = (0x00, 0x01, 0x03, 0x10, 0x34, 0x37, 0x4A, 0x7F, 0x80, 0xFF)
INTERESTING_LENGTHS = (0, 1, 2, 3, 4, 0x7FFF, 0x8000, 0xFFF9, 0xFFFE, 0xFFFF)


def mutate(data: bytes, fields: list[int], rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buf:
            buf += rng.randbytes(rng.randint(1, 16))
        kind = rng.randrange(8)
        at = rng.randrange(len(buf))
        if kind == 0:  # bit flip
            buf[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            buf[at] = rng.choice(INTERESTING_BYTES)
        elif kind == 2:  # truncation
            del buf[at:]
        elif kind == 3:  # insertion
            buf[at:at] = rng.randbytes(rng.randint(1, 16))
        elif kind == 4:  # deletion
            del buf[at : at + rng.randint(1, 32)]
        elif kind == 5:  # a slice repeated elsewhere
            start = rng.randrange(len(buf))
            buf[at:at] = buf[start : start + rng.randint(1, 64)]
        elif fields:  # corrupt a real length field: off by a little, or huge
            field = rng.choice(fields)
            if field + 2 <= len(buf):
                old = struct.unpack_from(">H", buf, field)[0]
                new = rng.choice((*INTERESTING_LENGTHS, (old + rng.randint(-3, 3)) & 0xFFFF))
                struct.pack_into(">H", buf, field, new)
    return bytes(buf)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_seeded_mutations_of_golden_messages(name):
    data = GOLDEN[name]
    _, rest = decode(data)
    part = data[: len(data) - len(rest)]
    fields = length_fields(part)
    rng = random.Random(f"printgate-{name}")
    decoded = 0
    for _ in range(150):
        mutant = mutate(data, fields, rng)
        decoded += check(mutant, rng, max_bytes=1 << 20) is not None
        check(mutant, rng, max_bytes=LIMIT)
    # The mutator must mostly break things, or it is not exercising the error paths.
    assert decoded < 150


def test_length_fields_walks_the_items():
    data = GOLDEN["ipptool-get-printer-attributes-request.bin"]
    fields = length_fields(data)
    assert struct.unpack_from(">H", data, fields[0])[0] == len("attributes-charset")
    assert struct.unpack_from(">H", data, fields[1])[0] == len("utf-8")


# --- hypothesis -----------------------------------------------------------------------------

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(st.binary(max_size=600), st.randoms(use_true_random=False))
def test_arbitrary_bytes(data, rng):
    check(data, rng)


@FUZZ
@given(st.binary(max_size=400), st.randoms(use_true_random=False))
def test_arbitrary_bytes_after_a_valid_header(data, rng):
    check(bytes.fromhex("0200000b0000000101") + data, rng)


@FUZZ
@given(
    st.sampled_from(sorted(GOLDEN)),
    st.lists(st.tuples(st.integers(0, 20_000), st.integers(0, 255)), max_size=6),
    st.integers(0, 20_000),
    st.randoms(use_true_random=False),
)
def test_golden_with_bytes_replaced_and_cut(name, replacements, cut, rng):
    buf = bytearray(GOLDEN[name])
    for at, value in replacements:
        if buf:
            buf[at % len(buf)] = value
    check(bytes(buf[: max(cut, len(buf) // 2)]), rng)


# Items with plausible tags and arbitrary (often lying) lengths: reaches the structural checks.
TAGS = st.one_of(
    st.sampled_from([0x01, 0x02, 0x04, 0x34, 0x37, 0x4A, 0x21, 0x22, 0x31, 0x35]),
    st.integers(0, 255),
)
ITEMS = st.lists(
    st.one_of(
        st.tuples(TAGS, st.binary(max_size=6), st.binary(max_size=12)).map(
            lambda t: (
                bytes((t[0],))
                + struct.pack(">H", len(t[1]))
                + t[1]
                + struct.pack(">H", len(t[2]))
                + t[2]
            )
        ),
        st.tuples(TAGS, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)).map(
            lambda t: struct.pack(">BHH", *t)
        ),
        st.integers(0, 0x0F).map(lambda t: bytes((t,))),
    ),
    max_size=30,
)


@FUZZ
@given(ITEMS, st.randoms(use_true_random=False))
def test_item_sequences(items, rng):
    check(bytes.fromhex("0101000000000001") + b"".join(items) + b"\x03", rng)


# --- known hostile inputs -------------------------------------------------------------------


def pyipp_loop_message() -> bytes:
    """47 bytes that sent pyipp's parser into an endless loop.

    pyipp reads lengths as signed 16-bit integers: the keyword's value length 0xFFF9 is -7 to
    it, which moves its offset back onto the same item's tag, forever. To a correct decoder it
    is 65529 octets the message never delivers.
    """
    header = bytes.fromhex("0101000000000001")  # IPP/1.1 successful-ok, request-id 1
    charset = b"\x47\x00\x12attributes-charset\x00\x05utf-8"
    looping = b"\x44\x00\x02ab\xff\xf9"
    return header + b"\x01" + charset + looping + b"\x03\x03\x03"


def test_pyipp_loop_message_raises_quickly():
    data = pyipp_loop_message()
    assert len(data) == 47
    with pytest.raises(IppDecodeError):
        decode(data)
    rng = random.Random(47)
    for _ in range(20):
        assert check(data, rng) is None
    decoder = CountingDecoder()
    for byte in data:
        decoder.feed(bytes((byte,)))
    assert decoder.steps == 2  # the operation group and attributes-charset; then it waits
    with pytest.raises(IppDecodeError):
        decoder.finish()


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b"\x44\xff\xff", id="name-length-65535"),
        pytest.param(b"\x44\x00\x02ab\xff\xff", id="value-length-65535"),
        pytest.param(b"\x44\x00\x02ab\x80\x00", id="value-length-negative-if-signed"),
        pytest.param(b"\x44\x00\x02ab\x00\x00\x44\x00\x00\xff\xfe", id="additional-value"),
        pytest.param(b"\x34\x00\x01c\x00\x00\x4a\x00\x00\xff\xff", id="member-name"),
    ],
)
def test_huge_lengths_never_buffer_past_the_limit(tail):
    data = bytes.fromhex("0101000000000001") + b"\x01" + tail
    decoder = CountingDecoder(max_bytes=LIMIT)
    fed = 0
    with pytest.raises(IppTooLarge):
        decoder.feed(data)
        for _ in range(1000):  # an endless stream of junk in 64 KiB pieces
            decoder.feed(b"\x03" * 65536)
            fed += 65536
    assert fed <= 65536
    assert decoder.most_buffered <= LIMIT


def test_limit_holds_for_one_huge_chunk():
    decoder = CountingDecoder(max_bytes=LIMIT)
    with pytest.raises(IppTooLarge):
        decoder.feed(bytes.fromhex("0101000000000001") + b"\x01" + b"\x44\x00\x01k\x00\x00" * 10**5)
    assert decoder.most_buffered <= LIMIT


def test_deep_nesting_is_refused_without_recursion():
    body = b"\x34\x00\x01c\x00\x00" + (b"\x4a\x00\x00\x00\x01m" + b"\x34\x00\x00\x00\x00") * 50_000
    decoder = CountingDecoder(max_bytes=1 << 22)
    with pytest.raises(IppDecodeError, match="nested deeper"):
        decoder.feed(bytes.fromhex("0101000000000001") + b"\x01" + body)
    assert decoder.steps < 100


# --- server level ---------------------------------------------------------------------------


def malformed_bodies(count: int) -> list[bytes]:
    """`count` request bodies that printgate's decoder must reject."""
    requests = [data for name, data in GOLDEN.items() if "request" in name]
    bodies = [
        b"",
        b"\x02",
        bytes.fromhex("0200000b"),
        bytes.fromhex("0200000b00000001"),  # header only
        bytes.fromhex("0200000b0000000101"),  # no end-of-attributes
        pyipp_loop_message(),
        bytes.fromhex("0200000b00000001") + b"\x44\x00\x01x\x00\x01a\x03",  # before any group
        bytes.fromhex("0200000b0000000101") + b"\x21\x00\x01x\x00\x03abc\x03",  # short integer
        bytes.fromhex("0200000b0000000101") + b"\x34\x00\x01c\x00\x00" * 100 + b"\x03",
    ]
    rng = random.Random(300)
    while len(bodies) < count:
        data = rng.choice(requests)
        _, rest = decode(data)
        part = data[: len(data) - len(rest)]
        mutant = mutate(part, length_fields(part), rng)
        try:
            decode(mutant)
        except IppDecodeError:
            bodies.append(mutant)
    return bodies


def get_printer_attributes(uri: str) -> bytes:
    operation = Group(
        Tag.OPERATION,
        (
            Attribute("attributes-charset", (Value(Tag.CHARSET, "utf-8"),)),
            Attribute("attributes-natural-language", (Value(Tag.NATURAL_LANGUAGE, "en"),)),
            Attribute("printer-uri", (Value(Tag.URI, uri),)),
            Attribute("requested-attributes", (Value(Tag.KEYWORD, "all"),)),
        ),
    )
    return encode(Message((2, 0), Op.GET_PRINTER_ATTRIBUTES, 4242, (operation,)))


@pytest.fixture
def virtual_gateway(printgate_factory, tmp_path):
    """printgate with one queue on a virtual printer: no peer behind it."""
    return printgate_factory(
        {
            "printers": [{"name": "virtual", "uri": (tmp_path / "out").as_uri()}],
            "queues": [{"name": "fuzz", "printers": ["virtual"]}],
        }
    )


async def in_pieces(body: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


@pytest.mark.timeout(180)
async def test_server_rejects_malformed_ipp_and_keeps_serving(virtual_gateway):
    gateway = virtual_gateway
    url = gateway.queue_uri("fuzz", scheme="http")
    headers = {"Content-Type": "application/ipp"}
    timeout = aiohttp.ClientTimeout(total=10)
    bodies = malformed_bodies(300)
    outcomes: Counter[str] = Counter()
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for n, body in enumerate(bodies):
            # Every third body goes chunked, in small pieces, as CUPS sends documents.
            data = in_pieces(body, 7) if n % 3 == 0 else body
            async with session.post(url, data=data, headers=headers) as response:
                payload = await response.read()
            if response.status == 400:
                outcomes["http-400"] += 1
                continue
            assert response.status == 200, f"body {n}: HTTP {response.status}"
            answer, _ = decode(payload)
            assert answer.code == Status.BAD_REQUEST, f"body {n}: IPP status 0x{answer.code:04x}"
            outcomes["ipp-bad-request"] += 1

        request = get_printer_attributes(gateway.queue_uri("fuzz"))
        async with session.post(url, data=request, headers=headers) as response:
            assert response.status == 200
            answer, _ = decode(await response.read())
    assert sum(outcomes.values()) == len(bodies) == 300, outcomes
    assert Status(answer.code).is_success
    assert answer.request_id == 4242
    printer = answer.group(Tag.PRINTER)
    assert printer is not None and "printer-state" in printer
