"""Documents on disk: streamed in (never held whole in memory), decompressed, size-limited,
fsynced before the job is acknowledged, and removed when their job ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .intake_log import IntakeLog

log = logging.getLogger(__name__)
SNIFF_BYTES = 512
READ_CHUNK = 1 << 20


class SpoolError(Exception):
    """The document could not be received."""


class DocumentTooLarge(SpoolError):
    pass


class CompressionError(SpoolError):
    pass


@dataclass(frozen=True)
class SpooledDocument:
    path: Path
    size: int
    head: bytes  # the first bytes, for format detection
    # For a document received with defer=True and still in memory: makes it durable in the
    # intake log (its file is written later, see intake_log.py); to be called, in any thread,
    # before its job is committed.
    settle: Callable[[], None] | None = None


class _Inflater:
    """gzip or deflate (raw RFC 1951, or the zlib wrapper some clients send under that name)."""

    def __init__(self, compression: str):
        self._compression = compression
        self._inflate: zlib._Decompress | None = None
        if compression == "gzip":
            self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        if self._compression == "none":
            return data
        if self._inflate is None:
            wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] * 256 + data[1]) % 31 == 0
            self._inflate = zlib.decompressobj(wbits=zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        try:
            # max_length bounds the output of one step, so a zip bomb cannot blow up memory.
            out = self._inflate.decompress(data, READ_CHUNK)
            parts = [out]
            while self._inflate.unconsumed_tail:
                parts.append(self._inflate.decompress(self._inflate.unconsumed_tail, READ_CHUNK))
            return b"".join(parts) if len(parts) > 1 else out
        except zlib.error as exc:
            raise CompressionError(f"{self._compression} data is corrupt: {exc}") from exc

    def finish(self) -> bytes:
        if self._inflate is None:
            return b""
        if self._compression == "gzip" and not self._inflate.eof:
            raise CompressionError("gzip data is truncated")
        return self._inflate.flush()


class Spool:
    def __init__(self, root: Path, max_bytes: int):
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)
        self.intake_log = IntakeLog(root / "intake-log")

    async def receive(
        self, chunks: AsyncIterator[bytes], compression: str = "none", defer: bool = False
    ) -> SpooledDocument:
        """Write the stream to a new spool file, durable on disk when this returns; with
        defer, a document small enough to be still in memory is made durable only by its
        `settle`, together with the others waiting (one append and one sync for them all)."""
        # No temporary name: a file no job row refers to is an orphan whatever its state, and
        # start-up removes orphans; the row is written only after this returns.
        inflater = _Inflater(compression)
        file = _SpoolFile(self.root / f"{uuid.uuid4().hex}.doc", self.max_bytes)
        try:
            async for chunk in chunks:
                await file.write(inflater.feed(chunk))
            await file.write(inflater.finish())
            if defer and file.in_memory():
                pending = self.intake_log.add(file.path, bytes(file.buffered()))
                return SpooledDocument(file.path, file.size, bytes(file.head), pending.settle)
            await file.close()
        except BaseException:
            await asyncio.shield(asyncio.to_thread(file.discard))
            raise
        return SpooledDocument(file.path, file.size, bytes(file.head))

    async def ensure(self, path: Path) -> None:
        """Make sure the document's spool file is there to be read: one received with defer
        may still be only in the intake log."""
        if self.intake_log.needs_writing(path):
            await asyncio.to_thread(self.intake_log.ensure, path)

    async def remove(self, path: str | Path) -> None:
        """Delete a document off the loop: unlinking a large file can take a quarter second."""
        if path:
            await asyncio.to_thread(self._remove, Path(path))

    def _remove(self, path: Path) -> None:
        self.intake_log.cancel(path)
        _unlink(path)

    def close(self) -> None:
        self.intake_log.close()

    def remove_orphans(self, keep: Iterable[str]) -> int:
        """At start-up: rewrite from the intake log the documents of active jobs a crash left
        missing or incomplete, then delete spool files no active job refers to (left by a
        crash mid-receive)."""
        wanted = {Path(p).name for p in keep if p}
        restored = self.intake_log.restore(wanted)
        if restored:
            log.warning("%d spooled documents restored from the intake log", restored)
        removed = 0
        for entry in self.root.iterdir():
            if entry.suffix in (".doc", ".part") and entry.name not in wanted:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed


async def read_chunks(path: Path, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
    """Stream a spooled document back out without loading it whole (reads off the loop, so a
    slow disk never stalls the other connections)."""
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, chunk_size):
            yield chunk
    finally:
        handle.close()


class _SpoolFile:
    """A new spool file. All file system calls run in worker threads: creating a file or
    writing can wait on the file system journal while other jobs fsync, and the event loop must
    not. A small document is buffered and written, synced and closed in one trip."""

    def __init__(self, path: Path, max_bytes: int):
        self.path = path
        self.max_bytes = max_bytes
        self.size = 0
        self.head = bytearray()
        self._buffer = bytearray()
        self._fd: int | None = None
        self._writing: asyncio.Future[None] | None = None  # the write under way, if any
        # A cancelled receive leaves its thread running: discard waits for it, so an fd is
        # never closed (and its number reused) under a write.
        self._lock = threading.Lock()

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.max_bytes:
            raise DocumentTooLarge(f"document is larger than {self.max_bytes} bytes")
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
        self._buffer += data
        if len(self._buffer) >= READ_CHUNK:
            # One write in flight while the next chunk is received: the disk and the network
            # both stay busy, and memory stays at two chunks.
            await self._wait_for_write()
            pending, self._buffer = self._buffer, bytearray()
            loop = asyncio.get_running_loop()
            self._writing = loop.run_in_executor(None, self._append, pending)

    def in_memory(self) -> bool:
        """Nothing written yet: the whole document is in the buffer."""
        return self._fd is None and self._writing is None

    def buffered(self) -> bytearray:
        return self._buffer

    async def close(self) -> None:
        await self._wait_for_write()
        pending, self._buffer = self._buffer, bytearray()
        await asyncio.to_thread(self._finish, pending)

    async def _wait_for_write(self) -> None:
        if self._writing is not None:
            writing, self._writing = self._writing, None
            await writing

    def _append(self, data: bytes | bytearray) -> None:
        with self._lock:
            self._append_locked(data)

    def _append_locked(self, data: bytes | bytearray) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def _finish(self, data: bytearray) -> None:
        with self._lock:
            self._append_locked(data)
            assert self._fd is not None
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
        _fsync_dir(self.path.parent)  # the file's name must be on disk too

    def discard(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.path.unlink(missing_ok=True)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
