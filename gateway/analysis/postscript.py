"""PostScript: Ghostscript renders it to RGB (PPM, page after page on a pipe), then measured.

Ghostscript runs with -dSAFER in its own process with a memory limit; the document is fed on
stdin by a thread while the pages are read back, so neither side waits for the whole file.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import threading
from collections.abc import Iterator
from typing import IO, BinaryIO

import numpy as np
import numpy.typing as npt

from . import AnalysisError, Page, pixels_to_mm
from .ink import InkConverter

GS_MEMORY_BYTES = 1 << 30
FEED_CHUNK = 1 << 16


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GS_MEMORY_BYTES, GS_MEMORY_BYTES))


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


def _token(out: IO[bytes]) -> bytes:
    """The next whitespace-separated header token of a PPM, skipping comments."""
    token = b""
    while True:
        char = out.read(1)
        if not char:
            return token
        if char == b"#":
            while char not in (b"\n", b""):
                char = out.read(1)
            continue
        if char.isspace():
            if token:
                return token
            continue
        token += char


def _ppm_pages(out: IO[bytes]) -> Iterator[npt.NDArray[np.uint8]]:
    while magic := _token(out):
        if magic != b"P6":
            raise AnalysisError("Ghostscript produced no image")
        width, height, maxval = (int(_token(out) or 0) for _ in range(3))
        if width <= 0 or height <= 0 or maxval != 255:
            raise AnalysisError("Ghostscript produced an unusable image")
        data = out.read(width * height * 3)
        if len(data) != width * height * 3:
            raise AnalysisError("Ghostscript stopped in the middle of a page")
        yield np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)


def pages(stream: BinaryIO, ink: InkConverter, dpi: float = 72.0) -> Iterator[Page]:
    gs = shutil.which("gs")
    if gs is None:
        raise AnalysisError("PostScript needs Ghostscript (gs), which is not installed")
    command = [
        gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOINTERPOLATE",
        # Fast colour: gray stays exactly neutral and RGB unconverted, so ink.py sees the
        # document's own colours.
        "-dUseFastColor=true", "-sDEVICE=ppmraw", f"-r{dpi:g}", "-sOutputFile=-", "-_",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limit_memory,
    )
    assert process.stdin and process.stdout and process.stderr
    feeder = threading.Thread(target=_feed, args=(stream, process.stdin), daemon=True)
    feeder.start()
    try:
        for pixels in _ppm_pages(process.stdout):
            height, width = pixels.shape[:2]
            coverage, mono_k = ink.measure(pixels)
            yield Page(pixels_to_mm(width, dpi), pixels_to_mm(height, dpi), coverage, mono_k)
        errors = process.stderr.read().decode(errors="replace").strip()
        if process.wait() != 0:
            first = errors.splitlines()[0] if errors else f"exit status {process.returncode}"
            raise AnalysisError(f"Ghostscript cannot read the PostScript: {first}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        feeder.join(timeout=5)
        process.stdout.close()
        process.stderr.close()
