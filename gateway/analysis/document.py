"""One entry point for every format: find the format, undo gzip / deflate, and hand the bytes to
the format's module."""

from __future__ import annotations

import contextlib
import gzip
import importlib
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from . import AnalysisError, Page
from .ink import InkConverter
from .sniff import sniff_format as sniff

# MIME type -> the module that reads it. PDF and PostScript are rendered at the given
# resolution (0: chosen per page size, pdf.resolution); rasters and JPEG carry their own.
MODULES = {
    "application/pdf": "pdf",
    "application/postscript": "postscript",
    "image/pwg-raster": "pwg_raster",
    "image/urf": "urf",
    "image/jpeg": "jpeg",
}
RENDERED = frozenset({"application/pdf", "application/postscript"})
SUPPORTED = tuple(MODULES)
MAX_PAGES = 100_000
COPY_CHUNK = 1 << 20


class _Inflating:
    """A read-only stream of raw deflate or zlib data, decompressed as it is read."""

    def __init__(self, raw: BinaryIO, wrapped: bool):
        self._raw = raw
        self._inflate = zlib.decompressobj(15 if wrapped else -15)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = self._raw.read(COPY_CHUNK)
            if not chunk:
                self._buffer += self._inflate.flush()
                break
            try:
                self._buffer += self._inflate.decompress(chunk)
            except zlib.error as exc:
                raise AnalysisError(f"deflate data is corrupt: {exc}") from exc
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


class _Peeked:
    """A stream whose first bytes were read to find the format, put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size < 0:
            data, self._head = self._head + self._rest.read(), b""
            return data
        data, self._head = self._head[:size], self._head[size:]
        if len(data) < size:
            data += self._rest.read(size - len(data))
        return data


def _is_zlib(head: bytes) -> bool:
    """A zlib header: deflate method, and two bytes whose big-endian value divides by 31."""
    return len(head) >= 2 and (head[0] & 0x0F) == 8 and int.from_bytes(head[:2]) % 31 == 0


def _is_raw_deflate(head: bytes) -> bool:
    """Raw deflate (RFC 1951) has no header: it is deflate if it inflates to a known format."""
    try:
        return sniff(zlib.decompressobj(-15).decompress(head, 16)) is not None
    except zlib.error:
        return False


def _decompressed(raw: BinaryIO) -> BinaryIO:
    head = raw.read(COPY_CHUNK)
    raw.seek(0)
    if head.startswith(b"\x1f\x8b"):
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))
    if sniff(head) is None and (_is_zlib(head) or _is_raw_deflate(head)):
        return cast(BinaryIO, _Inflating(raw, wrapped=_is_zlib(head)))
    return raw


def _module_pages(
    module_name: str, stream: BinaryIO, ink: InkConverter, dpi: float
) -> Iterator[Page]:
    module = importlib.import_module(f"{__package__}.{module_name}")
    if module_name in ("pdf", "postscript"):
        return module.pages(stream, ink, dpi)  # type: ignore[no-any-return]
    return module.pages(stream, ink)  # type: ignore[no-any-return]


def analyze(path: Path, ink: InkConverter, mime: str | None = None, dpi: float = 0.0) -> list[Page]:
    """Every page of the document. A generic or missing MIME type is replaced by what the bytes
    say; a document of an unknown format, or one its reader cannot read, raises AnalysisError."""
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(open(path, "rb"))
        try:
            stream = _decompressed(raw)
            head = stream.read(8)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise AnalysisError(f"compressed data is corrupt: {exc}") from exc
        detected = sniff(head)
        if mime in (None, "", "application/octet-stream"):
            mime = detected
        if mime not in MODULES:
            raise AnalysisError(f"cannot analyse {mime or 'documents of an unknown format'}")
        if stream is raw:
            raw.seek(0)
            source: BinaryIO = raw
        elif mime == "application/pdf":
            # PDF is read from its end: spell out the decompressed file first.
            spooled = stack.enter_context(tempfile.TemporaryFile())
            spooled.write(head)
            try:
                shutil.copyfileobj(stream, spooled, COPY_CHUNK)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise AnalysisError(f"compressed data is corrupt: {exc}") from exc
            spooled.seek(0)
            source = cast(BinaryIO, spooled)
        else:
            source = cast(BinaryIO, _Peeked(head, stream))
        result: list[Page] = []
        try:
            for page in _module_pages(MODULES[mime], source, ink, dpi):
                result.append(page)
                if len(result) > MAX_PAGES:
                    raise AnalysisError(f"more than {MAX_PAGES} pages")
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise AnalysisError(f"compressed data is corrupt: {exc}") from exc
        if not result:
            raise AnalysisError("the document has no pages")
        return result
