"""Clients and documents: ipptool runs, reproducible PDFs, and starting several peers at once."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.peers.process import find_binary


def ipptool(
    uri: str,
    test_files: str | Path | Sequence[str | Path],
    document: str | Path | None = None,
    version: str | None = None,
    extra: Sequence[str] = (),
    timeout: float = 180.0,
) -> subprocess.CompletedProcess[str]:
    """`ipptool -t [-V version] [-f document] [extra...] uri test_files...`; output captured.
    Bare test names (ipp-1.1.test) are found in /usr/share/cups/ipptool by ipptool itself."""
    argv = [find_binary("ipptool"), "-t"]
    if version:
        argv += ["-V", version]
    if document is not None:
        argv += ["-f", str(document)]
    files = [test_files] if isinstance(test_files, str | Path) else list(test_files)
    argv += [*extra, uri, *(str(f) for f in files)]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )


def make_pdf(
    path: str | Path, pages: int = 1, text: str = "printgate test page", *, color: bool = False
) -> Path:
    """A small valid PDF (reportlab, byte-for-byte reproducible): `pages` A4 pages of black
    text, plus a red and a blue box on each page when `color`."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = Path(path)
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=True)
    pdf.setTitle(text)
    height = A4[1]
    for page in range(1, pages + 1):
        pdf.setFont("Helvetica", 14)
        pdf.drawString(72, height - 96, f"{text} - page {page} of {pages}")
        if color:
            pdf.setFillColorRGB(0.9, 0.1, 0.1)
            pdf.rect(72, height - 300, 200, 150, stroke=0, fill=1)
            pdf.setFillColorRGB(0.1, 0.2, 0.9)
            pdf.rect(300, height - 300, 200, 150, stroke=0, fill=1)
            pdf.setFillColorRGB(0, 0, 0)
        pdf.showPage()
    pdf.save()
    return path


@contextlib.contextmanager
def started(*peers: Any) -> Iterator[tuple[Any, ...]]:
    """`with started(IppEvePrinter("a"), Cupsd()) as (eve, cups):` for scripts."""
    entered: list[Any] = []
    try:
        for peer in peers:
            entered.append(peer.__enter__())
        yield tuple(entered)
    finally:
        for peer in reversed(entered):
            with contextlib.suppress(Exception):
                peer.__exit__(None, None, None)
