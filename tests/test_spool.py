"""The spool: streamed, decompressed, size-limited, nothing left behind on failure."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.analysis.sniff import sniff_format
from gateway.jobs.spool import CompressionError, DocumentTooLarge, Spool


async def _chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_document_is_written_whole_and_named_uniquely(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    data = b"%PDF-1.4\n" + bytes(range(256)) * 100
    first = await spool.receive(_chunks(data))
    second = await spool.receive(_chunks(data))
    assert first.path.read_bytes() == data and first.size == len(data)
    assert first.path != second.path
    assert sniff_format(first.head) == "application/pdf"


@pytest.mark.parametrize(
    ("compression", "packed"),
    [
        ("gzip", gzip.compress),
        ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw RFC 1951
        ("deflate", zlib.compress),  # zlib-wrapped, as some clients send it
    ],
)
async def test_compressed_documents_are_inflated(tmp_path: Path, compression: str, packed) -> None:  # type: ignore[no-untyped-def]
    data = b"RaS2" + b"page data " * 50_000
    spooled = await Spool(tmp_path, 1 << 30).receive(_chunks(packed(data), 777), compression)
    assert spooled.path.read_bytes() == data


async def test_too_large_after_inflation_leaves_nothing(tmp_path: Path) -> None:
    bomb = gzip.compress(b"\0" * (10 << 20))
    with pytest.raises(DocumentTooLarge):
        await Spool(tmp_path, 1 << 20).receive(_chunks(bomb), "gzip")
    assert list(tmp_path.iterdir()) == []


async def test_corrupt_or_truncated_gzip_is_a_compression_error(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    with pytest.raises(CompressionError):
        await spool.receive(_chunks(b"\x1f\x8b\x08\x00garbage-not-deflate"), "gzip")
    with pytest.raises(CompressionError):
        await spool.receive(_chunks(gzip.compress(b"x" * 10000)[:-20]), "gzip")
    assert list(tmp_path.iterdir()) == []


async def test_orphans_are_removed_and_live_documents_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1 << 20)
    keep = await spool.receive(_chunks(b"keep"))
    lost = await spool.receive(_chunks(b"lost"))
    (tmp_path / "half.part").write_bytes(b"x")
    assert spool.remove_orphans([keep.path.name]) == 2
    assert keep.path.exists() and not lost.path.exists()
