"""The documents of a multiple-document job, listed in a small file in the spool beside them
(`job-<id>.documents`): number, name, format, size, and the spool file of each until they are
joined into the job's one document. The list outlives the files, so that Get-Documents still
describes a finished job.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ...jobs.events import JobEnded
from ...jobs.record import Job
from ...jobs.spool import Spool
from .queue_admin import write_atomically


@dataclass
class Document:
    number: int
    name: str
    format: str
    bytes: int
    file: str  # in the spool; "" once joined into the job's document (or dropped)
    canceled: bool = False


class DocumentList:
    def __init__(self, spool: Spool):
        self.spool = spool

    def path(self, job: Job) -> Path:
        return self.spool.root / f"job-{job.id}.documents"

    async def read(self, job: Job) -> list[Document]:
        try:
            raw = await asyncio.to_thread(self.path(job).read_text, encoding="utf-8")
        except FileNotFoundError:
            if not job.document_path:
                return []
            # A job of one document (Print-Job, or Send-Document once): its record says it all.
            return [Document(1, job.document_name, job.document_format, job.document_bytes, "")]
        return [Document(**entry) for entry in json.loads(raw)]

    async def keep(self, job: Job, documents: list[Document]) -> None:
        content = json.dumps([asdict(d) for d in documents])
        await asyncio.to_thread(write_atomically, self.path(job), content)

    async def job_ended(self, event: JobEnded) -> None:
        """A job canceled or aborted before its documents were joined leaves their files:
        delete them (the job's first document is the spool's own to delete)."""
        job = event.job
        if not await asyncio.to_thread(self.path(job).is_file):
            return
        documents = await self.read(job)
        left = [d for d in documents if d.file and d.file != job.document_path]
        if not left:
            return
        for document in left:
            await self.spool.remove(self.spool.root / document.file)
            document.file = ""
        await self.keep(job, documents)
