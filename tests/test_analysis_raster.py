"""PWG Raster, URF and JPEG analysis against the real peers: Ghostscript renders the corpus
(tests/corpus.py) and measures it with ink_cov, poppler's pdfinfo counts its pages; the rasters
Ghostscript writes must measure the same. Rasters written by hand cover what Ghostscript does
not write, and broken ones must fail with AnalysisError, quickly."""

from __future__ import annotations

import gzip
import io
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
import pytest

from gateway.analysis import AnalysisError, Page, jpeg, pwg_raster, rle, urf
from gateway.analysis.ink import Ink, InkConverter, converter, gray, mono_k_rgb
from tests import corpus

TOLERANCE_PP = 1.5
MODULES: dict[str, Callable[[BinaryIO, InkConverter], Iterator[Page]]] = {
    "pwg_raster": pwg_raster.pages,
    "urf": urf.pages,
}
RASTER_CASES = [
    (name, variant)
    for name, (_, _, _, variants) in corpus.DOCUMENTS.items()
    for variant in variants
]
# Ghostscript's CMYK rasters went through its ICC conversion: only that reference applies.
COVERAGE_CASES = [
    (name, variant, conversion)
    for name, variant in RASTER_CASES
    for conversion in ("icc", "fast")
    if not (conversion == "fast" and "cmyk" in variant)
]


@pytest.fixture(scope="session")
def corpus_docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, corpus.CorpusDoc]:
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return {doc.name: doc for doc in corpus.cached_build(shared / "analysis-corpus")}


def analyse(path: Path, module: str, conversion: str = "icc") -> list[Page]:
    with path.open("rb") as stream:
        return list(MODULES[module](stream, converter(conversion)))


def mean_ink(inks: list[Ink]) -> Ink:
    n = len(inks)
    return Ink(*(sum(getattr(i, ch) for i in inks) / n for ch in "cmyk"))


def pwg_total_page_count(path: Path) -> int:
    with path.open("rb") as stream:
        return int.from_bytes(stream.read(4 + 1796)[4 + 452 : 4 + 456], "big")


def urf_page_count(path: Path) -> int:
    with path.open("rb") as stream:
        return int.from_bytes(stream.read(12)[8:12], "big")


# --------------------------------------------------------------------------------------------
# The corpus against the peers


@pytest.mark.parametrize(("name", "variant"), RASTER_CASES)
def test_pages_and_sizes(corpus_docs: dict[str, corpus.CorpusDoc], name: str, variant: str) -> None:
    doc = corpus_docs[name]
    path = doc.rasters[variant]
    module = doc.raster_module(variant)
    pages = analyse(path, module)
    assert len(pages) == corpus.pdfinfo_pages(doc.pdf)
    declared = pwg_total_page_count(path) if module == "pwg_raster" else urf_page_count(path)
    assert declared in (0, len(pages))  # Ghostscript writes 0: not known when it starts
    slack = 25.4 / doc.dpi + 0.5  # a pixel of rounding either way
    for page, (width, height) in zip(pages, corpus.pdfinfo_page_sizes(doc.pdf), strict=True):
        assert page.width_mm == pytest.approx(width, abs=slack)
        assert page.height_mm == pytest.approx(height, abs=slack)


@pytest.mark.parametrize(("name", "variant", "conversion"), COVERAGE_CASES)
def test_coverage_matches_ink_cov(
    corpus_docs: dict[str, corpus.CorpusDoc], name: str, variant: str, conversion: str
) -> None:
    doc = corpus_docs[name]
    pages = analyse(doc.rasters[variant], doc.raster_module(variant), conversion)
    reference = corpus.ink_cov(doc.pdf, doc.dpi, fast=conversion == "fast")
    assert len(pages) == len(reference)
    ours, theirs = mean_ink([p.ink for p in pages]), mean_ink(list(reference))
    for channel in "cmyk":
        got, want = 100 * getattr(ours, channel), 100 * getattr(theirs, channel)
        assert abs(got - want) <= TOLERANCE_PP, f"{channel}: {got:.3f} % vs ink_cov {want:.3f} %"
    assert [p.color for p in pages] == [r.is_color for r in reference]


def test_gray_rasters_of_neutral_documents_are_monochrome(
    corpus_docs: dict[str, corpus.CorpusDoc],
) -> None:
    for doc in corpus_docs.values():
        for variant, path in doc.rasters.items():
            pages = analyse(path, doc.raster_module(variant))
            if doc.neutral or "gray" in variant or "black" in variant:
                assert not any(p.color for p in pages), (doc.name, variant)
                for page in pages:
                    assert page.mono_k == pytest.approx(page.ink.k, abs=1e-9)


def test_gzip_streams(corpus_docs: dict[str, corpus.CorpusDoc], tmp_path: Path) -> None:
    for variant in ("pwg-srgb8", "urf-srgb8"):
        path = corpus_docs["mixed"].rasters[variant]
        packed = tmp_path / (path.name + ".gz")
        packed.write_bytes(gzip.compress(path.read_bytes()))
        module = corpus_docs["mixed"].raster_module(variant)
        with gzip.open(packed, "rb") as stream:
            pages = list(MODULES[module](cast(BinaryIO, stream), converter("icc")))
        assert pages == analyse(path, module)


# --------------------------------------------------------------------------------------------
# Rasters written by hand


def _exact(pixels: np.ndarray, conversion: str = "icc") -> Ink:
    return converter(conversion).rgb(pixels)


def _page(height: int, width: int, seed: int) -> np.ndarray:
    """White page with a photo band, black text-like strokes and a blank tail."""
    rng = np.random.default_rng(seed)
    page = np.full((height, width, 3), 255, np.uint8)
    band = slice(height // 5, height // 2)
    page[band, width // 8 :] = rng.integers(0, 256, (page[band, width // 8 :].shape), np.uint8)
    page[height // 2 + 3 : height // 2 + 40 : 4, 10 : width // 2] = 0
    page[height - 20 :, : width // 3] = (30, 30, 30)
    return page


@pytest.mark.parametrize("module", ["pwg_raster", "urf"])
def test_hand_written_srgb_pages_measure_exactly(module: str) -> None:
    pages = [_page(120, 97, seed) for seed in range(3)]
    data = (corpus.encode_pwg if module == "pwg_raster" else corpus.encode_urf)(
        pages, "srgb", dpi=150
    )
    results = list(MODULES[module](io.BytesIO(data), converter("icc")))
    assert len(results) == 3
    for page, result in zip(pages, results, strict=True):
        want = _exact(page)
        assert result.ink.as_dict() == pytest.approx(want.as_dict(), abs=1e-9)
        assert result.mono_k == pytest.approx(mono_k_rgb(page), abs=1e-9)
        assert result.width_mm == pytest.approx(97 * 25.4 / 150)
        assert result.height_mm == pytest.approx(120 * 25.4 / 150)


def test_pwg_sixteen_bit_gray_cmyk_and_one_bit() -> None:
    rng = np.random.default_rng(7)
    gray16 = rng.integers(0, 65536, (40, 33, 1)).astype(np.uint16)
    pages = list(
        pwg_raster.pages(
            io.BytesIO(corpus.encode_pwg([gray16], "sgray", bits=16)), converter("fast")
        )
    )
    assert pages[0].ink.k == pytest.approx(gray((gray16 >> 8).astype(np.uint8)).k, abs=1e-9)

    cmyk = rng.integers(0, 256, (30, 21, 4)).astype(np.uint8)
    cmyk[:10] = 0  # blank lines, encoded with code 128
    (page,) = pwg_raster.pages(io.BytesIO(corpus.encode_pwg([cmyk], "cmyk")), converter("icc"))
    want = cmyk.reshape(-1, 4).mean(axis=0) / 255
    assert [page.ink.c, page.ink.m, page.ink.y, page.ink.k] == pytest.approx(list(want))
    assert page.color

    bits = (rng.random((25, 70)) < 0.3).astype(np.uint8)  # Black: a set bit is ink
    (page,) = pwg_raster.pages(
        io.BytesIO(corpus.encode_pwg([bits], "black", bits=1)), converter("icc")
    )
    assert page.ink.k == pytest.approx(bits.mean())
    (page,) = pwg_raster.pages(
        io.BytesIO(corpus.encode_pwg([bits], "sgray", bits=1)), converter("icc")
    )
    assert page.ink.k == pytest.approx(1 - bits.mean())  # sGray: a set bit is white


def test_runs_past_the_end_of_a_line_are_cut_as_cups_cuts_them() -> None:
    """A run of 128 pixels on a line of 10 gives 10; a literal of 12 takes only 10 pixels'
    bytes, and the next line starts right after them."""
    rng = np.random.default_rng(9)
    literal = rng.integers(0, 256, (10, 3), np.uint8)
    body = bytes([0, 127, 1, 2, 3]) + bytes([1, 257 - 12]) + literal.tobytes()
    data = b"RaS2" + corpus.pwg_header(10, 3, "srgb", 8, 100, 1) + body
    (page,) = pwg_raster.pages(io.BytesIO(data), converter("fast"))
    pixels = np.stack([np.tile([1, 2, 3], (10, 1)), literal, literal]).astype(np.uint8)
    assert page.ink.as_dict() == pytest.approx(_exact(pixels, "fast").as_dict(), abs=1e-12)


@pytest.mark.parametrize("bits", [8, 16])
def test_random_encodings_decode_as_the_pixels(bits: int) -> None:
    """Runs, literals, fills and repeated lines in every mix, against the pixels themselves."""
    rng = np.random.default_rng(bits)
    for _ in range(20):
        height, width = (int(v) for v in rng.integers(1, 60, 2))
        palette = rng.integers(0, 256, (4, 3), np.uint8)
        palette[0] = 255  # blank, for the fills
        page = palette[rng.integers(0, 4, (height, width)) * (rng.random((height, 1)) < 0.7)]
        page[rng.random(height) < 0.3] = page[0]  # repeated lines
        if bits == 16:
            wide = page.astype(np.uint16) * 257
            data = corpus.encode_pwg([wide], "srgb", bits=16)
        else:
            data = corpus.encode_pwg([page], "srgb")
        (result,) = pwg_raster.pages(io.BytesIO(data), converter("icc"))
        assert result.ink.as_dict() == pytest.approx(_exact(page).as_dict(), abs=1e-12)
        assert result.mono_k == pytest.approx(mono_k_rgb(page), abs=1e-12)


def test_urf_cmyk_and_declared_page_count() -> None:
    rng = np.random.default_rng(8)
    cmyk = rng.integers(0, 256, (16, 16, 4)).astype(np.uint8)
    data = corpus.encode_urf([cmyk, cmyk], "cmyk", total_pages=2)
    pages = list(urf.pages(io.BytesIO(data), converter("icc")))
    assert len(pages) == 2
    assert pages[0].ink.c == pytest.approx(cmyk[..., 0].mean() / 255)


def test_large_pages_are_sampled_within_a_hundredth_of_a_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rle, "SAMPLE_PIXELS", 60_000)  # this 500 x 400 page: one pixel in 4
    page = _page(500, 400, seed=11)
    data = corpus.encode_pwg([page], "srgb")
    for conversion in ("icc", "fast"):
        (result,) = pwg_raster.pages(io.BytesIO(data), converter(conversion))
        want = _exact(page, conversion)
        for channel in "cmyk":
            assert abs(getattr(result.ink, channel) - getattr(want, channel)) < 0.002, channel
    # The worst case for a grid, a one-pixel checkerboard, is still unbiased.
    board = (np.indices((500, 400)).sum(axis=0) % 2 * 255).astype(np.uint8)[..., None]
    (result,) = pwg_raster.pages(io.BytesIO(corpus.encode_pwg([board], "sgray")), converter("icc"))
    assert result.ink.k == pytest.approx(0.5, abs=0.01)


# --------------------------------------------------------------------------------------------
# Broken documents


def _fails(module: str, data: bytes, *words: str) -> str:
    started = time.monotonic()
    with pytest.raises(AnalysisError) as caught:
        list(MODULES[module](io.BytesIO(data), converter("icc")))
    assert time.monotonic() - started < 5
    message = str(caught.value)
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize("variant", ["pwg-srgb8", "urf-srgb8"])
def test_truncated_in_the_middle_of_a_page(
    corpus_docs: dict[str, corpus.CorpusDoc], variant: str
) -> None:
    doc = corpus_docs["mixed"]
    data = doc.rasters[variant].read_bytes()
    module = doc.raster_module(variant)
    message = _fails(module, data[: len(data) * 3 // 5], "truncated", "lines")
    assert "page 3" in message or "page 4" in message or "page 5" in message


def test_truncated_header_and_missing_pages() -> None:
    page = _page(20, 20, seed=1)
    pwg = corpus.encode_pwg([page], "srgb")
    _fails("pwg_raster", pwg[:1000], "truncated", "page 1 header")
    _fails("pwg_raster", corpus.encode_pwg([page], "srgb", total_pages=3), "1 of the 3 pages")
    _fails("urf", corpus.encode_urf([page], "srgb", total_pages=2), "1 of the 2 pages")
    _fails("urf", b"UNIRAST\0\0\0", "truncated")


def test_absurd_headers() -> None:
    page = _page(20, 20, seed=2)
    pwg = bytearray(corpus.encode_pwg([page], "srgb"))
    pwg[4 + 372 : 4 + 376] = (0x7FFFFFFF).to_bytes(4, "big")
    _fails("pwg_raster", bytes(pwg), "width")
    pwg = bytearray(corpus.encode_pwg([page], "srgb"))
    pwg[4 + 384 : 4 + 388] = (12).to_bytes(4, "big")
    _fails("pwg_raster", bytes(pwg), "bits")
    pwg = bytearray(corpus.encode_pwg([page], "srgb"))
    pwg[4 + 400 : 4 + 404] = (2).to_bytes(4, "big")
    _fails("pwg_raster", bytes(pwg), "colour space 2")
    urf_data = bytearray(corpus.encode_urf([page], "srgb"))
    urf_data[12 + 16 : 12 + 20] = (0xFFFFFFFF).to_bytes(4, "big")
    _fails("urf", bytes(urf_data), "height")
    urf_data = bytearray(corpus.encode_urf([page], "srgb"))
    urf_data[12 + 20 : 12 + 24] = bytes(4)
    _fails("urf", bytes(urf_data), "resolution")


def test_empty_wrong_and_random() -> None:
    _fails("pwg_raster", b"", "empty")
    _fails("urf", b"", "empty")
    _fails("pwg_raster", b"%PDF-1.7\n", "not a PWG raster")
    _fails("urf", b"RaS2" + bytes(100), "not a URF")
    rng = np.random.default_rng(3)
    for _ in range(20):
        noise = rng.integers(0, 256, 5000, np.uint8).tobytes()
        _fails("pwg_raster", b"RaS2" + noise)
        _fails("urf", b"UNIRAST\0" + noise)


def test_corrupted_data_never_escapes_as_another_exception(
    corpus_docs: dict[str, corpus.CorpusDoc],
) -> None:
    rng = np.random.default_rng(4)
    for variant in ("pwg-srgb8", "urf-srgb8"):
        data = corpus_docs["lines"].rasters[variant].read_bytes()
        module = corpus_docs["lines"].raster_module(variant)
        for _ in range(30):
            broken = bytearray(data)
            for where in rng.integers(0, len(data), 8):
                broken[where] = int(rng.integers(0, 256))
            started = time.monotonic()
            try:
                list(MODULES[module](io.BytesIO(bytes(broken)), converter("fast")))
            except AnalysisError:
                pass
            assert time.monotonic() - started < 5


# --------------------------------------------------------------------------------------------
# JPEG


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, corpus.CorpusJpeg]:
    return {j.name: j for j in corpus.build_jpegs(tmp_path_factory.mktemp("jpegs"))}


@pytest.mark.parametrize("name", ["photo", "gray", "cmyk", "large"])
def test_jpeg_size_and_coverage(jpegs: dict[str, corpus.CorpusJpeg], name: str) -> None:
    from PIL import Image

    doc = jpegs[name]
    with doc.path.open("rb") as stream:
        (page,) = jpeg.pages(stream, converter("icc"))
    assert page.width_mm == pytest.approx(doc.width_mm)
    assert page.height_mm == pytest.approx(doc.height_mm)
    with Image.open(doc.path) as image:  # the full-size pixels, no draft
        pixels = np.asarray(image)
        mode = image.mode
    if mode == "RGB":
        want = _exact(pixels)
    elif mode == "L":
        want = gray(pixels)
    else:
        want = Ink(*(pixels.reshape(-1, 4).mean(axis=0) / 255))
    for channel in "cmyk":
        assert abs(getattr(page.ink, channel) - getattr(want, channel)) < 0.005, channel
    assert page.color == (mode != "L")


def test_jpeg_broken(jpegs: dict[str, corpus.CorpusJpeg]) -> None:
    data = jpegs["photo"].path.read_bytes()
    for broken in (b"", b"\xff\xd8\xff\xe0garbage", data[: len(data) // 2], b"RaS2" + data):
        with pytest.raises(AnalysisError):
            list(jpeg.pages(io.BytesIO(broken), converter("icc")))


@pytest.mark.parametrize(("width", "height"), [(9933, 14043), (10795, 118110)])
def test_huge_pages_stay_in_bounded_memory(width: int, height: int) -> None:
    """A0 and a 914 mm x 10 m roll, both at 300 dpi: 420 MB and 3.8 GB of pixels."""
    import tracemalloc

    rng = np.random.default_rng(5)
    patterns = np.full((8, width, 3), 255, np.uint8)
    patterns[:, 100:228] = rng.integers(0, 256, (8, 128, 3), np.uint8)  # literal pixels
    patterns[::2, 1000:3000] = (20, 120, 200)  # a long run
    patterns[1::2, 5000:5007] = 0  # black strokes
    height -= height % (len(patterns) * 4)
    stream = corpus.GeneratedRaster(patterns, height)
    tracemalloc.start()
    try:
        started = time.monotonic()
        (page,) = pwg_raster.pages(stream, converter("fast"))  # type: ignore[arg-type]
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 120e6, f"{peak / 1e6:.0f} MB"
    assert elapsed < 120
    assert page.width_mm == pytest.approx(width * 25.4 / 300)
    assert page.height_mm == pytest.approx(height * 25.4 / 300)
    want = _exact(patterns, "fast")
    for channel in "cmyk":
        assert abs(getattr(page.ink, channel) - getattr(want, channel)) < 1e-4, channel


def test_jpeg_from_a_gzip_stream(jpegs: dict[str, corpus.CorpusJpeg], tmp_path: Path) -> None:
    packed = tmp_path / "photo.jpg.gz"
    packed.write_bytes(gzip.compress(jpegs["photo"].path.read_bytes()))
    with gzip.open(packed, "rb") as stream:
        (page,) = jpeg.pages(cast(BinaryIO, stream), converter("fast"))
    with jpegs["photo"].path.open("rb") as stream:
        assert [page] == list(jpeg.pages(stream, converter("fast")))
