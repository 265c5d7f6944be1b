"""A tiny, fast IPP printer for benchmarks: it takes Print-Job, Create-Job + Send-Document,
Get-Printer-Attributes, Get-Job-Attributes, Get-Jobs and Cancel-Job, counts each document's
bytes without storing them, reports the job completed as soon as the last byte is in, and tells
when that was.

    .venv/bin/python bench/ipp_sink.py --port PORT [--host 127.0.0.1] [--rate-mb-s R]

--rate-mb-s reads documents no faster than R MB/s (a printer on 1 Gbit/s Ethernet takes about
117 MB/s); TCP flow control then slows the sender down to that rate.

Printer URI: ipp://HOST:PORT/ipp/print (any path is accepted). GET /stats answers JSON:
{"jobs": {"<id>": {"operation", "bytes", "first_byte", "last_byte", "state"}}, "now": ...};
times are time.monotonic() (CLOCK_MONOTONIC: comparable across processes on one machine).
"first_byte" is when the request carrying the document had its headers parsed, "last_byte"
when the last document byte was read. GET /healthz answers 200.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.ipp import Decoder, Message, Op, Status, Tag, encode
from gateway.ipp import model as m

FORMATS = (
    "application/octet-stream",
    "application/pdf",
    "image/pwg-raster",
    "image/jpeg",
    "image/urf",
)
OPERATIONS = (
    Op.PRINT_JOB,
    Op.VALIDATE_JOB,
    Op.CREATE_JOB,
    Op.SEND_DOCUMENT,
    Op.CANCEL_JOB,
    Op.GET_JOB_ATTRIBUTES,
    Op.GET_JOBS,
    Op.GET_PRINTER_ATTRIBUTES,
)
PENDING, PROCESSING, CANCELED, COMPLETED = 3, 5, 7, 9


@dataclass
class SinkJob:
    id: int
    operation: str
    state: int = PENDING
    bytes: int = 0
    first_byte: float | None = None
    last_byte: float | None = None


class Sink:
    def __init__(self, rate: float = 0.0) -> None:
        self.rate = rate  # bytes per second; 0: as fast as it comes
        self.jobs: dict[int, SinkJob] = {}
        self._ids = itertools.count(1)
        self.started = time.time()

    # --- HTTP ------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        decoder = Decoder(max_bytes=1 << 20)
        message = None
        while message is None:
            chunk = await request.content.readany()
            if not chunk:
                message = decoder.finish()
                break
            message = decoder.feed(chunk)
        base = f"ipp://{request.host}{request.path}"
        op = message.code
        if op in (Op.PRINT_JOB, Op.SEND_DOCUMENT):
            job = self._new_job("Print-Job") if op == Op.PRINT_JOB else self._job(message)
            if job is None:
                await self._drain(request)
                return self._reply(message, Status.NOT_FOUND)
            job.state = PROCESSING
            job.first_byte = arrived
            job.bytes += len(decoder.rest) + await self._drain(request)
            job.last_byte = time.monotonic()
            job.state = COMPLETED
            return self._reply(message, Status.OK, self._job_group(job, base))
        if op == Op.CREATE_JOB:
            job = self._new_job("Create-Job")
            return self._reply(message, Status.OK, self._job_group(job, base))
        if op == Op.GET_JOB_ATTRIBUTES:
            job = self._job(message)
            if job is None:
                return self._reply(message, Status.NOT_FOUND)
            return self._reply(message, Status.OK, self._job_group(job, base))
        if op == Op.CANCEL_JOB:
            job = self._job(message)
            if job is not None and job.state not in (COMPLETED, CANCELED):
                job.state = CANCELED
            return self._reply(message, Status.OK)
        if op == Op.GET_JOBS:
            return self._reply(message, Status.OK)
        if op == Op.VALIDATE_JOB:
            return self._reply(message, Status.OK)
        if op == Op.GET_PRINTER_ATTRIBUTES:
            return self._reply(message, Status.OK, self._printer_group(base))
        return self._reply(message, Status.OPERATION_NOT_SUPPORTED)

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"jobs": {str(k): asdict(v) for k, v in self.jobs.items()}, "now": time.monotonic()}
        )

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _drain(self, request: web.Request) -> int:
        count = 0
        read = request.content.readany
        if not self.rate:
            while chunk := await read():
                count += len(chunk)
            return count
        started = time.monotonic()
        while chunk := await read():
            count += len(chunk)
            ahead = count / self.rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
        return count

    # --- IPP -------------------------------------------------------------------------------

    def _new_job(self, operation: str) -> SinkJob:
        job = SinkJob(next(self._ids), operation)
        self.jobs[job.id] = job
        return job

    def _job(self, message: Message) -> SinkJob | None:
        attribute = message.operation.get("job-id")
        job_id = attribute.integer() if attribute else None
        return self.jobs.get(job_id or 0)

    def _reply(self, request: Message, status: int, *groups: m.Group) -> web.Response:
        operation = m.group(
            Tag.OPERATION,
            [
                m.charset("attributes-charset", "utf-8"),
                m.language("attributes-natural-language", "en"),
            ],
        )
        version = request.version if request.version in ((1, 1), (2, 0)) else (2, 0)
        body = encode(Message(version, status, request.request_id, (operation, *groups)))
        return web.Response(body=body, content_type="application/ipp")

    def _job_group(self, job: SinkJob, base: str) -> m.Group:
        reasons = {
            PENDING: "job-incoming",
            PROCESSING: "job-printing",
            CANCELED: "job-canceled-by-user",
            COMPLETED: "job-completed-successfully",
        }
        return m.group(
            Tag.JOB,
            [
                m.integer("job-id", job.id),
                m.uri("job-uri", f"{base}/{job.id}"),
                m.enum("job-state", job.state),
                m.keyword("job-state-reasons", reasons[job.state]),
                m.text("job-state-message", ""),
                m.integer("job-impressions-completed", 1 if job.state == COMPLETED else 0),
                m.integer("job-media-sheets-completed", 1 if job.state == COMPLETED else 0),
            ],
        )

    def _printer_group(self, base: str) -> m.Group:
        media = ("iso_a4_210x297mm", "na_letter_8.5x11in")
        return m.group(
            Tag.PRINTER,
            [
                m.uri("printer-uri-supported", base),
                m.keyword("uri-security-supported", "none"),
                m.keyword("uri-authentication-supported", "none"),
                m.name_("printer-name", "ipp-sink"),
                m.text("printer-make-and-model", "printgate bench IPP sink"),
                m.text("printer-info", "bench sink"),
                m.enum("printer-state", 3),
                m.keyword("printer-state-reasons", "none"),
                m.boolean("printer-is-accepting-jobs", True),
                m.integer("queued-job-count", 0),
                m.keyword("ipp-versions-supported", "1.1", "2.0"),
                m.enum("operations-supported", *OPERATIONS),
                m.charset("charset-configured", "utf-8"),
                m.charset("charset-supported", "utf-8"),
                m.language("natural-language-configured", "en"),
                m.language("generated-natural-language-supported", "en"),
                m.mime("document-format-default", "application/octet-stream"),
                m.mime("document-format-supported", *FORMATS),
                m.keyword("compression-supported", "none"),
                m.boolean("color-supported", True),
                m.keyword("media-supported", *media),
                m.keyword("media-default", media[0]),
                m.keyword("media-ready", media[0]),
                m.keyword("sides-supported", "one-sided", "two-sided-long-edge"),
                m.keyword("sides-default", "one-sided"),
                m.keyword("print-color-mode-supported", "monochrome", "color"),
                m.keyword("print-color-mode-default", "color"),
                m.integer("copies-default", 1),
                m.keyword(
                    "job-creation-attributes-supported",
                    "copies",
                    "media",
                    "sides",
                    "print-color-mode",
                ),
                m.integer("printer-up-time", int(time.time() - self.started) + 1),
                m.keyword("pdl-override-supported", "attempted"),
            ],
        )


def make_app(rate_mb_s: float = 0.0) -> web.Application:
    sink = Sink(rate_mb_s * 1e6)
    app = web.Application(client_max_size=1 << 20)
    app.router.add_get("/stats", sink.stats)
    app.router.add_get("/healthz", sink.health)
    app.router.add_post("/{tail:.*}", sink.handle)
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description="A fast IPP sink printer for benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate-mb-s", type=float, default=0.0)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    web.run_app(
        make_app(args.rate_mb_s), host=args.host, port=args.port, access_log=None, print=None
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
