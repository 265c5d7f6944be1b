"""Multiple-document jobs (RFC 8011 Send-Document, PWG 5100.5 document objects): Create-Job,
then Send-Document for each document, the last one with last-document true (or Close-Job).

Each document is spooled as it comes and listed, with its name and format, in a small file in
the spool (document_list.py); at the last one they are joined into one document
(document_merge.py), so that the job is measured, forwarded and charged once, its impressions
the sum of its documents'. Until then a document can be canceled (Cancel-Document) or renamed
(Set-Document-Attributes); Get-Documents and Get-Document-Attributes describe them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from ...ipp import Attribute, JobState, Status, Tag
from ...ipp import model as m
from ...jobs.record import Job
from ...jobs.state import INCOMING
from ..queue_attrs import QueueView
from .core import IppError, IppRequest, Reply, _ok, _op_attr, _op_text, _requested
from .creating import Creating, _resolved_format
from .document_list import Document
from .document_merge import CannotJoin, join, joinable
from .privacy import authorize, requester

# Set-Document-Attributes takes these (while the job is still taking documents).
DOCUMENT_SETTABLE = ("document-name",)
DOCUMENT_STATES = {
    JobState.PENDING: 3,
    JobState.PENDING_HELD: 3,  # documents have no held state: their job has
    JobState.PROCESSING: 5,
    JobState.PROCESSING_STOPPED: 6,
    JobState.CANCELED: 7,
    JobState.ABORTED: 8,
    JobState.COMPLETED: 9,
}


class Documents(Creating):
    # --- Send-Document and the end of a job ----------------------------------------------

    async def send_document(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        self._check_owner(request, job)
        if INCOMING not in job.reasons:
            raise IppError(Status.NOT_POSSIBLE, "the job is not accepting documents")
        last = _op_attr(request, "last-document")
        if last is None or last.tag != Tag.BOOLEAN:
            raise IppError(Status.BAD_REQUEST, "last-document (boolean) is required")
        job_request = self._job_request(request, queue, with_document=True)
        spooled, size, detected = await self._receive(request, job_request.compression)
        if size:
            await self._add(
                job, queue, request, spooled, size, job_request.document_format, detected
            )
        else:
            await self.gw.spool.remove(self.gw.spool.root / spooled)
        if last.value is True:
            await self._close(job)
        return self._job_reply(request, job, _ok(job_request.unsupported), job_request.unsupported)

    async def _add(
        self,
        job: Job,
        queue: QueueView,
        request: IppRequest,
        spooled: str,
        size: int,
        declared: str,
        detected: str | None,
    ) -> None:
        fmt = _resolved_format(declared, detected)
        name = _op_text(request, "document-name") or ""
        documents = await self.gw.documents.read(job)
        if not documents:
            await self.gw.jobs.update(
                job,
                document_path=spooled,
                document_bytes=size,
                document_format=fmt,
                document_name=name,
            )
            return
        kept = [d for d in documents if not d.canceled]
        try:
            joinable([*(d.format for d in kept), fmt], queue.document_formats())
        except CannotJoin as exc:
            await self.gw.spool.remove(self.gw.spool.root / spooled)
            raise IppError(
                Status.DOCUMENT_FORMAT_NOT_SUPPORTED, str(exc), [m.mime("document-format", fmt)]
            ) from exc
        # Not a ".doc": the start-up sweep keeps only the job's first document by name, and
        # this one must outlive a restart too.
        part = f"{Path(spooled).stem}.part-doc"
        await asyncio.to_thread((self.gw.spool.root / spooled).rename, self.gw.spool.root / part)
        if len(documents) == 1 and not documents[0].file:
            documents[0].file = job.document_path
        documents.append(Document(len(documents) + 1, name, fmt, size, part))
        await self.gw.documents.keep(job, documents)
        await self.gw.jobs.update(
            job, document_bytes=sum(d.bytes for d in documents if not d.canceled)
        )

    async def _close(self, job: Job) -> None:
        documents = [d for d in await self.gw.documents.read(job) if not d.canceled and d.file]
        if len(documents) > 1:
            await self._join(job, documents)
        await super()._close(job)

    async def _join(self, job: Job, documents: list[Document]) -> None:
        root = self.gw.spool.root
        queue = self.gw.queues.get(job.queue)
        formats = queue.document_formats() if queue else []
        joined = joinable([d.format for d in documents], formats)
        target = root / f"{uuid.uuid4().hex}.doc"
        parts = [(root / d.file, d.format) for d in documents]
        try:
            await asyncio.to_thread(join, parts, joined, target)
        except Exception as exc:  # a document its format's reader refuses: the job fails
            await self.gw.spool.remove(target)
            raise IppError(
                Status.DOCUMENT_FORMAT_ERROR, f"the documents cannot be joined: {exc}"
            ) from exc
        size = await asyncio.to_thread(lambda: target.stat().st_size)
        await self.gw.jobs.update(
            job, document_path=target.name, document_bytes=size, document_format=joined
        )
        for path, _ in parts:
            await self.gw.spool.remove(path)
        listed = await self.gw.documents.read(job)
        for document in listed:
            document.file = ""
        await self.gw.documents.keep(job, listed)

    # --- the document operations ---------------------------------------------------------

    async def _document(self, request: IppRequest, job: Job) -> tuple[Document, list[Document]]:
        number = _op_attr(request, "document-number")
        if number is None or number.tag != Tag.INTEGER:
            raise IppError(Status.BAD_REQUEST, "document-number (integer) is required")
        documents = await self.gw.documents.read(job)
        for document in documents:
            if document.number == number.integer():
                return document, documents
        raise IppError(Status.NOT_FOUND, f"job {job.id} has no document {number.integer()}")

    async def get_documents(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        private = not (await requester(self.gw, request, queue)).owns(job)
        requested = _requested(request)
        documents = await self.gw.documents.read(job)
        groups = [
            m.group(Tag.DOCUMENT, _attributes(d, len(documents), job, request, requested, private))
            for d in documents
        ]
        return self.response(request, Status.OK, *groups)

    async def get_document_attributes(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        private = not (await requester(self.gw, request, queue)).owns(job)
        document, documents = await self._document(request, job)
        attributes = _attributes(
            document, len(documents), job, request, _requested(request), private
        )
        return self.response(request, Status.OK, m.group(Tag.DOCUMENT, attributes))

    async def cancel_document(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        await authorize(self.gw, request, queue, job)
        document, documents = await self._document(request, job)
        if INCOMING not in job.reasons or not document.file or len(documents) < 2:
            raise IppError(
                Status.NOT_POSSIBLE,
                "only a document of a job still taking documents can be canceled (else cancel "
                "the job)",
            )
        if document.canceled:
            raise IppError(Status.NOT_POSSIBLE, f"document {document.number} is already canceled")
        document.canceled = True
        await self.gw.spool.remove(self.gw.spool.root / document.file)
        if document.file == job.document_path:
            first = next(d for d in documents if not d.canceled)
            await self.gw.jobs.update(
                job,
                document_path=first.file,
                document_format=first.format,
                document_name=first.name,
            )
        await self.gw.documents.keep(job, documents)
        return self.response(request, Status.OK)

    async def set_document_attributes(self, request: IppRequest, queue: QueueView) -> Reply:
        job = await self._job(request, queue)
        await authorize(self.gw, request, queue, job)
        document, documents = await self._document(request, job)
        group = request.message.group(Tag.DOCUMENT)
        if group is None or not group.attributes:
            raise IppError(Status.BAD_REQUEST, "no document attributes to set")
        refused = [a for a in group if a.name not in DOCUMENT_SETTABLE]
        if refused:
            raise IppError(
                Status.ATTRIBUTES_NOT_SETTABLE,
                f"{refused[0].name} is not settable",
                [m.attr(a.name, Tag.NOT_SETTABLE, None) for a in refused],
            )
        if INCOMING not in job.reasons:
            raise IppError(Status.NOT_POSSIBLE, "the job's documents can no longer be changed")
        name = group.get("document-name")
        if name is not None:
            document.name = (name.text() or "")[:255]
            if document.number == 1 or len(documents) == 1:
                await self.gw.jobs.update(job, document_name=document.name)
            if len(documents) > 1 or document.file:
                await self.gw.documents.keep(job, documents)
        return self.response(request, Status.OK)


def _attributes(
    document: Document,
    count: int,
    job: Job,
    request: IppRequest,
    requested: list[str] | None,
    private: bool,
) -> list[Attribute]:
    origin = request.origin
    job_uri = f"{origin.ipp_scheme}://{origin.host}/ipp/print/{job.queue}/{job.id}"
    state = JobState.CANCELED if document.canceled else job.state
    if INCOMING in job.reasons and not document.canceled:
        state = JobState.PENDING
    now = int(time.time())
    attributes = [
        m.integer("document-number", document.number),
        m.integer("document-job-id", job.id),
        m.uri("document-job-uri", job_uri),
        m.uri("document-printer-uri", f"{origin.ipp_scheme}://{origin.host}/ipp/print/{job.queue}"),
        m.mime("document-format", document.format),
        m.enum("document-state", DOCUMENT_STATES[state]),
        m.keyword("document-state-reasons", "canceled-by-user" if document.canceled else "none"),
        m.integer("k-octets", (document.bytes + 1023) // 1024),
        m.boolean("last-document", INCOMING not in job.reasons and document.number == count),
        m.integer("printer-up-time", now),
    ]
    if not private:
        attributes.append(m.name_("document-name", document.name))
    if requested is None or "all" in requested:
        return attributes
    return [a for a in attributes if a.name in requested]
