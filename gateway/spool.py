"""Documents on disk: streamed in (never held whole in memory), decompressed, size-limited,
fsynced before the job is acknowledged, and removed when their job ends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

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

    async def receive(
        self, chunks: AsyncIterator[bytes], compression: str = "none"
    ) -> SpooledDocument:
        """Write the stream to a new spool file, durable on disk when this returns."""
        path = self.root / f"{uuid.uuid4().hex}.doc"
        partial = path.with_suffix(".part")
        inflater = _Inflater(compression)
        head = bytearray()
        size = 0
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            async for chunk in chunks:
                size = self._write(fd, inflater.feed(chunk), size, head)
            size = self._write(fd, inflater.finish(), size, head)
            await asyncio.to_thread(os.fsync, fd)
        except BaseException:
            os.close(fd)
            partial.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.rename(partial, path)
        await asyncio.to_thread(_fsync_dir, self.root)
        return SpooledDocument(path, size, bytes(head))

    def _write(self, fd: int, data: bytes, size: int, head: bytearray) -> int:
        if not data:
            return size
        size += len(data)
        if size > self.max_bytes:
            raise DocumentTooLarge(f"document is larger than {self.max_bytes} bytes")
        if len(head) < SNIFF_BYTES:
            head += data[: SNIFF_BYTES - len(head)]
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        return size

    def remove(self, path: str | Path) -> None:
        if path:
            with contextlib.suppress(FileNotFoundError):
                Path(path).unlink()

    def remove_orphans(self, keep: Iterable[str]) -> int:
        """Delete spool files no active job refers to (left by a crash mid-receive)."""
        wanted = {Path(p).name for p in keep if p}
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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sniff_format(head: bytes) -> str | None:
    """The MIME type a document's first bytes reveal, for application/octet-stream jobs."""
    if head.startswith(b"%PDF"):
        return "application/pdf"
    if head.startswith(b"RaS2"):
        return "image/pwg-raster"
    if head.startswith(b"UNIRAST"):
        return "image/urf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"%!"):
        return "application/postscript"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    return None
