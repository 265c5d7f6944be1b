"""From a document's pages and the job's attributes to what the job puts on paper: impressions,
sheets, colour split, areas, ink and print categories. Pure: no IO.

Print categories follow SmartTracker's report columns. A side is "lines" (mono or colour) while
its total ink (C + M + Y + K, each as a fraction of the side at full coverage) stays at or under
`lines_max`, a "low density image" up to `low_density_max`, and a "high density image" above.
The defaults come from what pages really carry: the ISO/IEC 19752 office test page is 5 %, text
and CAD line work stay under 15 %; a page with pictures in a layout lands between 15 % and 60 %,
and a photo or a render filling the page puts down 60 % to well over 100 % of ink.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import Ink, Page

CATEGORIES = ("mono_lines", "color_lines", "low_density", "high_density")
MONOCHROME_MODES = frozenset({"monochrome", "process-monochrome", "bi-level", "process-bi-level"})


@dataclass(frozen=True)
class Thresholds:
    lines_max: float = 0.15
    low_density_max: float = 0.60

    def category(self, ink: Ink) -> str:
        total = ink.total
        if total <= self.lines_max:
            return "color_lines" if ink.is_color else "mono_lines"
        if total <= self.low_density_max:
            return "low_density"
        return "high_density"


@dataclass(frozen=True)
class MediaSize:
    """The paper the job asked for; a roll has a width and no length."""

    width_mm: float
    length_mm: float | None = None

    @property
    def is_roll(self) -> bool:
        return self.length_mm is None


@dataclass(frozen=True)
class JobOptions:
    copies: int = 1
    page_ranges: tuple[tuple[int, int], ...] = ()
    number_up: int = 1
    sides: str = "one-sided"
    color_mode: str = ""
    media: MediaSize | None = None
    media_type: str = ""

    @property
    def two_sided(self) -> bool:
        return self.sides.startswith("two-sided")

    @property
    def monochrome(self) -> bool:
        return self.color_mode in MONOCHROME_MODES


@dataclass(frozen=True)
class Side:
    """One impression of one copy."""

    width_mm: float
    height_mm: float
    ink: Ink
    category: str

    @property
    def area_m2(self) -> float:
        return self.width_mm * self.height_mm / 1e6


@dataclass(frozen=True)
class CategoryUse:
    impressions: int = 0
    area_m2: float = 0.0
    ink_m2: Ink = field(default_factory=Ink)  # ink per channel in m² at full coverage


@dataclass(frozen=True)
class JobFigures:
    pages: int
    impressions: int
    sheets: int
    color_impressions: int
    mono_impressions: int
    area_printed_m2: float
    area_used_m2: float
    length_used_m: float
    coverage: Ink  # mean over the document's pages, as the document is
    ink_m2: Ink  # what the whole job puts down, in m² at full coverage per channel
    categories: dict[str, CategoryUse] = field(default_factory=dict)
    by_color: dict[str, CategoryUse] = field(default_factory=dict)  # "color", "mono"

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "impressions": self.impressions,
            "sheets": self.sheets,
            "color_impressions": self.color_impressions,
            "mono_impressions": self.mono_impressions,
            "area_printed_m2": round(self.area_printed_m2, 6),
            "area_used_m2": round(self.area_used_m2, 6),
            "length_used_m": round(self.length_used_m, 6),
            "coverage": _rounded(self.coverage),
            "ink_m2": _rounded(self.ink_m2),
            "categories": _uses(self.categories),
            "by_color": _uses(self.by_color),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobFigures:
        """Back from as_dict, as the job record keeps it."""
        return cls(
            pages=int(data["pages"]),
            impressions=int(data["impressions"]),
            sheets=int(data["sheets"]),
            color_impressions=int(data["color_impressions"]),
            mono_impressions=int(data["mono_impressions"]),
            area_printed_m2=float(data["area_printed_m2"]),
            area_used_m2=float(data["area_used_m2"]),
            length_used_m=float(data["length_used_m"]),
            coverage=Ink(**data["coverage"]),
            ink_m2=Ink(**data["ink_m2"]),
            categories=_uses_from(data.get("categories", {})),
            by_color=_uses_from(data.get("by_color", {})),
        )


def _uses(uses: Mapping[str, CategoryUse]) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "impressions": use.impressions,
            "area_m2": round(use.area_m2, 6),
            "ink_m2": _rounded(use.ink_m2),
        }
        for name, use in uses.items()
    }


def _uses_from(data: Mapping[str, Any]) -> dict[str, CategoryUse]:
    return {
        name: CategoryUse(int(use["impressions"]), float(use["area_m2"]), Ink(**use["ink_m2"]))
        for name, use in data.items()
    }


def _rounded(ink: Ink) -> dict[str, float]:
    return {k: round(v, 6) for k, v in ink.as_dict().items()}


def mean_ink(inks: Iterable[Ink]) -> Ink:
    items = list(inks)
    if not items:
        return Ink()
    n = len(items)
    return Ink(
        sum(i.c for i in items) / n,
        sum(i.m for i in items) / n,
        sum(i.y for i in items) / n,
        sum(i.k for i in items) / n,
    )


def _scaled(ink: Ink, factor: float) -> Ink:
    return Ink(ink.c * factor, ink.m * factor, ink.y * factor, ink.k * factor)


def _added(a: Ink, b: Ink) -> Ink:
    return Ink(a.c + b.c, a.m + b.m, a.y + b.y, a.k + b.k)


def selected_pages(pages: Sequence[Page], ranges: tuple[tuple[int, int], ...]) -> list[Page]:
    """The pages page-ranges selects (1-based, in document order); all of them without it."""
    if not ranges:
        return list(pages)
    wanted = [i for i in range(1, len(pages) + 1) if any(low <= i <= high for low, high in ranges)]
    return [pages[i - 1] for i in wanted]


def sides_of(pages: Sequence[Page], options: JobOptions, thresholds: Thresholds) -> list[Side]:
    """One copy's impressions. With number-up N each side carries N pages scaled down, so it
    takes the sum of their ink over N; it has the size of its first page."""
    n = max(1, options.number_up)
    chosen = selected_pages(pages, options.page_ranges)
    result = []
    for start in range(0, len(chosen), n):
        group = chosen[start : start + n]
        if options.monochrome:
            ink = Ink(k=sum(p.mono_k for p in group) / n)
        else:
            ink = _scaled(
                Ink(
                    sum(p.ink.c for p in group),
                    sum(p.ink.m for p in group),
                    sum(p.ink.y for p in group),
                    sum(p.ink.k for p in group),
                ),
                1.0 / n,
            )
        first = group[0]
        result.append(Side(first.width_mm, first.height_mm, ink, thresholds.category(ink)))
    return result


def _paper(sides: Sequence[Side], options: JobOptions) -> tuple[int, float, float]:
    """One copy's sheets, area used (m²) and length used (m)."""
    per_sheet = 2 if options.two_sided else 1
    sheets = math.ceil(len(sides) / per_sheet)
    media = options.media
    if media is not None and media.is_roll:
        # A roll is cut to each side's length, duplex or not.
        length_mm = sum(s.height_mm for s in sides)
        return len(sides), media.width_mm * length_mm / 1e6, length_mm / 1000
    area_mm2 = 0.0
    length_mm = 0.0
    for first in sides[::per_sheet]:
        width, height = (
            (media.width_mm, media.length_mm or 0.0)
            if media is not None
            else (first.width_mm, first.height_mm)
        )
        area_mm2 += width * height
        length_mm += height
    return sheets, area_mm2 / 1e6, length_mm / 1000


def job_figures(
    pages: Sequence[Page], options: JobOptions, thresholds: Thresholds | None = None
) -> JobFigures:
    thresholds = thresholds or Thresholds()
    copies = max(1, options.copies)
    sides = sides_of(pages, options, thresholds)
    sheets, area_used, length_used = _paper(sides, options)
    uses: dict[str, CategoryUse] = {}
    by_color: dict[str, CategoryUse] = {}
    total_ink = Ink()
    for side in sides:
        ink_m2 = _scaled(side.ink, side.area_m2 * copies)
        total_ink = _added(total_ink, ink_m2)
        for table, key in ((uses, side.category), (by_color, _color_class(side))):
            use = table.get(key, CategoryUse())
            table[key] = CategoryUse(
                use.impressions + copies,
                use.area_m2 + side.area_m2 * copies,
                _added(use.ink_m2, ink_m2),
            )
    color = sum(1 for s in sides if s.ink.is_color)
    return JobFigures(
        pages=len(pages),
        impressions=len(sides) * copies,
        sheets=sheets * copies,
        color_impressions=color * copies,
        mono_impressions=(len(sides) - color) * copies,
        area_printed_m2=sum(s.area_m2 for s in sides) * copies,
        area_used_m2=area_used * copies,
        length_used_m=length_used * copies,
        coverage=mean_ink(p.ink for p in pages),
        ink_m2=total_ink,
        categories={name: uses[name] for name in CATEGORIES if name in uses},
        by_color=by_color,
    )


def _color_class(side: Side) -> str:
    return "color" if side.ink.is_color else "mono"


# A job's record keeps the figures of this many of its document's pages; a longer document keeps
# only the count of the rest, so a manual of thousands of pages does not bloat its job's row.
PAGES_KEPT = 1000


def page_figures(
    pages: Sequence[Page], thresholds: Thresholds, limit: int = PAGES_KEPT
) -> dict[str, Any]:
    """Each page as the document describes it (before copies, page-ranges, number-up or a
    monochrome print): size, colour or mono, coverage per channel and print category, the
    first `limit` pages in "per_page" and the count left out in "per_page_truncated". The keys
    are those of `printgate analyze`'s per_page ("pages" is already the job's page count)."""
    return {
        "per_page": [
            {
                "width_mm": round(page.width_mm, 2),
                "height_mm": round(page.height_mm, 2),
                "color": page.color,
                "coverage": _rounded(page.ink),
                "category": thresholds.category(page.ink),
            }
            for page in pages[:limit]
        ],
        "per_page_truncated": max(0, len(pages) - limit),
    }
