"""Uploaded files (logo, restore archive, CSV lists): a multipart form read with a size cap,
its CSRF token checked before any file is read, each file spooled to a temporary file. The
caller judges the content (never the name or the declared type) and the files are deleted
when the block ends, kept or not."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import BodyPartReader, web

from ..i18n import gettext
from .guard import CSRF_FIELD, csrf_token, tokens_match

CHUNK = 64 << 10


@dataclass(frozen=True)
class UploadedFile:
    filename: str  # as the browser named it: shown, never trusted
    path: Path
    size: int


@dataclass
class UploadedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)


class UploadTooLarge(web.HTTPRequestEntityTooLarge):
    def __init__(self, max_bytes: int, actual: int):
        super().__init__(
            max_size=max_bytes,
            actual_size=actual,
            text=gettext("The file is too large: at most %(n)s MB.", n=max_bytes >> 20),
        )


@asynccontextmanager
async def read_form(request: web.Request, max_bytes: int) -> AsyncIterator[UploadedForm]:
    """The form's fields and files. 413 past max_bytes (checked on the declared length first,
    then on what arrives); 403 when the CSRF field is missing, wrong, or comes after a file
    (a form puts its hidden token first)."""
    if not request.content_type.startswith("multipart/form-data"):
        raise web.HTTPBadRequest(text=gettext("This form sends a file: use the page's form."))
    if request.content_length is not None and request.content_length > max_bytes:
        raise UploadTooLarge(max_bytes, request.content_length)
    form = UploadedForm()
    with tempfile.TemporaryDirectory(prefix="printgate-upload-") as folder:
        reader = await request.multipart()
        total = 0
        checked = False
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            if part.filename is None:
                value = (await part.read(decode=True)).decode("utf-8", "replace")
                total += len(value)
                if total > max_bytes:
                    raise UploadTooLarge(max_bytes, total)
                form.fields.setdefault(part.name, value)
                if part.name == CSRF_FIELD:
                    checked = tokens_match(value, csrf_token(request))
                continue
            if not checked:
                break
            path = Path(folder) / f"{len(form.files)}.upload"
            size = 0
            with path.open("wb") as out:
                while chunk := await part.read_chunk(CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if total > max_bytes:
                        raise UploadTooLarge(max_bytes, total)
                    out.write(chunk)
            form.files[part.name] = UploadedFile(part.filename, path, size)
        if not checked:
            raise web.HTTPForbidden(
                text="The form has expired or did not come from this site: reload the page and"
                " send it again."
            )
        yield form
