"""The documents of a multiple-document job made into one, in their order: the job is then
measured, forwarded and charged once, its impressions the sum of its documents'.

PDF and JPEG documents become one PDF (each JPEG a page of its own size); PWG raster and Apple
raster streams of the same kind are joined page after page. Other mixes cannot be joined and
are refused when the document arrives (`joinable`). Runs in a worker thread (no IO on the
loop), writing a new spool file that is synced before it replaces the parts.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

PDF = "application/pdf"
JPEG = "image/jpeg"
PWG = "image/pwg-raster"
URF = "image/urf"
# What each document format joins into.
JOINED_AS = {PDF: PDF, JPEG: PDF, PWG: PWG, URF: URF}
URF_HEADER = struct.Struct(">8sI")  # "UNIRAST\0", page count
PWG_SYNC = b"RaS2"


class CannotJoin(ValueError):
    """The documents are of formats that do not make one document."""


def joinable(formats: list[str], printer_formats: list[str]) -> str:
    """The format the documents join into, or CannotJoin saying why."""
    kinds = {JOINED_AS.get(f) for f in formats}
    if None in kinds or len(kinds) != 1:
        raise CannotJoin(
            "the documents of one job must all be PDF or JPEG, all PWG raster, or all Apple "
            f"raster (got {', '.join(dict.fromkeys(formats))})"
        )
    joined = kinds.pop()
    assert joined is not None
    if len(formats) > 1 and joined not in printer_formats:
        raise CannotJoin(f"the printer takes no {joined}, into which these documents join")
    return joined


def join(parts: list[tuple[Path, str]], joined: str, target: Path) -> None:
    """Write the documents (path, format) to `target` as one document of format `joined`
    (what `joinable` said)."""
    if joined == PDF:
        data = _join_pdf(parts)
    elif joined == PWG:
        data = _join_pwg([p for p, _ in parts])
    else:
        data = _join_urf([p for p, _ in parts])
    with target.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _join_pdf(parts: list[tuple[Path, str]]) -> bytes:
    import pypdfium2
    from PIL import Image

    out = pypdfium2.PdfDocument.new()
    for path, fmt in parts:
        if fmt == JPEG:
            with Image.open(path) as image:
                page = io.BytesIO()
                dpi = image.info.get("dpi", (72, 72))[0] or 72
                image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(
                    page, "PDF", resolution=float(dpi)
                )
            source = pypdfium2.PdfDocument(page.getvalue())
        else:
            source = pypdfium2.PdfDocument(path)
        out.import_pages(source)
        source.close()
    buffer = io.BytesIO()
    out.save(buffer)
    out.close()
    return buffer.getvalue()


def _join_pwg(paths: list[Path]) -> bytes:
    data = bytearray()
    for index, path in enumerate(paths):
        content = path.read_bytes()
        if not content.startswith(PWG_SYNC):
            raise CannotJoin(f"document {index + 1} is not PWG raster")
        data += content if index == 0 else content[len(PWG_SYNC) :]
    return bytes(data)


def _join_urf(paths: list[Path]) -> bytes:
    pages = 0
    body = bytearray()
    for index, path in enumerate(paths):
        content = path.read_bytes()
        if len(content) < URF_HEADER.size or not content.startswith(b"UNIRAST"):
            raise CannotJoin(f"document {index + 1} is not Apple raster")
        _, count = URF_HEADER.unpack_from(content)
        pages += count
        body += content[URF_HEADER.size :]
    return URF_HEADER.pack(b"UNIRAST\0", pages) + bytes(body)
