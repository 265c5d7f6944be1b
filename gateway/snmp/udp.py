"""One UDP socket for every SNMPv1/v2c request: answers are matched to requests by request-id
(and the address they came from); a request unanswered after `timeout` is sent again, up to
`retries` times.

The socket's receive buffer is raised as far as the kernel allows (net.core.rmem_max): answers
that arrive while the event loop is busy decoding others wait there instead of being dropped,
which would look like devices timing out."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import socket
from typing import Any

from . import ber

log = logging.getLogger(__name__)
RECEIVE_BUFFER = 8 << 20  # asked for; the kernel caps it at net.core.rmem_max (0: default)


class Timeout(Exception):
    pass


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: UdpManager):
        self.owner = owner

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.owner._received(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a host without an agent: the request times out as usual.
        log.debug("udp error: %s", exc)


class UdpManager:
    def __init__(self) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self._waiting: dict[int, tuple[tuple[str, int], asyncio.Future[ber.Response]]] = {}
        # Request ids start at a random point so a restarted poller never takes an old answer.
        self._ids = itertools.count(random.randrange(1, 1 << 30))
        self.receive_buffer = 0

    async def _open(self) -> asyncio.DatagramTransport:
        if self._transport is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            if RECEIVE_BUFFER > 0:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            self.receive_buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            sock.bind(("0.0.0.0", 0))
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
            self._transport = transport
        return self._transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for _address, future in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    def next_id(self) -> int:
        return next(self._ids) & 0x7FFFFFFF or 1

    async def request(
        self,
        address: tuple[str, int],
        request_id: int,
        message: bytes,
        wait: float,
        retries: int,
    ) -> ber.Response:
        transport = await self._open()
        future: asyncio.Future[ber.Response] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = (address, future)
        try:
            for _attempt in range(retries + 1):
                transport.sendto(message, address)
                try:
                    return await asyncio.wait_for(asyncio.shield(future), wait)
                except TimeoutError:
                    continue
            raise Timeout()
        finally:
            self._waiting.pop(request_id, None)
            if not future.done():
                future.cancel()

    def _received(self, data: bytes, addr: Any) -> None:
        try:
            response = ber.decode_response(data)
        except ber.BerError:
            return  # not for us, or garbled: the request times out or gets another answer
        waiting = self._waiting.get(response.request_id)
        if waiting is None:
            return  # a late answer to a request already answered or given up
        address, future = waiting
        if (addr[0], addr[1]) != address or future.done():
            return
        future.set_result(response)
