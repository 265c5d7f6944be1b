"""`printgate analyze FILE`: what the gateway would measure of a document, as one JSON object."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from ..analysis.figures import JobOptions, Thresholds
from ..analysis.job_options import media_from_name
from ..analysis.runner import Measurement, Request, measure
from ..config import load
from .errors import CommandError

RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def _page_ranges(text: str) -> tuple[tuple[int, int], ...]:
    ranges = []
    for part in filter(None, text.split(",")):
        match = RANGE.match(part.strip())
        if not match:
            raise CommandError(f"--page-ranges: {part!r} is not N or N-M")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if low < 1 or high < low:
            raise CommandError(f"--page-ranges: {part!r} is not a range of pages")
        ranges.append((low, high))
    return tuple(ranges)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def report(measurement: Measurement, thresholds: Thresholds) -> dict[str, Any]:
    figures = measurement.figures
    assert figures is not None
    result: dict[str, Any] = {
        "pages": figures.pages,
        "impressions": figures.impressions,
        "sheets": figures.sheets,
        "color_impressions": figures.color_impressions,
        "mono_impressions": figures.mono_impressions,
        "coverage": {k: round(v, 6) for k, v in figures.coverage.as_dict().items()},
        "per_page": [
            {
                "color": page.color,
                "coverage": {k: round(v, 6) for k, v in page.ink.as_dict().items()},
                "category": thresholds.category(page.ink),
                "width_mm": round(page.width_mm, 2),
                "height_mm": round(page.height_mm, 2),
            }
            for page in measurement.pages
        ],
        "area_printed_m2": round(figures.area_printed_m2, 6),
        "area_used_m2": round(figures.area_used_m2, 6),
        "length_used_m": round(figures.length_used_m, 6),
        "categories": figures.as_dict()["categories"],
    }
    return result


def _analyze(args: argparse.Namespace) -> int:
    config = load(args.config).analysis
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"{args.file}: no such file")
    media = None
    if args.media:
        media = media_from_name(args.media)
        if media is None:
            raise CommandError(f"--media: {args.media!r} names no size printgate knows")
    options = JobOptions(
        copies=args.copies,
        page_ranges=_page_ranges(args.page_ranges or ""),
        number_up=args.number_up,
        sides=args.sides,
        color_mode=args.color_mode or "",
        media=media,
    )
    thresholds = Thresholds(config.lines_max_coverage, config.low_density_max_coverage)
    measurement = measure(
        Request(
            path,
            args.format,
            options,
            thresholds,
            conversion=args.conversion,
            profile=args.profile or "",
            dpi=args.resolution or config.resolution,
        )
    )
    if measurement.error:
        raise CommandError(f"{args.file}: {measurement.error}")
    json.dump(report(measurement, thresholds), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "analyze",
        parents=[common],
        help="measure a document: pages, colour, ink coverage, areas (JSON)",
    )
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--format", metavar="MIME", help="document format (default: detected)")
    parser.add_argument("--copies", type=_positive, default=1)
    parser.add_argument(
        "--sides",
        default="one-sided",
        metavar="S",
        choices=("one-sided", "two-sided-long-edge", "two-sided-short-edge"),
    )
    parser.add_argument("--color-mode", metavar="M", help="print-color-mode, e.g. monochrome")
    parser.add_argument("--media", metavar="M", help="media keyword, e.g. iso_a4_210x297mm")
    parser.add_argument("--page-ranges", metavar="R", help="e.g. 1-3,5")
    parser.add_argument("--number-up", type=_positive, default=1, metavar="N")
    parser.add_argument(
        "--conversion",
        choices=("icc", "fast"),
        default="icc",
        help="RGB to CMYK: an ICC profile (default) or Ghostscript's fast conversion",
    )
    parser.add_argument("--profile", metavar="ICC", help="CMYK output profile for --conversion icc")
    parser.add_argument(
        "--resolution",
        type=float,
        metavar="DPI",
        help="PDF and PostScript rendering resolution (default: chosen per page size)",
    )
    parser.set_defaults(func=_analyze)
