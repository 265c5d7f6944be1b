"""The document corpus for analysis tests, made by the tests themselves, and what the real
peers say about it.

`build(directory)` writes the PDFs (reportlab) and, from each, PWG Raster and URF files
(Ghostscript's pwgraster and urf devices) and returns them as `CorpusDoc`s; `cached_build` does
it once for all pytest-xdist workers sharing a directory. The references come from the peers:
`pdfinfo_pages` / `pdfinfo_page_sizes` (poppler) and `ink_cov` (Ghostscript's ink_cov device,
ICC by default, `fast=True` for -dUseFastColor=true), each page an `Ink` of fractions.

Neutral content is DeviceGray (setFillGray / setStrokeGray, "L" images) and colour content
DeviceRGB, because printgate, like Ghostscript, puts neutral pixels on black ink only.

The rasters' resolutions are low (a few seconds for the whole corpus on two cores): their
encodings and colour spaces are what is covered, and a raster is compared with ink_cov at its
own resolution. The PDFs and PostScript are compared with ink_cov at 600 dpi, the ink a printer
lays down, kept in tests/data/analysis (see tests/test_coverage_cad.py, which adds the CAD-like
sheets of issue 15).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import re
import struct
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from gateway.analysis.ink import Ink
from tests.peers import find_binary

MM_PER_POINT = 25.4 / 72.0
GS_TIMEOUT = 120
# Ghostscript widens every fill by 0.3 pixel on each side by default, so that hairlines never
# vanish on screen; at the corpus' 25-100 dpi that adds half again to a 1.5 pt line's ink. The
# references measure the shapes' own area, which is the ink a printer lays down: fill
# adjustment off (.setfilladjust2 is allowed under -dSAFER), for ink_cov and the rasters alike.
EXACT_FILLS = ("-c", "0 0 .setfilladjust2", "-f")

# name: (device, cupsColorSpace, cupsBitsPerColor, analysis module)
RASTERS: dict[str, tuple[str, int, int, str]] = {
    "pwg-srgb8": ("pwgraster", 19, 8, "pwg_raster"),
    "pwg-sgray8": ("pwgraster", 18, 8, "pwg_raster"),
    "pwg-cmyk8": ("pwgraster", 6, 8, "pwg_raster"),
    "pwg-srgb16": ("pwgraster", 19, 16, "pwg_raster"),
    "pwg-black1": ("pwgraster", 3, 1, "pwg_raster"),
    "urf-srgb8": ("urf", 19, 8, "urf"),
    "urf-sgray8": ("urf", 18, 8, "urf"),
}


@dataclass(frozen=True)
class CorpusDoc:
    """One source PDF and the rasters made from it."""

    name: str
    pdf: Path
    dpi: int  # of the rasters, and of the ink_cov reference
    neutral: bool  # DeviceGray only: gray rasters must match ink_cov too
    rasters: dict[str, Path] = field(default_factory=dict)

    def raster_module(self, variant: str) -> str:
        return RASTERS[variant][3]


@dataclass(frozen=True)
class CorpusJpeg:
    """A JPEG and what its page must measure: size, and ink from its full-size pixels."""

    name: str
    path: Path
    width_mm: float
    height_mm: float


# --------------------------------------------------------------------------------------------
# References from the real peers


def pdfinfo_pages(pdf: Path) -> int:
    out = _run([find_binary("pdfinfo"), str(pdf)])
    match = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
    if not match:
        raise AssertionError(f"pdfinfo gave no page count for {pdf}:\n{out}")
    return int(match.group(1))


def pdfinfo_page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """Each page's (width, height) in mm, as pdfinfo reports its media box."""
    count = pdfinfo_pages(pdf)
    out = _run([find_binary("pdfinfo"), "-f", "1", "-l", str(count), str(pdf)])
    sizes = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out, re.MULTILINE)
    return [(float(w) * MM_PER_POINT, float(h) * MM_PER_POINT) for w, h in sizes]


@functools.lru_cache(maxsize=256)
def ink_cov(pdf: Path, dpi: int, fast: bool = False) -> tuple[Ink, ...]:
    """Ghostscript's ink_cov per page, as fractions ("C M Y K CMYK OK" lines are percent)."""
    command = [find_binary("gs"), "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=ink_cov"]
    if fast:
        command.append("-dUseFastColor=true")
    command += [f"-r{dpi}", "-sOutputFile=-", *EXACT_FILLS, str(pdf)]
    out = _run(command)
    pages = [
        Ink(*(float(v) / 100.0 for v in match))
        for match in re.findall(
            r"^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+CMYK OK", out, re.MULTILINE
        )
    ]
    if not pages:
        raise AssertionError(f"ink_cov gave no pages for {pdf}:\n{out}")
    return tuple(pages)


def gs_raster(pdf: Path, out: Path, variant: str, dpi: int) -> Path:
    """`pdf` rendered by Ghostscript as one of the RASTERS variants."""
    device, space, bits, _ = RASTERS[variant]
    _run(
        [
            find_binary("gs"), "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", f"-sDEVICE={device}",
            f"-dcupsColorSpace={space}", f"-dcupsBitsPerColor={bits}", f"-r{dpi}",
            f"-sOutputFile={out}", *EXACT_FILLS, str(pdf),
        ]
    )  # fmt: skip
    return out


def _run(command: Sequence[str]) -> str:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=GS_TIMEOUT, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


# --------------------------------------------------------------------------------------------
# The PDFs


def _canvas(path: Path, size_mm: tuple[float, float]):  # type: ignore[no-untyped-def]
    from reportlab.pdfgen import canvas

    return canvas.Canvas(
        str(path), pagesize=(size_mm[0] / MM_PER_POINT, size_mm[1] / MM_PER_POINT), invariant=True
    )


A4 = (210.0, 297.0)
LETTER = (215.9, 279.4)
A0 = (841.0, 1189.0)
ROLL = (914.0, 3000.0)

WORDS = "printgate measures what each document will put on paper page by page".split()


def _text_page(c, size, shade: float = 0.0, lines: int = 45) -> None:  # type: ignore[no-untyped-def]
    width, height = size[0] / MM_PER_POINT, size[1] / MM_PER_POINT
    c.setFillGray(shade)
    c.setFont("Helvetica", 11)
    for i in range(lines):
        words = [WORDS[(i * 7 + j) % len(WORDS)] for j in range(11)]
        c.drawString(56, height - 60 - i * 16, " ".join(words)[: int(width / 6)])
    c.setFont("Helvetica-Bold", 18)
    c.drawString(56, height - 40, "Quarterly report")


def _line_drawing(c, size, colour: bool) -> None:  # type: ignore[no-untyped-def]
    width, height = size[0] / MM_PER_POINT, size[1] / MM_PER_POINT
    c.setLineWidth(1.5)
    c.setStrokeGray(0)
    step = max(width, height) / 40
    for i in range(40):
        c.line(20, 20 + i * step, width - 20, height - 20 - i * step * 0.5)
        c.line(20 + i * step, 20, width - 20 - i * step * 0.3, height - 20)
    c.setStrokeGray(0.5)
    c.rect(30, 30, width - 60, height - 60, stroke=1, fill=0)
    if colour:
        c.setStrokeColorRGB(0.9, 0.1, 0.1)
        c.setLineWidth(4)
        for i in range(12):
            c.circle(width / 2, height / 2, (i + 1) * min(width, height) / 30, stroke=1, fill=0)


def _photo(seed: int, size: tuple[int, int]) -> Image.Image:
    """A gradient with noise and shapes, RGB: something like a photo, all colours."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 255 * (x / w)
    g = 255 * (y / h)
    b = 255 * (0.5 + 0.5 * np.sin(x / 17.0) * np.cos(y / 23.0))
    image = np.stack([r, g, b], axis=-1) + 18 * rng.standard_normal((h, w, 3), np.float32)
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")


def _gray_ramp(size: tuple[int, int]) -> Image.Image:
    w, h = size
    ramp = np.tile(np.linspace(0, 255, w, dtype=np.float32), (h, 1))
    return Image.fromarray(ramp.astype(np.uint8), "L")


def _image(c, image: Image.Image, x: float, y: float, w: float, h: float) -> None:  # type: ignore[no-untyped-def]
    from reportlab.lib.utils import ImageReader

    c.drawImage(ImageReader(image), x, y, w, h)


def _pts(size: tuple[float, float]) -> tuple[float, float]:
    return size[0] / MM_PER_POINT, size[1] / MM_PER_POINT


def _make_text(path: Path) -> None:
    c = _canvas(path, A4)
    _text_page(c, A4)
    c.showPage()
    _text_page(c, A4, shade=0.4, lines=30)
    c.showPage()
    c.save()


def _make_lines(path: Path) -> None:
    c = _canvas(path, LETTER)
    _line_drawing(c, LETTER, colour=False)
    c.showPage()
    _line_drawing(c, LETTER, colour=True)
    c.showPage()
    c.save()


def _make_photo(path: Path) -> None:
    c = _canvas(path, A4)
    w, h = _pts(A4)
    _image(c, _photo(1, (400, 300)), 40, h - 40 - 380, w - 80, 380)
    c.setFillGray(0)
    c.setFont("Helvetica", 12)
    c.drawString(40, h - 450, "Figure 1: a generated photograph, DeviceRGB")
    c.showPage()
    c.save()


def _make_solid_colour(path: Path) -> None:
    c = _canvas(path, A4)
    w, h = _pts(A4)
    c.setFillColorRGB(0.2, 0.5, 0.8)
    c.rect(0, 0, w, h, stroke=0, fill=1)
    c.showPage()
    c.setFillColorRGB(1.0, 0.85, 0.1)
    c.rect(0, 0, w, h, stroke=0, fill=1)
    c.showPage()
    c.save()


def _make_solid_black(path: Path) -> None:
    c = _canvas(path, LETTER)
    w, h = _pts(LETTER)
    c.setFillGray(0)
    c.rect(0, 0, w, h, stroke=0, fill=1)
    c.showPage()
    c.setFillGray(0.75)
    c.rect(0, 0, w, h, stroke=0, fill=1)
    c.showPage()
    c.save()


def _make_blank(path: Path) -> None:
    c = _canvas(path, A4)
    c.showPage()
    c.save()


def _make_mixed(path: Path) -> None:
    c = _canvas(path, A4)
    w, h = _pts(A4)
    _text_page(c, A4)
    c.showPage()
    c.showPage()  # blank
    _image(c, _photo(2, (300, 400)), 0, 0, w, h)  # full-bleed photo
    c.showPage()
    _image(c, _gray_ramp((256, 64)), 40, h / 2, w - 80, 200)  # DeviceGray image
    _text_page(c, A4, lines=10)
    c.showPage()
    for i, rgb in enumerate([(1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 0)]):
        c.setFillColorRGB(*rgb)
        c.rect(40 + (i % 3) * 170, 120 + (i // 3) * 300, 150, 250, stroke=0, fill=1)
    c.showPage()
    c.save()


def _make_a0(path: Path) -> None:
    c = _canvas(path, A0)
    w, h = _pts(A0)
    _line_drawing(c, A0, colour=True)
    c.setFillColorRGB(0.1, 0.6, 0.3)
    c.rect(w * 0.1, h * 0.1, w * 0.3, h * 0.2, stroke=0, fill=1)
    c.setFillGray(0.2)
    c.setFont("Helvetica-Bold", 120)
    c.drawString(w * 0.1, h * 0.85, "Site plan")
    c.showPage()
    c.save()


def _make_roll(path: Path) -> None:
    c = _canvas(path, ROLL)
    w, h = _pts(ROLL)
    _line_drawing(c, ROLL, colour=False)
    for i in range(6):
        c.setFillColorRGB(i / 5, 0.3, 1 - i / 5)
        c.rect(0, h * i / 6, w, h / 30, stroke=0, fill=1)
    _image(c, _photo(3, (200, 400)), w * 0.2, h * 0.3, w * 0.6, h * 0.3)
    c.showPage()
    c.save()


# name: (maker, dpi, neutral, raster variants)
DOCUMENTS: dict[str, tuple[object, int, bool, tuple[str, ...]]] = {
    "text": (_make_text, 100, True, ("pwg-srgb8", "pwg-sgray8", "pwg-black1", "urf-srgb8",
                                     "urf-sgray8")),
    "lines": (_make_lines, 100, False, ("pwg-srgb8", "urf-srgb8")),
    "photo": (_make_photo, 100, False, ("pwg-srgb8", "pwg-srgb16", "pwg-cmyk8", "urf-srgb8")),
    "solid-colour": (_make_solid_colour, 50, False, ("pwg-srgb8", "pwg-cmyk8", "urf-srgb8")),
    "solid-black": (_make_solid_black, 50, True, ("pwg-srgb8", "pwg-sgray8", "urf-srgb8",
                                                  "urf-sgray8")),
    "blank": (_make_blank, 50, True, ("pwg-srgb8", "pwg-sgray8", "urf-srgb8")),
    "mixed": (_make_mixed, 72, False, ("pwg-srgb8", "pwg-cmyk8", "urf-srgb8")),
    "a0": (_make_a0, 30, False, ("pwg-srgb8", "urf-srgb8")),
    "roll": (_make_roll, 25, False, ("pwg-srgb8", "urf-srgb8")),
}  # fmt: skip


def build(directory: Path) -> list[CorpusDoc]:
    """Write every document of the corpus into `directory` (made if need be)."""
    directory.mkdir(parents=True, exist_ok=True)
    docs = []
    for name, (maker, dpi, neutral, variants) in DOCUMENTS.items():
        pdf = directory / f"{name}.pdf"
        maker(pdf)  # type: ignore[operator]
        rasters = {}
        for variant in variants:
            suffix = "urf" if variant.startswith("urf") else "pwg"
            rasters[variant] = gs_raster(
                pdf, directory / f"{name}.{variant}.{suffix}", variant, dpi
            )
        docs.append(CorpusDoc(name, pdf, dpi, neutral, rasters))
    return docs


def cached_build(directory: Path) -> list[CorpusDoc]:
    """`build` once for every process sharing `directory` (xdist workers): the first builds
    under a lock and writes a manifest, the others read it."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = directory / "manifest.json"
    with _locked(directory / ".lock"):
        if not manifest.exists():
            docs = build(directory)
            manifest.write_text(json.dumps([_doc_json(doc) for doc in docs]))
    return [_doc_from_json(entry) for entry in json.loads(manifest.read_text())]


def _doc_json(doc: CorpusDoc) -> dict[str, object]:
    return {
        "name": doc.name,
        "pdf": str(doc.pdf),
        "dpi": doc.dpi,
        "neutral": doc.neutral,
        "rasters": {k: str(v) for k, v in doc.rasters.items()},
    }


def _doc_from_json(entry: dict[str, object]) -> CorpusDoc:
    rasters = entry["rasters"]
    assert isinstance(rasters, dict)
    return CorpusDoc(
        name=str(entry["name"]),
        pdf=Path(str(entry["pdf"])),
        dpi=int(str(entry["dpi"])),
        neutral=bool(entry["neutral"]),
        rasters={str(k): Path(str(v)) for k, v in rasters.items()},
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------
# JPEGs


def build_jpegs(directory: Path) -> list[CorpusJpeg]:
    """A colour photo at 150 dpi, a grayscale scan with no resolution (72 dpi is assumed), an
    inverted (Adobe) CMYK JPEG at 300 dpi, and a large photo that is decoded in draft mode."""
    directory.mkdir(parents=True, exist_ok=True)
    made = []
    photo = _photo(4, (1200, 900))
    made.append(_save_jpeg(directory / "photo.jpg", photo, dpi=150))
    ramp = _gray_ramp((640, 480))
    made.append(_save_jpeg(directory / "gray.jpg", ramp, dpi=None))
    cmyk = Image.fromarray(
        np.concatenate([np.asarray(photo), np.full((900, 1200, 1), 40, np.uint8)], axis=-1),
        "CMYK",
    )
    made.append(_save_jpeg(directory / "cmyk.jpg", cmyk, dpi=300))
    made.append(_save_jpeg(directory / "large.jpg", _photo(5, (2400, 1800)), dpi=300))
    return made


def _save_jpeg(path: Path, image: Image.Image, dpi: int | None) -> CorpusJpeg:
    extra = {"dpi": (dpi, dpi)} if dpi else {}
    image.save(path, "JPEG", quality=92, **extra)
    used = dpi or 72
    return CorpusJpeg(path.stem, path, image.width * 25.4 / used, image.height * 25.4 / used)


# --------------------------------------------------------------------------------------------
# Rasters written by hand, for what Ghostscript does not make: declared page counts, 16-bit
# gray, CMYK through URF, the fill code, and large pages.

Pixels = npt.NDArray[np.uint8]
AnyPixels = npt.NDArray[np.uint8] | npt.NDArray[np.uint16]

# PWG colour space numbers and their channels.
PWG_SPACES = {"sgray": (18, 1), "srgb": (19, 3), "black": (3, 1), "cmyk": (6, 4), "rgb": (1, 3)}
URF_SPACES = {"sgray": (0, 1), "srgb": (1, 3), "cmyk": (6, 4), "rgb": (5, 3)}


def encode_lines(pixels: Pixels, pixel_bytes: int, blank: int) -> bytes:
    """A page's lines in the PackBits-style encoding: identical lines merged with the repeat
    byte, runs of one pixel, literals, and code 128 when the rest of a line is blank."""
    rows = pixels.reshape(pixels.shape[0], -1)
    out = bytearray()
    row = 0
    while row < len(rows):
        repeat = 1
        while repeat < 256 and row + repeat < len(rows) and (rows[row + repeat] == rows[row]).all():
            repeat += 1
        out.append(repeat - 1)
        out += _encode_line(rows[row].tobytes(), pixel_bytes, blank)
        row += repeat
    return bytes(out)


def _encode_line(line: bytes, unit: int, blank: int) -> bytes:
    out = bytearray()
    units = [line[i : i + unit] for i in range(0, len(line), unit)]
    blank_unit = bytes([blank]) * unit
    inked = len(units)  # units from here on are blank
    while inked > 0 and units[inked - 1] == blank_unit:
        inked -= 1
    i = 0
    while i < len(units):
        if i >= inked and len(units) - i > 1:
            out.append(128)
            break
        run = 1
        while run < 128 and i + run < len(units) and units[i + run] == units[i]:
            run += 1
        if run > 1:
            out.append(run - 1)
            out += units[i]
            i += run
            continue
        start = i
        while i < len(units) and i - start < 128:
            if i + 1 < len(units) and units[i + 1] == units[i]:
                break
            i += 1
        i = max(i, start + 1)
        count = i - start
        out.append(0 if count == 1 else 257 - count)
        out += b"".join(units[start:i])
    return bytes(out)


def pwg_header(
    width: int, height: int, space: str, bits: int, dpi: int, total_pages: int = 0
) -> bytes:
    number, channels = PWG_SPACES[space]
    header = bytearray(1796)
    header[0:9] = b"PwgRaster"
    struct.pack_into(">2I", header, 276, dpi, dpi)
    struct.pack_into(">2I", header, 352, round(width * 72 / dpi), round(height * 72 / dpi))
    struct.pack_into(">2I", header, 372, width, height)
    per_line = (width * bits * channels + 7) // 8
    struct.pack_into(">5I", header, 384, bits, bits * channels, per_line, 0, number)
    struct.pack_into(">I", header, 420, channels)
    struct.pack_into(">I", header, 452, total_pages)
    return bytes(header)


def encode_pwg(
    pages: Sequence[AnyPixels],
    space: str,
    dpi: int = 100,
    bits: int = 8,
    total_pages: int | None = None,
) -> bytes:
    """A PWG raster of the pages (H x W x channels, uint8; uint16 for 16 bits, written
    big-endian; for 1 bit, H x W of 0/1)."""
    _, channels = PWG_SPACES[space]
    blank = 0xFF if space in ("sgray", "srgb", "rgb") else 0x00
    out = bytearray(b"RaS2")
    declared = len(pages) if total_pages is None else total_pages
    for page in pages:
        height, width = page.shape[:2]
        out += pwg_header(width, height, space, bits, dpi, declared)
        out += encode_lines(_raw(page, bits), max(1, bits * channels // 8), blank)
    return bytes(out)


def encode_urf(
    pages: Sequence[AnyPixels],
    space: str,
    dpi: int = 100,
    bits: int = 8,
    total_pages: int | None = None,
) -> bytes:
    number, channels = URF_SPACES[space]
    blank = 0x00 if space == "cmyk" else 0xFF
    declared = len(pages) if total_pages is None else total_pages
    out = bytearray(b"UNIRAST\0" + struct.pack(">I", declared))
    for page in pages:
        height, width = page.shape[:2]
        header = bytearray(32)
        header[0], header[1], header[2], header[3] = bits * channels, number, 1, 4
        struct.pack_into(">3I", header, 12, width, height, dpi)
        out += header
        out += encode_lines(_raw(page, bits), bits * channels // 8, blank)
    return bytes(out)


def _raw(page: AnyPixels, bits: int) -> Pixels:
    if bits == 16:
        return page.astype(">u2").view(np.uint8).reshape(page.shape[0], -1)
    if bits == 1:
        return np.packbits(page.astype(np.uint8), axis=1)
    return page.astype(np.uint8).reshape(page.shape[0], -1)


class GeneratedRaster:
    """A PWG raster page made up on the fly as it is read (a stream that never seeks), of any
    size: `patterns` lines (H x W x 3 sRGB, uint8) used in turn, each `repeat` times, so a 10 m
    roll at 300 dpi costs nothing to make. Its ink is the patterns' mean."""

    def __init__(self, patterns: Pixels, height: int, dpi: int = 300, repeat: int = 4) -> None:
        width = patterns.shape[1]
        self._lines = [
            bytes([repeat - 1]) + _encode_line(row.tobytes(), 3, 0xFF) for row in patterns
        ]
        self._head = b"RaS2" + pwg_header(width, height, "srgb", 8, dpi, 1)
        self._height = height
        self._repeat = repeat
        self._row = 0
        self._index = 0
        self._pending = self._head

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while (size < 0 or len(out) < size) and (self._pending or self._row < self._height):
            if not self._pending:
                self._pending = self._lines[self._index % len(self._lines)]
                self._index += 1
                self._row += self._repeat
            take = len(self._pending) if size < 0 else size - len(out)
            out += self._pending[:take]
            self._pending = self._pending[take:]
        return bytes(out)
