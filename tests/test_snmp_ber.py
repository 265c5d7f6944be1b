"""The SNMPv1/v2c codec against pysnmp's own (pyasn1) encoder and decoder: requests it writes
decode there to what was asked, and answers pysnmp writes decode here to the same values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from gateway.snmp import ber

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
V1 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]
arcs = st.integers(0, 2**32 - 1)
oids = st.tuples(st.integers(0, 2), st.integers(0, 39)).flatmap(
    lambda head: st.lists(arcs, min_size=0, max_size=12).map(lambda tail: (*head, *tail))
)


@given(st.lists(oids, min_size=1, max_size=20), st.integers(0, 2**31 - 1), st.integers(0, 5))
def test_bulk_requests_decode_in_pysnmp_as_asked(
    asked: list[tuple[int, ...]], request_id: int, non_repeaters: int
) -> None:
    data = ber.encode_request("2c", "públic", ber.GETBULK, request_id, asked, non_repeaters, 12)
    message, rest = decoder.decode(data, asn1Spec=V2C.Message())
    assert rest == b""
    pdu = V2C.apiMessage.get_pdu(message)
    assert bytes(V2C.apiMessage.get_community(message)) == "públic".encode()
    assert int(V2C.apiBulkPDU.get_request_id(pdu)) == request_id
    assert int(V2C.apiBulkPDU.get_non_repeaters(pdu)) == non_repeaters
    assert int(V2C.apiBulkPDU.get_max_repetitions(pdu)) == 12
    assert [tuple(o) for o, _v in V2C.apiBulkPDU.get_varbinds(pdu)] == asked


def test_v1_get_request() -> None:
    data = ber.encode_request("1", "public", ber.GET, 7, [(1, 3, 6, 1, 2, 1, 1, 1, 0)])
    message, _ = decoder.decode(data, asn1Spec=V1.Message())
    assert int(V1.apiMessage.get_version(message)) == 0
    assert V1.apiMessage.get_pdu(message).tagSet == V1.GetRequestPDU.tagSet


def _response(varbinds: list[tuple[tuple[int, ...], object]], status: int = 0) -> bytes:
    pdu = V2C.GetResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, 2**31 - 1)
    V2C.apiPDU.set_error_status(pdu, status)
    V2C.apiPDU.set_varbinds(pdu, varbinds)
    message = V2C.Message()
    V2C.apiMessage.set_defaults(message)
    V2C.apiMessage.set_community(message, "public")
    V2C.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def test_every_value_type_of_an_answer() -> None:
    long_text = "Toner " * 40  # a long value: two-octet lengths
    data = _response(
        [
            ((1, 3, 6, 1, 2, 1, 1, 1, 0), V2C.OctetString(long_text)),
            ((1, 3, 6, 1, 2, 1, 1, 2, 0), V2C.ObjectIdentifier((1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1))),
            ((1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 2), V2C.Integer(-3)),
            ((1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4, 1, 1), V2C.Counter32(4294967295)),
            ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), V2C.Counter64(2**64 - 1)),
            ((1, 3, 6, 1, 2, 1, 1, 3, 0), V2C.TimeTicks(360000)),
            ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 1), V2C.IpAddress("10.0.0.5")),
            ((1, 3, 6, 1, 2, 1, 99, 0), V2C.Gauge32(7)),
            ((2, 100, 3), V2C.NoSuchInstance("")),
            ((1, 3, 6, 1, 9), V2C.EndOfMibView("")),
        ],
        status=2,
    )
    response = ber.decode_response(data)
    assert (response.request_id, response.error_status) == (2**31 - 1, 2)
    assert response.varbinds == [
        ((1, 3, 6, 1, 2, 1, 1, 1, 0), long_text.encode()),
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), "1.3.6.1.4.1.11.2.3.9.1"),
        ((1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 2), -3),
        ((1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4, 1, 1), 4294967295),
        ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), 2**64 - 1),
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), 360000),
        ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 1), b"\n\x00\x00\x05"),
        ((1, 3, 6, 1, 2, 1, 99, 0), 7),
        ((2, 100, 3), None),
        ((1, 3, 6, 1, 9), None),
    ]


@given(st.lists(st.tuples(oids, st.integers(-(2**31), 2**31 - 1)), max_size=30))
def test_integers_and_oids_survive_pysnmp_encoding(
    pairs: list[tuple[tuple[int, ...], int]],
) -> None:
    data = _response([(o, V2C.Integer(v)) for o, v in pairs])
    assert ber.decode_response(data).varbinds == pairs


@pytest.mark.parametrize("garbage", [b"", b"\x30", b"\x30\x03\x02\x01", b"\x04\x00", b"\xff" * 9])
def test_garbage_is_refused_not_crashed_on(garbage: bytes) -> None:
    with pytest.raises(ber.BerError):
        ber.decode_response(garbage)


@given(st.binary(max_size=200))
def test_any_datagram_decodes_or_is_refused(data: bytes) -> None:
    # The socket takes whatever arrives on it: nothing may raise but BerError.
    try:
        ber.decode_response(data)
    except ber.BerError:
        pass


@given(st.lists(st.tuples(oids, st.integers(0, 2**31 - 1)), min_size=1, max_size=5), st.data())
def test_truncated_answers_are_refused(
    pairs: list[tuple[tuple[int, ...], int]], data: st.DataObject
) -> None:
    whole = _response([(o, V2C.Integer(v)) for o, v in pairs])
    cut = data.draw(st.integers(0, len(whole) - 1))
    with pytest.raises(ber.BerError):
        ber.decode_response(whole[:cut])
