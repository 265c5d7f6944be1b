"""PDF and PostScript analysis against the reference tools on the test corpus: page counts and
sizes equal poppler's pdfinfo, mean ink per channel within 1.5 percentage points of
Ghostscript's ink_cov at 600 dpi with fill adjustment off (the ink a printer lays down; kept in
tests/data/analysis, see test_coverage_cad), and the same colour / mono verdict per page; and
`printgate analyze`. Rasters made of the corpus carry their own resolution and are compared
with ink_cov at it."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from gateway.analysis import Page, ink
from gateway.analysis.document import analyze
from gateway.analysis.figures import mean_ink
from gateway.analysis.ink import Ink, converter
from gateway.cli import main as cli
from tests import corpus
from tests.peers import find_binary
from tests.test_coverage_cad import references

pytestmark = pytest.mark.no_database  # the PostgreSQL pass leaves it out

BOUND = 0.015  # ±1.5 percentage points
CONVERSIONS = ("icc", "fast")


@pytest.fixture(scope="session")
def reference() -> dict[str, dict[str, tuple[Ink, ...]]]:
    """ink_cov at 600 dpi per document and conversion."""
    return references()


@pytest.fixture(scope="session")
def corpus_docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, corpus.CorpusDoc]:
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return {doc.name: doc for doc in corpus.cached_build(shared / "analysis-corpus")}


def assert_matches_ink_cov(pages: list[Page], reference: tuple[Ink, ...], what: str) -> None:
    assert len(pages) == len(reference), what
    ours, theirs = mean_ink(p.ink for p in pages), mean_ink(reference)
    for channel in "cmyk":
        difference = abs(getattr(ours, channel) - getattr(theirs, channel))
        assert difference <= BOUND, (
            f"{what}: {channel} {getattr(ours, channel):.4f} vs ink_cov "
            f"{getattr(theirs, channel):.4f}"
        )
    assert [p.color for p in pages] == [r.is_color for r in reference], what


@pytest.mark.parametrize("conversion", CONVERSIONS)
@pytest.mark.parametrize("name", list(corpus.DOCUMENTS))
def test_pdf_matches_pdfinfo_and_ink_cov(
    corpus_docs: dict[str, corpus.CorpusDoc],
    reference: dict[str, dict[str, tuple[Ink, ...]]],
    name: str,
    conversion: str,
) -> None:
    doc = corpus_docs[name]
    pages = analyze(doc.pdf, converter(conversion), "application/pdf")  # type: ignore[arg-type]
    assert len(pages) == corpus.pdfinfo_pages(doc.pdf)
    for page, (width, height) in zip(pages, corpus.pdfinfo_page_sizes(doc.pdf), strict=True):
        assert page.width_mm == pytest.approx(width, abs=0.5)
        assert page.height_mm == pytest.approx(height, abs=0.5)
    assert_matches_ink_cov(pages, reference[name][conversion], f"{name} ({conversion})")


@pytest.mark.parametrize("name", list(corpus.DOCUMENTS))
def test_postscript_matches_ink_cov(
    corpus_docs: dict[str, corpus.CorpusDoc],
    reference: dict[str, dict[str, tuple[Ink, ...]]],
    name: str,
    tmp_path: Path,
) -> None:
    """The PDF turned into PostScript by pdftops, against the PDF's reference."""
    doc = corpus_docs[name]
    ps = tmp_path / f"{name}.ps"
    subprocess.run([find_binary("pdftops"), str(doc.pdf), str(ps)], check=True, timeout=120)
    pages = analyze(ps, converter("icc"), "application/postscript")
    assert len(pages) == corpus.pdfinfo_pages(doc.pdf)
    assert_matches_ink_cov(pages, reference[name]["icc"], f"{name}.ps")


def test_compressed_documents_are_measured_like_the_plain_ones(
    corpus_docs: dict[str, corpus.CorpusDoc], tmp_path: Path
) -> None:
    doc = corpus_docs["mixed"]
    plain = analyze(doc.pdf, converter("icc"), None)
    packed = tmp_path / "mixed.pdf.gz"
    packed.write_bytes(gzip.compress(doc.pdf.read_bytes()))
    assert analyze(packed, converter("icc"), None) == plain
    raster = doc.rasters["pwg-srgb8"]
    deflated = tmp_path / "mixed.pwg.z"
    deflated.write_bytes(zlib.compress(raster.read_bytes()))
    assert len(analyze(deflated, converter("icc"), "image/pwg-raster")) == len(plain)


def printgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_analyze_command_prints_the_job_figures(
    corpus_docs: dict[str, corpus.CorpusDoc],
    reference: dict[str, dict[str, tuple[Ink, ...]]],
    tmp_path: Path,
) -> None:
    doc = corpus_docs["mixed"]
    result = printgate(
        "analyze", str(doc.pdf), "--copies", "2", "--sides", "two-sided-long-edge",
        "--config", str(tmp_path / "none.toml"),
    )  # fmt: skip
    assert result.returncode == 2 and "none.toml" in result.stderr  # a missing config is named
    result = printgate("analyze", str(doc.pdf), "--copies", "2", "--sides", "two-sided-long-edge")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    pages = corpus.pdfinfo_pages(doc.pdf)
    assert report["pages"] == pages and report["impressions"] == 2 * pages
    assert report["sheets"] == 2 * ((pages + 1) // 2)
    assert report["color_impressions"] + report["mono_impressions"] == report["impressions"]
    assert set(report["coverage"]) == {"c", "m", "y", "k"}
    assert report["coverage"]["c"] == pytest.approx(
        mean_ink(reference["mixed"]["icc"]).c, abs=BOUND
    )
    assert len(report["per_page"]) == pages
    first = report["per_page"][0]
    assert set(first) == {"color", "coverage", "category", "width_mm", "height_mm"}
    assert report["area_used_m2"] < report["area_printed_m2"]  # duplex: fewer sheets than sides


def test_analyze_command_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a printable document\n")
    result = printgate("analyze", str(text))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"printgate: {text}: cannot analyse documents of an unknown format"
    ]
    result = printgate("analyze", str(tmp_path / "absent.pdf"))
    assert result.returncode == 2 and "no such file" in result.stderr


def analyze_command(path: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """`printgate analyze` run in this process (no interpreter start-up per document)."""
    assert cli.main(["analyze", str(path), *args]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def test_analyze_command_on_the_whole_corpus(
    corpus_docs: dict[str, corpus.CorpusDoc],
    reference: dict[str, dict[str, tuple[Ink, ...]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Acceptance: for every document, as PDF and as each raster made of it, the command's page
    count is pdfinfo's (the rasters' own headers are checked in test_analysis_raster) and its
    mean coverage is ink_cov's within the bound: at 600 dpi for the PDF, at the raster's own
    resolution for a raster."""
    for doc in corpus_docs.values():
        pages = corpus.pdfinfo_pages(doc.pdf)
        for path in (doc.pdf, *doc.rasters.values()):
            if "black1" in path.name:
                continue  # halftoned to one bit: its ink is the dots', compared in the raster tests
            if path == doc.pdf:
                expected = mean_ink(reference[doc.name]["icc"])
            else:
                expected = mean_ink(corpus.ink_cov(doc.pdf, doc.dpi))
            report = analyze_command(path, capsys=capsys)
            assert report["pages"] == pages, path.name
            for channel in "cmyk":
                assert report["coverage"][channel] == pytest.approx(
                    getattr(expected, channel), abs=BOUND
                ), f"{path.name} {channel}"


def test_without_ghostscripts_profile_measuring_falls_back_to_fast(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    converter.cache_clear()
    monkeypatch.setattr(ink, "PROFILE_DIRS", (tmp_path,))
    try:
        assert isinstance(converter("icc"), ink.FastConversion)
        with pytest.raises(ink.ProfileNotFound, match="cannot use the ICC profile"):
            converter("icc", str(tmp_path / "missing.icc"))
    finally:
        converter.cache_clear()
