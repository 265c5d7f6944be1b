"""The intake log: how a small document becomes durable without a file and an fsync of its own.

On this kind of disk, creating a file costs up to a millisecond or more, and making a new file
durable costs a file system journal commit of its own; concurrent jobs hardly share either. So a
Print-Job document that arrived whole in memory is appended to the log instead, and one
synchronous append (the log is opened O_DSYNC) makes every document of a batch durable at once:
the store's writer does it just before it commits the batch's job rows
(`PendingDocument.settle`), in the same trip.

The document's spool file (the name its job row gives) is written later: when something needs
it (`IntakeLog.ensure`: the dispatcher before forwarding, analysis before measuring), or in the
background once intake is quiet. Then the files are synced, and a log segment is deleted only
when every document it holds is durable on its own or gone with its job. Documents waiting for
their file stay in memory, up to `MAX_UNWRITTEN_BYTES`; past that, files are written at once.
After a crash, start-up rewrites from the log each document of an unfinished job that is missing
or differs on disk (`restore`).

Segments are files `*.log` in their own directory: records of (magic, name length, data length,
name, data, CRC-32 of name and data). A record cut short by a crash was never acknowledged, and
reading stops there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"PGI1"
HEADER = struct.Struct(">4sII")
CRC = struct.Struct(">I")
SEGMENT_BYTES = 64 << 20  # a segment is sealed once it holds this much
QUIET_SECONDS = 1.0  # intake counts as quiet this long after the last flush
MAX_SEALED = 4  # past this many sealed segments, they are retired even while intake is busy
MAX_UNWRITTEN_BYTES = 64 << 20  # documents held in memory, waiting for their file


class PendingDocument:
    """A received document still in memory: `settle` makes it durable in the log (with every
    other document waiting), in whatever thread calls it; calling it again is free."""

    def __init__(self, log: IntakeLog, path: Path, data: bytes):
        self.log = log
        self.path = path
        self.data = data
        self.logged = False  # durable in the log
        self.written = False  # its spool file is written
        self.cancelled = False
        self.error: BaseException | None = None

    def settle(self) -> None:
        self.log.flush_through(self)
        if self.error is not None:
            raise self.error


@dataclass
class _Segment:
    path: Path
    fd: int
    size: int = 0
    names: list[str] = field(default_factory=list)


class IntakeLog:
    def __init__(self, directory: Path):
        self.directory = directory
        self.spool = directory.parent
        self._waiting: list[PendingDocument] = []  # received, not yet in the log
        self._in_flight: list[PendingDocument] = []  # taken by the flush under way
        self._unwritten: dict[str, PendingDocument] = {}  # in the log, file not written yet
        self._unwritten_bytes = 0
        self._lock = threading.Lock()  # the lists above; held for short steps only
        self._flushing = threading.Lock()  # one flush or seal at a time
        self._files = threading.Lock()  # writing a document's file vs cancelling it
        self._current: _Segment | None = None
        self._sealed: list[tuple[Path, list[str]]] = []
        self._last_flush = 0.0
        self._wake = threading.Event()
        self._closed = False
        self._retirer: threading.Thread | None = None

    # --- intake ----------------------------------------------------------------------------

    def add(self, path: Path, data: bytes) -> PendingDocument:
        document = PendingDocument(self, path, data)
        with self._lock:
            self._waiting.append(document)
        return document

    def flush_through(self, document: PendingDocument) -> None:
        """Make durable every waiting document, so `document` too (unless an earlier flush
        already did)."""
        with self._flushing:
            if document.logged or document.error is not None:
                return
            with self._lock:
                batch, self._waiting = self._waiting, []
                self._in_flight = batch
            try:
                self._flush(batch)
            finally:
                with self._lock:
                    self._in_flight = []
        if self._unwritten_bytes > MAX_UNWRITTEN_BYTES:
            self.write_files()  # memory is bounded: past the limit, no more waiting

    def _flush(self, batch: list[PendingDocument]) -> None:
        if not batch:
            return
        records = [_record(d.path.name.encode(), d.data) for d in batch]
        try:
            segment = self._segment()
            _write_all(segment.fd, b"".join(records))  # durable when it returns: O_DSYNC
        except OSError as exc:
            for document in batch:
                document.error = exc
            return
        segment.size += sum(len(r) for r in records)
        segment.names += [d.path.name for d in batch]
        with self._lock:
            for document in batch:
                document.logged = True
                if not document.cancelled:
                    self._unwritten[document.path.name] = document
                    self._unwritten_bytes += len(document.data)
        if segment.size >= SEGMENT_BYTES:
            self._seal()
        self._last_flush = time.monotonic()
        self._start_retirer()

    def _segment(self) -> _Segment:
        if self._current is None:
            new_dir = not self.directory.exists()
            self.directory.mkdir(parents=True, exist_ok=True)
            if new_dir:
                _fsync_dir(self.spool)
            path = self.directory / f"{time.time_ns():020d}.log"
            # O_DSYNC: each append returns once durable, as write + fdatasync would, but in one
            # system call. The writer thread then waits once, not twice, to get the GIL back
            # from the busy event loop.
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_DSYNC
            fd = os.open(path, flags, 0o600)
            _fsync_dir(self.directory)
            self._current = _Segment(path, fd)
        return self._current

    def _seal(self) -> None:
        segment, self._current = self._current, None
        if segment is not None:
            os.close(segment.fd)
            self._sealed.append((segment.path, segment.names))

    # --- the spool files -------------------------------------------------------------------

    def needs_writing(self, path: Path) -> bool:
        return path.name in self._unwritten

    def ensure(self, path: Path) -> None:
        """Write the document's spool file now if it is still only in the log (a thread)."""
        document = self._unwritten.get(path.name)
        if document is not None:
            self._write_file(document)

    def write_files(self) -> None:
        with self._lock:
            unwritten = list(self._unwritten.values())
        for document in unwritten:
            self._write_file(document)

    def _write_file(self, document: PendingDocument) -> None:
        with self._files:
            if document.written or document.cancelled:
                return
            _write_new_file(document.path, document.data, replace=True)
            document.written = True
            with self._lock:
                if self._unwritten.pop(document.path.name, None) is not None:
                    self._unwritten_bytes -= len(document.data)
            document.data = b""

    def cancel(self, path: Path) -> None:
        """The document's job is gone or was never created: its file must not appear after
        the caller unlinks it (a thread: it may wait for a file being written)."""
        with self._lock:
            for document in (*self._waiting, *self._in_flight):
                if document.path == path:
                    document.cancelled = True
            self._waiting = [d for d in self._waiting if not d.cancelled]
        with self._files, self._lock:
            unwritten = self._unwritten.pop(path.name, None)
            if unwritten is not None:
                unwritten.cancelled = True
                self._unwritten_bytes -= len(unwritten.data)

    # --- retiring segments -------------------------------------------------------------------

    def _start_retirer(self) -> None:
        if self._retirer is None and not self._closed:
            self._retirer = threading.Thread(
                target=self._retire_loop, name="intake-log", daemon=True
            )
            self._retirer.start()

    def _retire_loop(self) -> None:
        while not self._closed:
            self._wake.wait(QUIET_SECONDS / 2)
            if self._closed:
                return
            quiet = time.monotonic() - self._last_flush >= QUIET_SECONDS
            if (quiet and (self._current or self._sealed)) or len(self._sealed) >= MAX_SEALED:
                try:
                    self.retire(seal_current=quiet)
                except OSError:
                    log.exception("intake log: spooled documents could not be synced")

    def retire(self, seal_current: bool = True) -> int:
        """Write and sync the files of the logged documents and delete their segments; how
        many segments went."""
        with self._flushing:
            if seal_current:
                self._seal()
            sealed, self._sealed = self._sealed, []
        if not sealed:
            return 0
        try:
            for _, names in sealed:
                for name in names:
                    if self._closed:
                        raise OSError("the spool is closing")
                    self.ensure(self.spool / name)
                    _fsync_file(self.spool / name)
            _fsync_dir(self.spool)
        except OSError:
            with self._flushing:
                self._sealed[:0] = sealed  # tried again next time, or at the next start
            raise
        for path, _ in sealed:
            _unlink(path)
        _fsync_dir(self.directory)
        return len(sealed)

    def close(self) -> None:
        """Stop the retiring thread; what is only in the log is restored at the next start."""
        self._closed = True
        self._wake.set()
        if self._retirer is not None:
            self._retirer.join(timeout=5)
        with self._flushing:
            self._seal()

    # --- after a crash ---------------------------------------------------------------------

    def restore(self, wanted: set[str]) -> int:
        """Rewrite (and sync) each document named in `wanted` that the log holds and that is
        missing or different on disk; the segments stay, to be retired once intake is quiet.
        How many documents were rewritten."""
        if not self.directory.is_dir():
            return 0
        restored = 0
        for segment in sorted(self.directory.glob("*.log")):
            names: list[str] = []
            for name, data in _records(segment):
                if name not in wanted:
                    continue
                names.append(name)
                path = self.spool / name
                if _same_content(path, data):
                    continue
                part = path.with_suffix(".part")  # an orphan, should this be cut short
                _write_new_file(part, data, replace=True)
                _fsync_file(part)
                os.replace(part, path)
                restored += 1
            self._sealed.append((segment, names))
        if restored:
            _fsync_dir(self.spool)
        if self._sealed:
            self._last_flush = time.monotonic() - QUIET_SECONDS  # quiet: retire soon
            self._start_retirer()
        return restored


def _record(name: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(name))
    return HEADER.pack(MAGIC, len(name), len(data)) + name + data + CRC.pack(crc)


def _records(path: Path) -> Iterator[tuple[str, bytes]]:
    blob = path.read_bytes()
    at = 0
    while at + HEADER.size <= len(blob):
        magic, name_len, data_len = HEADER.unpack_from(blob, at)
        end = at + HEADER.size + name_len + data_len + CRC.size
        if magic != MAGIC or end > len(blob):
            return  # cut short by a crash: never acknowledged
        name = blob[at + HEADER.size : at + HEADER.size + name_len]
        data = blob[at + HEADER.size + name_len : end - CRC.size]
        (crc,) = CRC.unpack_from(blob, end - CRC.size)
        if crc != zlib.crc32(data, zlib.crc32(name)):
            return
        yield name.decode(), data
        at = end


def _same_content(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return False


def _write_new_file(path: Path, data: bytes, replace: bool = False) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    try:
        _write_all(fd, data)
    except BaseException:
        os.close(fd)
        _unlink(path)
        raise
    os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return  # its job ended and took it away
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
