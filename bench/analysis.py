"""Document analysis: how fast printgate measures documents, next to Ghostscript's ink_cov, and
proof that measuring never holds up printing.

    .venv/bin/python bench/analysis.py [--pages 100] [--raster-pages 20] [--rounds 3]

1. PDF: a mixed document (text, line drawings, colour photos, full-bleed fills, blank pages)
   measured as the gateway's (warm) analysis worker does it (at the automatic resolution, or
   --dpi), by the `printgate analyze` command, by `gs -sDEVICE=ink_cov -r150`, and by the
   reference, ink_cov at 600 dpi with fill adjustment off, alternately, the median of the
   rounds; the ratios are ink_cov's time over ours (targets: 2x or more against 150 dpi, 10x
   or more against the 600-dpi reference).
   Then an A0 plan of hairlines (tests/test_coverage_cad.py's plan-a0: 0.1-0.5 pt lines,
   hatching, text) measured in a worker of its own: seconds, the worker's peak memory, and the
   worst channel's distance from the 600-dpi reference (targets: under 3 s, under 300 MB,
   within 1.5 points); and the start-up of `printgate analyze` (target: under 0.5 s).
2. PWG Raster: A4 office pages at 300 dpi, 8-bit sRGB (Ghostscript's pwgraster device), decoded
   and measured in this process pinned to one core: pages per second.
3. Forwarding first: printgate with bench/ipp_sink.py as its printer takes the 300-dpi raster as
   one job; when did the sink get the job's first bytes, and when did printgate's log say the
   job was measured.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import benchlib as bl
from benchlib import peers
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from gateway.analysis.document import analyze
from gateway.analysis.ink import converter
from gateway.analysis.runner import Request, measure
from tests.test_coverage_cad import make_sheet, references

WIDTH, HEIGHT = A4
WORDS = "printing accounting gateway ledger invoice plotter colour budget project toner".split()


def _text_page(pdf: canvas.Canvas, rng: random.Random) -> None:
    pdf.setFillGray(0)
    pdf.setFont("Helvetica", 10)
    for line in range(52):
        pdf.drawString(56, HEIGHT - 60 - line * 14, " ".join(rng.choices(WORDS, k=12)))


def _drawing_page(pdf: canvas.Canvas, rng: random.Random) -> None:
    pdf.setLineWidth(0.8)
    for _ in range(120):
        pdf.setStrokeGray(rng.choice((0, 0.4)))
        pdf.line(*(rng.uniform(30, WIDTH - 30) for _ in range(2)),
                 *(rng.uniform(30, HEIGHT - 30) for _ in range(2)))  # fmt: skip
    pdf.setStrokeColorRGB(0.1, 0.3, 0.8)
    for radius in range(20, 260, 20):
        pdf.circle(WIDTH / 2, HEIGHT / 2, radius)


def _photo(rng: random.Random) -> ImageReader:
    size = (480, 360)
    base = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 60)
    image = Image.merge("RGB", (base, noise, base.rotate(90).resize(size)))
    return ImageReader(image.rotate(rng.randrange(4) * 90, expand=True))


def _photo_page(pdf: canvas.Canvas, rng: random.Random) -> None:
    _text_page_header(pdf)
    pdf.drawImage(_photo(rng), 56, 300, width=WIDTH - 112, height=380)


def _text_page_header(pdf: canvas.Canvas) -> None:
    pdf.setFillGray(0)
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(56, HEIGHT - 70, "Quarterly print report")


def _solid_page(pdf: canvas.Canvas, rng: random.Random) -> None:
    pdf.setFillColorRGB(rng.random(), rng.random(), rng.random())
    pdf.rect(0, 0, WIDTH, HEIGHT, fill=1, stroke=0)


def _blank_page(pdf: canvas.Canvas, rng: random.Random) -> None:
    pass


MIX = (_text_page, _text_page, _drawing_page, _photo_page, _solid_page, _text_page, _blank_page)


def mixed_pdf(path: Path, pages: int, mix: tuple[Any, ...] = MIX) -> Path:
    rng = random.Random(7)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for number in range(pages):
        mix[number % len(mix)](pdf, rng)
        pdf.showPage()
    pdf.save()
    return path


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=1800)
    return time.perf_counter() - started


def _warm_worker_seconds(pdf: Path, dpi: float) -> float:
    """What the gateway's analysis worker spends on the document: its imports and the ICC
    transform are made once per worker, not per job."""
    request = Request(pdf, "application/pdf", dpi=dpi)
    started = time.perf_counter()
    assert not measure(request).error
    return time.perf_counter() - started


def _ink_cov(pdf: Path, dpi: int, exact_fills: bool = False) -> list[str]:
    command = [peers.find_binary("gs"), "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER",
               "-sDEVICE=ink_cov", f"-r{dpi}", "-sOutputFile=/dev/null"]  # fmt: skip
    if exact_fills:
        command += ["-c", "0 0 .setfilladjust2", "-f"]
    return [*command, str(pdf)]


def pdf_versus_ink_cov(pdf: Path, dpi: float, rounds: int) -> dict[str, Any]:
    command = [bl.PYTHON, "-m", "gateway", "analyze", str(pdf), "--resolution", str(dpi)]
    measure(Request(pdf, "application/pdf", dpi=dpi))  # warm, as a running worker is
    times: dict[str, list[float]] = {"worker": [], "command": [], "ink_cov": [], "reference": []}
    for number in range(rounds):
        times["worker"].append(_warm_worker_seconds(pdf, dpi))
        times["command"].append(_timed(command))
        times["ink_cov"].append(_timed(_ink_cov(pdf, 150)))
        if number == 0:  # a minute or more: once is enough for a 10x margin
            times["reference"].append(_timed(_ink_cov(pdf, 600, exact_fills=True)))
    worker_s, command_s, gs_s, reference_s = (statistics.median(times[k]) for k in times)
    return {
        "dpi": dpi or "auto",
        "printgate_worker_s": worker_s,
        "printgate_command_s": command_s,
        "ink_cov_150_s": gs_s,
        "ink_cov_600_s": reference_s,
        "ratio_150": gs_s / worker_s,
        "ratio_600": reference_s / worker_s,
        "ratio_command_150": gs_s / command_s,
    }


A0_WORKER = """
import json, resource, sys, time
from pathlib import Path
from gateway.analysis.runner import Request, measure
measure(Request(Path(sys.argv[2]), "application/pdf"))  # a warm worker: imports, ICC transform
started = time.perf_counter()
result = measure(Request(Path(sys.argv[1]), "application/pdf", dpi=float(sys.argv[3])))
seconds = time.perf_counter() - started
page = result.pages[0].ink
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mib": peak_mib,
                  "ink": [page.c, page.m, page.y, page.k], "error": result.error}))
"""


def a0_hairlines(work: Path, dpi: float) -> dict[str, Any]:
    """The A0 plan in a worker process of its own (its peak memory is the sheet's)."""
    sheet = make_sheet("plan-a0", work / "plan-a0.pdf")
    small = make_sheet("grid-letter", work / "grid-letter.pdf")
    out = subprocess.run(
        [bl.PYTHON, "-c", A0_WORKER, str(sheet), str(small), str(dpi)],
        capture_output=True, text=True, check=True, timeout=600, cwd=bl.REPO_ROOT,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout)
    reference = references()["plan-a0"]["icc"][0]
    theirs = (reference.c, reference.m, reference.y, reference.k)
    result["worst_points"] = 100 * max(
        abs(a - b) for a, b in zip(result["ink"], theirs, strict=True)
    )
    return result


def analyze_start_up(work: Path, rounds: int) -> dict[str, Any]:
    """`printgate analyze` on a blank page (nothing to measure), and Python doing nothing."""
    blank = make_sheet("grid-letter", work / "start.pdf")
    analyze_s = statistics.median(
        _timed([bl.PYTHON, "-m", "gateway", "analyze", str(blank)]) for _ in range(rounds)
    )
    python_s = statistics.median(_timed([bl.PYTHON, "-c", "pass"]) for _ in range(rounds))
    return {"analyze_s": analyze_s, "python_s": python_s}


def pwg_raster(pdf: Path, out: Path, dpi: int) -> Path:
    subprocess.run(
        [peers.find_binary("gs"), "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pwgraster",
         "-dcupsColorSpace=19", "-dcupsBitsPerColor=8", f"-r{dpi}", f"-sOutputFile={out}",
         str(pdf)],
        check=True, capture_output=True, timeout=1800,
    )  # fmt: skip
    return out


def raster_pages_per_second(raster: Path, rounds: int) -> dict[str, Any]:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    ink = converter("icc")
    times = []
    pages = 0
    for _ in range(rounds):
        started = time.perf_counter()
        pages = len(analyze(raster, ink, "image/pwg-raster"))
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    return {"pages": pages, "seconds": seconds, "pages_per_s": pages / seconds,
            "mib": raster.stat().st_size / (1 << 20)}  # fmt: skip


def sink_first_byte(port: int) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as reply:
        jobs = json.loads(reply.read())["jobs"]
    firsts = [j["first_byte"] for j in jobs.values() if j["first_byte"] and j["bytes"] > 1000]
    return min(firsts) if firsts else None


MEASURED = re.compile(
    r"^(\S+ \S+),(\d+) INFO gateway\.(?:accounting\.)?accountant: job (\d+) measured", re.M
)


def forwarding_first(raster: Path, work: Path) -> dict[str, Any]:
    sink_port = peers.free_port()
    sink = bl.BenchProcess(
        [bl.PYTHON, str(bl.BENCH_DIR / "ipp_sink.py"), "--port", str(sink_port)],
        work / "sink.log",
    )
    with sink:
        bl.wait_http_ok(f"http://127.0.0.1:{sink_port}/healthz", proc=sink)
        config = bl.printgate_config(
            {"sink": f"ipp://127.0.0.1:{sink_port}/ipp/print"}, {"office": ["sink"]}
        )
        with peers.Printgate(config, work / "printgate") as gateway:
            body = bl.print_job_head(gateway.queue_uri("office"), "image/pwg-raster", "bench")
            submitted = time.time()
            request = urllib.request.Request(
                gateway.queue_uri("office").replace("ipp://", "http://"),
                data=body + raster.read_bytes(),
                headers={"Content-Type": "application/ipp"},
            )
            with urllib.request.urlopen(request, timeout=600) as reply:
                reply.read()
            answered = time.time()
            first = peers.wait_for(lambda: sink_first_byte(sink_port), 300, what="sink bytes")
            first_wall = time.time() - (time.monotonic() - first)
            match = peers.wait_for(
                lambda: MEASURED.search(gateway.log_path.read_text()), 600, what="measured"
            )
            stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
            measured_wall = stamp.timestamp() + int(match.group(2)) / 1000
    return {
        "upload_s": answered - submitted,
        "first_byte_at_printer_s": first_wall - answered,
        "measured_s": measured_wall - answered,
        "printer_first": first_wall < measured_wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--raster-pages", type=int, default=20)
    parser.add_argument(
        "--dpi", type=float, default=0, help="PDF rendering resolution (default: automatic)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bl.warn_if_busy()
    with bl.scratch_dir("printgate-bench-analysis-") as work:
        pdf = mixed_pdf(work / "mixed.pdf", args.pages)
        versus = pdf_versus_ink_cov(pdf, args.dpi, args.rounds)
        print(bl.table(
            ["PDF, pages", "dpi", "printgate worker s", "ink_cov 150 s", "ratio",
             "ink_cov 600 s", "ratio", "printgate analyze s"],
            [[args.pages, versus["dpi"], versus["printgate_worker_s"], versus["ink_cov_150_s"],
              versus["ratio_150"], versus["ink_cov_600_s"], versus["ratio_600"],
              versus["printgate_command_s"]]],
        ))  # fmt: skip
        print(
            "ratio = ink_cov's time / the warm worker's (targets: >= 2 at 150 dpi, >= 10 against"
            " the 600-dpi reference); the command includes Python's start-up"
        )
        sheet = a0_hairlines(work, args.dpi)
        start = analyze_start_up(work, args.rounds)
        print()
        print(bl.table(
            ["A0 plan of hairlines", "seconds", "peak MiB", "worst channel vs 600 dpi, points",
             "printgate analyze start s", "python -c pass s"],
            [["one worker", sheet["seconds"], sheet["peak_mib"], sheet["worst_points"],
              start["analyze_s"], start["python_s"]]],
        ))  # fmt: skip
        print("targets: under 3 s, under 300 MiB, within 1.5 points; start-up under 0.5 s")
        office = mixed_pdf(work / "office.pdf", args.raster_pages, MIX[:-1])
        raster = pwg_raster(office, work / "office.pwg", 300)
        speed = raster_pages_per_second(raster, args.rounds)
        print()
        print(bl.table(
            ["PWG raster A4 300 dpi sRGB", "MiB", "seconds", "pages/s (one core)"],
            [[speed["pages"], speed["mib"], speed["seconds"], speed["pages_per_s"]]],
        ))  # fmt: skip
        first = forwarding_first(raster, work)
        print()
        print(bl.table(
            ["after the upload", "first byte at printer s", "measured s", "printer first"],
            [["seconds", first["first_byte_at_printer_s"], first["measured_s"],
              str(first["printer_first"])]],
        ))  # fmt: skip
    path = bl.save_result(
        "analysis",
        {"pdf": versus, "a0": sheet, "start_up": start, "pwg_raster": speed, "forwarding": first},
    )
    print(f"\nfigures in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
