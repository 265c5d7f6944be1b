"""The aiohttp application: the IPP POST route with the body streamed into the decoder, and the
small fixed routes (health, icons). Policy lives in operations/, not here."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from ..ipp import Decoder, IppDecodeError, IppTooLarge, encode
from ..jobs.spool import SpoolError
from .icons import SIZES, printer_icon
from .operations import AuthenticationRequired, IppRequest, Operations
from .queue_attrs import Origin

log = logging.getLogger(__name__)
READ_CHUNK = 1 << 18
OPERATIONS_KEY = web.AppKey("operations", Operations)
READY_KEY: web.AppKey[Callable[[], bool]] = web.AppKey("ready")
MAX_ATTRIBUTES_KEY = web.AppKey("max_attribute_bytes", int)


def make_app(
    operations: Operations, max_attribute_bytes: int, ready: Callable[[], bool]
) -> web.Application:
    # client_max_size only guards aiohttp's own body reads; IPP bodies are streamed and bounded
    # by the decoder (attributes) and the spool (documents).
    app = web.Application(client_max_size=1 << 20)
    app[OPERATIONS_KEY] = operations
    app[READY_KEY] = ready
    app[MAX_ATTRIBUTES_KEY] = max_attribute_bytes
    app.router.add_post("/ipp/print/{queue}", handle_ipp)
    app.router.add_get("/healthz", handle_health)
    app.router.add_get("/icons/printer-{size:\\d+}.png", handle_icon)
    return app


async def handle_health(request: web.Request) -> web.Response:
    if request.app[READY_KEY]():
        return web.Response(text="ok\n")
    return web.Response(status=503, text="starting\n")


async def handle_icon(request: web.Request) -> web.Response:
    size = int(request.match_info["size"])
    if size not in SIZES:
        raise web.HTTPNotFound()
    return web.Response(
        body=printer_icon(size),
        content_type="image/png",
        headers={"Cache-Control": "max-age=86400"},
    )


async def handle_ipp(request: web.Request) -> web.StreamResponse:
    if request.content_type != "application/ipp":
        return web.Response(status=400, text="Content-Type must be application/ipp\n")
    operations = request.app[OPERATIONS_KEY]
    queue = request.match_info["queue"]
    origin = Origin(host=request.host, secure=request.secure)
    first = await request.content.readany()
    if request.content.at_eof() and queue in operations.gw.queues:
        replayed = operations.replay(queue, origin, first)
        if replayed is not None:
            return web.Response(body=replayed, content_type="application/ipp")
    decoder = Decoder(max_bytes=request.app[MAX_ATTRIBUTES_KEY])
    try:
        message = decoder.feed(first) if first else decoder.finish()
        while message is None:
            chunk = await request.content.readany()
            if not chunk:
                message = decoder.finish()
                break
            message = decoder.feed(chunk)
    except IppTooLarge:
        response = web.Response(status=413, text="IPP attributes too large\n")
        response.force_close()
        return response
    except IppDecodeError as exc:
        response = web.Response(status=400, text=f"Malformed IPP request: {exc}\n")
        response.force_close()
        return response
    whole = decoder.length <= len(first)  # the attribute part came in the first chunk
    user, password = _basic_credentials(request)
    ipp_request = IppRequest(
        message=message,
        queue=queue,
        origin=origin,
        peer=request.remote or "",
        document=_document(decoder.rest, request),
        http_user=user,
        http_password=password,
        user_agent=request.headers.get("User-Agent", ""),
        raw=first[: decoder.length] if whole else b"",
    )
    try:
        reply = await operations.handle(ipp_request)
    except AuthenticationRequired as exc:
        response = web.Response(
            status=401,
            text=f"{exc}\n",
            headers={"WWW-Authenticate": f'Basic realm="{exc.realm}", charset="UTF-8"'},
        )
        if not request.content.at_eof():
            response.force_close()
        return response
    body = reply if isinstance(reply, bytes) else encode(reply)
    response = web.Response(body=body, content_type="application/ipp")
    if not request.content.at_eof():
        # The client is still sending a document we did not take: don't read it for nothing.
        response.force_close()
    return response


def _basic_credentials(request: web.Request) -> tuple[str | None, str | None]:
    """HTTP Basic user and password, if the client sent them (CUPS does after a 401)."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None, None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep and user else (None, None)


async def _document(first: bytes, request: web.Request) -> AsyncIterator[bytes]:
    """The request body after the attributes: the document, as the client sends it."""
    if first:
        yield first
    try:
        while chunk := await request.content.readany():
            yield chunk
    except Exception as exc:  # aiohttp raises its own payload errors on a cut upload
        raise SpoolError(f"document upload interrupted: {exc}") from exc
