"""The live view's event stream (server-sent events): each batch of job changes the feed
gathers, as one `data:` line of JSON, and a comment every KEEPALIVE seconds so that proxies
and the browser know the stream is alive. A stream the feed dropped for falling behind ends;
the browser's EventSource reconnects and jobs.js reloads the view."""

from __future__ import annotations

from aiohttp import web

from gateway.server.job_feed import JobFeed, Listener

from .common import feed

KEEPALIVE = 15.0
# The streams open in this area, so that shutdown can end them at once rather than wait for
# the shutdown timeout.
OPEN_KEY = web.AppKey("job-streams", dict)


async def events(request: web.Request) -> web.StreamResponse:
    jobs = feed(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a reverse proxy must not hold the events back
        }
    )
    await response.prepare(request)
    listener = jobs.listen()
    request.app[OPEN_KEY][listener] = jobs
    try:
        await response.write(b"retry: 2000\n: connected\n\n")
        while True:
            batch = await listener.next_batch(KEEPALIVE)
            if batch is None:
                break  # dropped, or printgate is stopping
            if batch is False:
                await response.write(b": keepalive\n\n")
            else:
                await response.write(f"event: jobs\ndata: {batch}\n\n".encode())
    except (ConnectionResetError, ConnectionError):
        pass  # the browser went away
    finally:
        jobs.leave(listener)
        request.app[OPEN_KEY].pop(listener, None)
    return response


async def close_streams(app: web.Application) -> None:
    """At shutdown: end every open stream now."""
    streams: dict[Listener, JobFeed] = app[OPEN_KEY]
    for listener, jobs in list(streams.items()):
        jobs.drop(listener)
