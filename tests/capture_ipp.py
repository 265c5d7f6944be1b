"""Loopback recorder for IPP exchanges: the source of the golden bytes in tests/data/ipp/.

    python tests/capture_ipp.py --listen 127.0.0.1:8700 --upstream 127.0.0.1:8631 --out DIR

It listens on --listen, forwards every connection byte for byte to --upstream and, from a copy of
each direction, parses the HTTP/1.x messages. For every exchange whose request has
`Content-Type: application/ipp` it writes the de-chunked bodies as
`DIR/NNN-<operation>-request.bin` and `DIR/NNN-<operation>-response.bin`, and one line per
exchange to `DIR/capture.log` (peer software from User-Agent / Server, framing, sizes).

The parser only reads the copy, so a framing it does not understand never disturbs the traffic.
Stop it with SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

try:
    from gateway.ipp.enums import Op, Status
except ImportError:  # run from outside the repository: names fall back to hex
    Op = Status = None  # type: ignore[assignment,misc]

Headers = dict[str, str]


async def read_headers(tap: asyncio.StreamReader) -> Headers:
    headers: Headers = {}
    while True:
        line = await tap.readline()
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()


async def read_body(tap: asyncio.StreamReader, headers: Headers, until_eof: bool) -> bytes:
    """The message body with any chunked transfer coding removed."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size_line = await tap.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await read_headers(tap)  # trailer section, ends with an empty line
                return bytes(body)
            body += await tap.readexactly(size)
            await tap.readline()  # CRLF after the chunk data
    if "content-length" in headers:
        return await tap.readexactly(int(headers["content-length"]))
    return await tap.read() if until_eof else b""


def code_name(body: bytes, table: object) -> str:
    if len(body) < 4:
        return "empty"
    code = struct.unpack_from(">H", body, 2)[0]
    try:
        return table(code).name.lower().replace("_", "-")  # type: ignore[operator,no-any-return]
    except (TypeError, ValueError):
        return f"0x{code:04x}"


class Recorder:
    def __init__(self, upstream: tuple[str, int], out: Path) -> None:
        self.upstream = upstream
        self.out = out
        self.seq = 0

    def save(
        self, request: tuple[str, str, Headers, bytes], status: str, headers: Headers, body: bytes
    ) -> None:
        method, target, req_headers, req_body = request
        if not req_headers.get("content-type", "").startswith("application/ipp"):
            return
        self.seq += 1
        op = code_name(req_body, Op)
        stem = f"{self.seq:03d}-{op}"
        (self.out / f"{stem}-request.bin").write_bytes(req_body)
        (self.out / f"{stem}-response.bin").write_bytes(body)
        framing = "chunked" if "chunked" in req_headers.get("transfer-encoding", "") else "length"
        with (self.out / "capture.log").open("a") as log:
            log.write(
                f"{stem}\t{method} {target}\tclient={req_headers.get('user-agent', '?')!r}"
                f"\tserver={headers.get('server', '?')!r}\trequest={len(req_body)}B/{framing}"
                f"\tresponse={len(body)}B http={status} ipp={code_name(body, Status)}\n"
            )

    async def handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection(*self.upstream)
        req_tap, resp_tap = asyncio.StreamReader(), asyncio.StreamReader()
        pending: asyncio.Queue[tuple[str, str, Headers, bytes]] = asyncio.Queue()
        tasks = [
            asyncio.ensure_future(pump(client_r, up_w, req_tap)),
            asyncio.ensure_future(pump(up_r, client_w, resp_tap)),
            asyncio.ensure_future(tolerant(self.parse_requests(req_tap, pending))),
            asyncio.ensure_future(tolerant(self.parse_responses(resp_tap, pending))),
        ]
        await asyncio.gather(*tasks[:2])
        await asyncio.wait(tasks[2:], timeout=5)
        for task in tasks[2:]:
            task.cancel()

    async def parse_requests(
        self, tap: asyncio.StreamReader, pending: asyncio.Queue[tuple[str, str, Headers, bytes]]
    ) -> None:
        while line := await tap.readline():
            if not line.strip():
                continue
            method, target, _ = line.decode("latin-1").split(" ", 2)
            headers = await read_headers(tap)
            body = await read_body(tap, headers, until_eof=False)
            await pending.put((method, target, headers, body))

    async def parse_responses(
        self, tap: asyncio.StreamReader, pending: asyncio.Queue[tuple[str, str, Headers, bytes]]
    ) -> None:
        while line := await tap.readline():
            if not line.strip():
                continue
            status = line.decode("latin-1").split(" ", 2)[1]
            headers = await read_headers(tap)
            if status.startswith("1"):
                continue  # 100 Continue: the final response follows
            request = await pending.get()
            bodiless = request[0] == "HEAD" or status in ("204", "304")
            body = b"" if bodiless else await read_body(tap, headers, until_eof=True)
            self.save(request, status, headers, body)


async def pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tap: asyncio.StreamReader
) -> None:
    try:
        while data := await reader.read(65536):
            tap.feed_data(data)
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        tap.feed_eof()
        writer.close()


async def tolerant(parse: Awaitable[None]) -> None:
    try:
        await parse
    except (asyncio.IncompleteReadError, ValueError, IndexError):
        pass  # a connection closed mid-message or framing we do not parse: traffic is unaffected


def host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=host_port, required=True)
    parser.add_argument("--upstream", type=host_port, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(args.upstream, args.out)
    handler: Callable[..., Awaitable[None]] = recorder.handle
    server = await asyncio.start_server(handler, *args.listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
