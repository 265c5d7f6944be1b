"""The analysis workers: a document that never ends costs its worker, not the gateway, and the
next document is measured by a new one; a broken document says why."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from gateway.analysis.runner import Analyzer, Request

pytestmark = pytest.mark.no_database  # the PostgreSQL pass leaves it out


def one_page_pdf(path: Path) -> Path:
    pdf = canvas.Canvas(str(path))
    pdf.setFillGray(0)
    pdf.rect(100, 100, 200, 200, fill=1, stroke=0)
    pdf.showPage()
    pdf.save()
    return path


async def test_a_document_that_never_ends_is_cut_off_and_the_next_one_measured(
    tmp_path: Path,
) -> None:
    endless = tmp_path / "endless.ps"
    endless.write_text("%!PS\n{ 1 pop } loop\n")
    analyzer = Analyzer(workers=1, timeout=3.0)
    try:
        started = time.monotonic()
        result = await analyzer.measure(Request(endless, "application/postscript"))
        assert result.figures is None
        assert result.error == "analysis took longer than 3 s"
        assert time.monotonic() - started < 20
        after = await analyzer.measure(Request(one_page_pdf(tmp_path / "a.pdf")))
        assert after.error == "" and after.figures is not None and after.figures.pages == 1
    finally:
        analyzer.close()


async def test_measuring_runs_beside_the_event_loop(tmp_path: Path) -> None:
    """While a worker measures, the loop keeps its pace (the gateway's replies do not wait)."""
    analyzer = Analyzer(workers=1, timeout=30.0)
    pdf = one_page_pdf(tmp_path / "a.pdf")
    try:
        await analyzer.measure(Request(pdf))  # the worker starts here
        task = asyncio.gather(*(analyzer.measure(Request(pdf)) for _ in range(20)))
        worst = 0.0
        while not task.done():
            tick = time.monotonic()
            await asyncio.sleep(0.01)
            worst = max(worst, time.monotonic() - tick)
        assert all(r.figures is not None for r in await task)
        assert worst < 0.5
    finally:
        analyzer.close()


async def test_broken_postscript_is_reported_in_words(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ps"
    broken.write_text("%!PS\n/undefinedthing 12 moveto showpage\n")
    analyzer = Analyzer(workers=1)
    try:
        result = await analyzer.measure(Request(broken, "application/postscript"))
        assert result.figures is None
        assert (
            result.error
            == "Ghostscript cannot read the PostScript: Error: /typecheck in --moveto--"
        )
    finally:
        analyzer.close()
