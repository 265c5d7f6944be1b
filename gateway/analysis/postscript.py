"""PostScript: Ghostscript turns it into PDF (its pdfwrite device, which keeps the drawing as
vectors, text and images), and the PDF is measured as any other (pdf.py): one way to ink for both.

Ghostscript runs with -dSAFER in its own process with a memory limit; the document is fed on
stdin by a thread while Ghostscript writes the PDF to a temporary file.
"""

from __future__ import annotations

import ctypes
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO

from . import AnalysisError, Page
from . import pdf as _pdf
from .ink import InkConverter

GS_MEMORY_BYTES = 1 << 30
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
FEED_CHUNK = 1 << 16


def _confine() -> None:
    """In the Ghostscript child before it runs: a memory limit, and death with its parent, so
    that a worker ended for taking too long does not leave Ghostscript running."""
    resource.setrlimit(resource.RLIMIT_AS, (GS_MEMORY_BYTES, GS_MEMORY_BYTES))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _feed(stream: BinaryIO, pipe: IO[bytes]) -> None:
    try:
        while chunk := stream.read(FEED_CHUNK):
            pipe.write(chunk)
    except (BrokenPipeError, OSError):
        pass  # Ghostscript stopped reading: it says why on stderr
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def pages(stream: BinaryIO, ink: InkConverter, dpi: float = 0.0) -> Iterator[Page]:
    gs = shutil.which("gs")
    if gs is None:
        raise AnalysisError("PostScript needs Ghostscript (gs), which is not installed")
    with tempfile.TemporaryDirectory(prefix="printgate-ps-") as scratch:
        pdf = Path(scratch) / "document.pdf"
        _to_pdf(gs, stream, pdf)
        with pdf.open("rb") as converted:
            yield from _pdf.pages(converted, ink, dpi)


def _to_pdf(gs: str, stream: BinaryIO, pdf: Path) -> None:
    command = [
        gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
        # Pages keep the orientation the document gives them (by default pdfwrite turns pages
        # whose text runs up the page), and the document's own prints and Ghostscript's
        # messages go to stderr.
        "-dAutoRotatePages=/None", f"-sOutputFile={pdf}", "-sstdout=%stderr", "-_",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_confine,
    )
    assert process.stdin and process.stderr
    feeder = threading.Thread(target=_feed, args=(stream, process.stdin), daemon=True)
    feeder.start()
    try:
        errors = process.stderr.read().decode(errors="replace").strip()
        if process.wait() != 0:
            first = errors.splitlines()[0] if errors else f"exit status {process.returncode}"
            raise AnalysisError(f"Ghostscript cannot read the PostScript: {first}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        feeder.join(timeout=5)
        process.stderr.close()
