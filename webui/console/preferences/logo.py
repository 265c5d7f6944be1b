"""The company logo for reports: an uploaded image judged by its content, never its name.

Only raster formats Pillow decodes by itself are opened (so no EPS, whose decoder runs
Ghostscript, and no SVG, which Pillow cannot read and which may carry script); the pixels are
re-encoded as a fresh PNG, which drops whatever else the file carried (metadata, trailing
bytes, a polyglot's second payload)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps

from ...i18n import gettext

MAX_UPLOAD = 2 << 20  # bytes
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
MAX_PIXELS = 40_000_000  # before decoding: a small file can claim a huge canvas
MAX_SIDE = 1024  # a report's logo needs no more
# A name that claims one of these formats must hold that format: a file whose name and
# content disagree (a PNG named .jpg) is a disguise or a mistake, and is refused either way.
CLAIMED_BY_SUFFIX = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".gif": "GIF",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}


class LogoError(ValueError):
    """The file is not an image printgate will keep (the message is for the form)."""


def reencode(path: Path, filename: str = "") -> bytes:
    """The image in `path` as a new PNG, at most MAX_SIDE pixels a side. LogoError if it is
    not a raster image in one of FORMATS, cannot be decoded whole, or its name (`filename`,
    as the browser sent it) claims another format. Runs in a thread: it decodes."""
    try:
        with Image.open(path, formats=FORMATS) as image:
            claimed = CLAIMED_BY_SUFFIX.get(Path(filename).suffix.lower())
            if claimed is not None and claimed != image.format:
                raise LogoError(
                    gettext(
                        "The file's name says %(claimed)s but it holds a %(actual)s image:"
                        " export it again as what its name says.",
                        claimed=claimed,
                        actual=image.format or "?",
                    )
                )
            if image.width * image.height > MAX_PIXELS:
                raise LogoError(gettext("The image is too large: at most 40 megapixels."))
            image.load()
            picture = ImageOps.exif_transpose(image)
            if picture.mode not in ("RGB", "RGBA", "L", "LA"):
                picture = picture.convert("RGBA")
            picture.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            picture.save(out, "PNG", optimize=True)
            return out.getvalue()
    except LogoError:
        raise
    except Exception as exc:  # a decoder fed hostile bytes fails in many ways: each refuses
        raise LogoError(
            gettext(
                "This file is not an image printgate can read (PNG, JPEG, GIF, BMP, WebP, TIFF)."
            )
        ) from exc
