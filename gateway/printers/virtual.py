"""The built-in virtual printer behind `file:` URIs: it writes each document into a directory and
reports the job completed, so printgate can be tried with no printer at hand."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..ipp import Group, JobState, Op, Range, Resolution, Tag
from ..ipp import model as m
from .backend import UpstreamStatus

EXTENSIONS = {
    "application/pdf": "pdf",
    "image/pwg-raster": "pwg",
    "image/urf": "urf",
    "image/jpeg": "jpg",
    "application/postscript": "ps",
}
FORMATS = (*EXTENSIONS, "application/octet-stream")
MEDIA = {  # PWG self-describing names and their size in hundredths of a millimetre
    "iso_a4_210x297mm": (21000, 29700),
    "na_letter_8.5x11in": (21590, 27940),
    "iso_a3_297x420mm": (29700, 42000),
    "na_legal_8.5x14in": (21590, 35560),
}


def _media_col(name: str) -> m.Collection:
    x, y = MEDIA[name]
    return m.members(
        m.collection(
            "media-size", m.members(m.integer("x-dimension", x), m.integer("y-dimension", y))
        ),
        m.keyword("media-source", "main"),
        m.keyword("media-type", "stationery"),
        *(m.integer(f"media-{side}-margin", 423) for side in ("bottom", "left", "right", "top")),
    )


def virtual_attributes() -> Group:
    media = list(MEDIA)
    return m.group(
        Tag.PRINTER,
        [
            m.text("printer-make-and-model", "printgate virtual printer"),
            m.enum(
                "operations-supported",
                Op.PRINT_JOB,
                Op.CREATE_JOB,
                Op.SEND_DOCUMENT,
                Op.GET_JOB_ATTRIBUTES,
                Op.CANCEL_JOB,
            ),
            m.mime("document-format-supported", *FORMATS),
            m.keyword("media-supported", *media),
            m.keyword("media-ready", media[0]),
            m.keyword("media-default", media[0]),
            m.collection("media-col-database", *(_media_col(n) for n in media)),
            m.collection("media-col-ready", _media_col(media[0])),
            m.collection("media-col-default", _media_col(media[0])),
            m.keyword("media-source-supported", "main"),
            m.keyword("media-type-supported", "stationery"),
            m.keyword(
                "media-col-supported",
                "media-bottom-margin",
                "media-left-margin",
                "media-right-margin",
                "media-size",
                "media-source",
                "media-top-margin",
                "media-type",
            ),
            m.integer("media-bottom-margin-supported", 423),
            m.integer("media-left-margin-supported", 423),
            m.integer("media-right-margin-supported", 423),
            m.integer("media-top-margin-supported", 423),
            m.collection(
                "media-size-supported",
                *(
                    m.members(m.integer("x-dimension", x), m.integer("y-dimension", y))
                    for x, y in MEDIA.values()
                ),
            ),
            m.keyword(
                "sides-supported", "one-sided", "two-sided-long-edge", "two-sided-short-edge"
            ),
            m.keyword("sides-default", "one-sided"),
            m.keyword("print-color-mode-supported", "auto", "color", "monochrome"),
            m.keyword("print-color-mode-default", "auto"),
            m.enum("print-quality-supported", 3, 4, 5),
            m.enum("print-quality-default", 4),
            m.resolution(
                "printer-resolution-supported", Resolution(300, 300, 3), Resolution(600, 600, 3)
            ),
            m.resolution("printer-resolution-default", Resolution(600, 600, 3)),
            m.resolution(
                "pwg-raster-document-resolution-supported",
                Resolution(300, 300, 3),
                Resolution(600, 600, 3),
            ),
            m.keyword("pwg-raster-document-sheet-back", "normal"),
            m.keyword("pwg-raster-document-type-supported", "black_1", "sgray_8", "srgb_8"),
            m.keyword(
                "urf-supported", "CP1", "DM1", "IS1", "MT1", "RS300-600", "SRGB24", "V1.4", "W8"
            ),
            m.range_("copies-supported", Range(1, 999)),
            m.integer("copies-default", 1),
            m.boolean("color-supported", True),
            m.boolean("page-ranges-supported", True),
            m.enum("orientation-requested-supported", 3, 4, 5, 6),
            m.enum("orientation-requested-default", 3),
            m.keyword("output-bin-supported", "face-up"),
            m.keyword("output-bin-default", "face-up"),
            m.keyword("print-scaling-supported", "auto", "auto-fit", "fill", "fit", "none"),
            m.keyword("print-scaling-default", "auto"),
            m.enum("finishings-supported", 3),
            m.enum("finishings-default", 3),
            m.integer("job-priority-supported", 100),
            m.integer("pages-per-minute", 60),
            m.attr(
                "printer-supply",
                Tag.OCTET_STRING,
                b"index=1;class=receptacleThatIsFilled;type=paper;unit=percent;maxcapacity=100;level=100;",
            ),
            m.text("printer-supply-description", "Paper"),
            m.integer("pages-per-minute-color", 60),
            m.integer("job-priority-default", 50),
            m.keyword(
                "multiple-document-handling-supported",
                "separate-documents-uncollated-copies",
                "separate-documents-collated-copies",
            ),
            m.integer("number-up-supported", 1),
            m.integer("number-up-default", 1),
            m.keyword(
                "print-content-optimize-supported",
                "auto",
                "graphic",
                "photo",
                "text",
                "text-and-graphic",
            ),
            m.keyword("print-content-optimize-default", "auto"),
            m.text(
                "printer-device-id", "MFG:printgate;MDL:virtual printer;CMD:PDF,PWGRaster,URF,JPEG;"
            ),
        ],
    )


class FilePrinter:
    """Documents land in the directory named by the file: URI, one file per job."""

    def __init__(self, uri: str):
        self.uri = uri
        self.directory = Path(unquote(urlsplit(uri).path))

    async def fetch_attributes(self) -> Group:
        self.directory.mkdir(parents=True, exist_ok=True)
        return virtual_attributes()

    async def submit(
        self,
        attributes: Sequence[m.Attribute],
        document: Path,
        document_format: str,
        job_name: str,
        job_key: str,
        on_created: Callable[[int], Awaitable[None]],
    ) -> int:
        target = self.directory / f"{job_key}.{EXTENSIONS.get(document_format, 'bin')}"
        await asyncio.to_thread(_deliver, document, target)
        return 1

    async def job_status(self, upstream_id: int) -> UpstreamStatus | None:
        return UpstreamStatus(JobState.COMPLETED, ("job-completed-successfully",))

    async def cancel(self, upstream_id: int) -> None:
        return None

    async def identify(self, actions: Sequence[str]) -> None:
        return None  # a directory has no lights to flash


def _deliver(document: Path, target: Path) -> None:
    """Copy then rename, so the output directory never shows a half-written document, and a
    job delivered twice (after a crash) still leaves one file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    shutil.copyfile(document, partial)
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, target)
