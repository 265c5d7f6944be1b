"""A small IPP client over aiohttp, for talking to the printers behind the queues."""

from __future__ import annotations

import itertools
import ssl
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from ..ipp import Decoder, IppDecodeError, Message, Op, Tag, encode
from ..ipp import model as m

MAX_RESPONSE_BYTES = 16 << 20
USER_AGENT = "printgate"


class PrinterUnreachable(Exception):
    """No IPP conversation was possible: refused, timed out, reset, or not IPP."""


_request_ids = itertools.count(1)


def http_url(uri: str) -> str:
    """ipp://host/path -> http://host:631/path (ipps -> https, default port 631 for both)."""
    parts = urlsplit(uri)
    scheme = {"ipp": "http", "ipps": "https"}.get(parts.scheme, parts.scheme)
    netloc = parts.netloc
    if parts.scheme in ("ipp", "ipps") and parts.port is None:
        netloc = f"{netloc}:631"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def operation_group(printer_uri: str, *extra: m.Attribute, user: str = USER_AGENT) -> m.Group:
    return m.group(
        Tag.OPERATION,
        [
            m.charset("attributes-charset", "utf-8"),
            m.language("attributes-natural-language", "en"),
            m.uri("printer-uri", printer_uri),
            m.name_("requesting-user-name", user),
            *extra,
        ],
    )


def request(
    op: Op, printer_uri: str, *operation_attrs: m.Attribute, groups: Sequence[m.Group] = ()
) -> Message:
    return Message(
        (2, 0),
        op,
        next(_request_ids),
        (operation_group(printer_uri, *operation_attrs), *groups),
    )


class IppClient:
    def __init__(self, connect_timeout: float = 10.0, read_timeout: float = 120.0):
        # Printers almost always present self-signed certificates; the URI is configured by the
        # administrator, so we encrypt without verifying, as CUPS does for ipps printers.
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ctx, limit=0, force_close=False),
            timeout=aiohttp.ClientTimeout(
                total=None, connect=connect_timeout, sock_read=read_timeout
            ),
            headers={"User-Agent": USER_AGENT},
        )

    async def close(self) -> None:
        await self._session.close()

    async def send(
        self, uri: str, message: Message, document: AsyncIterator[bytes] | None = None
    ) -> Message:
        """POST one request (and its document, streamed) and decode the response."""
        body: bytes | AsyncIterator[bytes]
        if document is None:
            body = encode(message)
        else:
            body = _with_document(message, document)
        try:
            async with self._session.post(
                http_url(uri), data=body, headers={"Content-Type": "application/ipp"}
            ) as response:
                if response.status != 200:
                    raise PrinterUnreachable(f"HTTP {response.status} from {uri}")
                decoder = Decoder(max_bytes=MAX_RESPONSE_BYTES)
                async for chunk in response.content.iter_any():
                    if decoder.feed(chunk) is not None:
                        break
                return decoder.finish()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise PrinterUnreachable(f"{uri}: {exc or type(exc).__name__}") from exc
        except IppDecodeError as exc:
            raise PrinterUnreachable(f"{uri}: malformed IPP response: {exc}") from exc


async def _with_document(message: Message, document: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield encode(message)
    async for chunk in document:
        yield chunk
