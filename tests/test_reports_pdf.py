"""A look at the reports' PDF pages (rendered by poppler's pdftoppm, kept as PNGs under
test-artifacts/reports/): the company logo is there (pdfimages), the charts are drawn (the pie's
and the coverage wheel's colours fill their part of the page), the tables are there (pdftotext);
and the same charts render as inline SVG for the pages."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gateway.reports.by_name import ByNameOptions
from gateway.reports.charts import svg
from gateway.reports.documents import by_name_charts, summary_charts
from gateway.reports.period import Period
from gateway.reports.render import ReportRequest, figures, render
from gateway.reports.summary import Summary
from gateway.store.store import Store
from tests import test_reports_fixture as fx

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "reports"
WHOLE = Period(fx.FIRST, fx.LAST)
# The pie's first colour (PALETTE[0]) and the coverage wheel's cyan.
PIE_BLUE = (0x1F, 0x77, 0xB4)
INK_CYAN = (0x00, 0xA0, 0xE0)


def _logo() -> bytes:
    """A 120 x 40 two-colour PNG, as an administrator would upload."""
    image = Image.new("RGB", (120, 40), (200, 30, 30))
    image.paste((30, 30, 200), (60, 0, 120, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _pages(pdf: Path, name: str) -> list[Image.Image]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = ARTIFACTS / name
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(prefix)], check=True)
    return [Image.open(p).convert("RGB") for p in sorted(ARTIFACTS.glob(f"{name}-*.png"))]


def _count(image: Image.Image, colour: tuple[int, int, int], box: tuple[int, int, int, int]) -> int:
    """Pixels of the box within 24 levels of the colour on each channel."""
    region = np.asarray(image.crop(box), dtype=np.int16)
    close = np.abs(region - np.array(colour, dtype=np.int16)) <= 24
    return int(np.count_nonzero(close.all(axis=2)))


@pytest.mark.parametrize("kind", ["summary", "users"])
async def test_pdf_pages_show_logo_charts_and_tables(
    store: Store, tmp_path: Path, kind: str
) -> None:
    await fx.load(store)
    request = ReportRequest(kind, WHOLE, options=ByNameOptions(with_tax=True))
    rendered = await render(store, request, "pdf", logo=_logo())
    path = tmp_path / rendered.filename
    path.write_bytes(rendered.body)

    images = _run("pdfimages", "-list", str(path))
    rows = [line.split() for line in images.splitlines()[2:]]
    assert any(r[3:5] == ["120", "40"] for r in rows), images  # the logo, on page 1
    text = _run("pdftotext", "-layout", str(path), "-")
    pages = _pages(path, kind)
    assert re.search(r"Page 1 of \d+", text) and len(pages) >= 1
    first = pages[0]
    width, height = first.size
    top_half = (0, 0, width, height // 2)
    if kind == "summary":
        for title in ("Totals", "Use", "Cost and price", "By print category", "Average coverage"):
            assert title in text
        assert _count(first, PIE_BLUE, top_half) > 200  # the pies
        assert _count(first, INK_CYAN, top_half) > 100  # the ink pie and the coverage wheel
    else:
        assert "Totals by user" in text and "Print by user" in text
        assert _count(first, PIE_BLUE, top_half) > 200
    # The logo at the top right, in its own red and blue.
    corner = (width * 3 // 4, 0, width, height // 8)
    assert _count(first, (200, 30, 30), corner) > 20 and _count(first, (30, 30, 200), corner) > 20


async def test_the_same_charts_render_as_inline_svg(store: Store) -> None:
    await fx.load(store)
    report = await figures(store, ReportRequest("summary", WHOLE))
    assert isinstance(report, Summary)
    charts = summary_charts(report, with_tax=False)
    assert [c.key for c in charts] == ["pages", "area", "ink", "coverage", "fees"]
    pieces = [svg(chart) for chart in charts]
    for chart, piece in zip(charts, pieces, strict=True):
        assert piece.startswith("<svg ") and 'role="img"' in piece
        assert f"<title>{chart.title}</title>" in piece and "<?xml" not in piece
    ids = re.findall(r'id="([^"]+)"', "".join(pieces))
    assert len(ids) == len(set(ids))  # several charts on one page
    users = await figures(store, ReportRequest("users", WHOLE))
    (names,) = by_name_charts(users)  # type: ignore[arg-type]
    assert "alice" in svg(names) and "Others" not in svg(names)
