"""From pages and job attributes to impressions, sheets, areas and categories."""

from __future__ import annotations

import pytest

from gateway.analysis import Page
from gateway.analysis.figures import JobFigures, JobOptions, MediaSize, Thresholds, job_figures
from gateway.analysis.ink import Ink
from gateway.analysis.job_options import job_options, media_from_name
from gateway.ipp import model as m

pytestmark = pytest.mark.no_database  # the PostgreSQL pass leaves it out

A4 = (210.0, 297.0)
A4_M2 = 0.210 * 0.297
TEXT = Page(*A4, Ink(k=0.05), 0.05)
PHOTO = Page(*A4, Ink(0.4, 0.3, 0.3, 0.1), 0.5)
BLANK = Page(*A4, Ink(), 0.0)


def test_copies_duplex_and_the_colour_split() -> None:
    f = job_figures([TEXT, PHOTO, BLANK], JobOptions(copies=2, sides="two-sided-long-edge"))
    assert (f.impressions, f.sheets) == (6, 4)  # 3 sides on 2 sheets, twice
    assert (f.color_impressions, f.mono_impressions) == (2, 4)
    assert f.area_printed_m2 == pytest.approx(6 * A4_M2)
    assert f.area_used_m2 == pytest.approx(4 * A4_M2)
    assert f.categories["mono_lines"].impressions == 4  # the text page and the blank one
    assert f.categories["high_density"].impressions == 2
    assert f.ink_m2.c == pytest.approx(2 * 0.4 * A4_M2)


def test_page_ranges_and_number_up_choose_and_combine_pages() -> None:
    f = job_figures([TEXT, PHOTO, BLANK, TEXT], JobOptions(page_ranges=((2, 3),)))
    assert (f.pages, f.impressions) == (4, 2)
    up = job_figures([TEXT, PHOTO, BLANK, TEXT], JobOptions(number_up=2))
    assert up.impressions == 2
    # A side carrying two pages scaled down takes half of their summed ink.
    assert up.categories["low_density"].ink_m2.c == pytest.approx(0.2 * A4_M2)
    assert up.color_impressions == 1


def test_monochrome_prints_colour_pages_with_black_only() -> None:
    f = job_figures([PHOTO], JobOptions(color_mode="monochrome"))
    assert (f.color_impressions, f.mono_impressions) == (0, 1)
    assert f.ink_m2 == Ink(k=pytest.approx(0.5 * A4_M2))  # type: ignore[arg-type]


def test_roll_media_is_cut_to_each_page() -> None:
    banner = Page(914.0, 3000.0, Ink(k=0.02), 0.02)
    f = job_figures([banner, banner], JobOptions(media=MediaSize(1067.0)))
    assert f.sheets == 2
    assert f.area_used_m2 == pytest.approx(2 * 1.067 * 3.0)
    assert f.area_printed_m2 == pytest.approx(2 * 0.914 * 3.0)
    assert f.length_used_m == pytest.approx(6.0)


def test_sheets_of_a_named_size_count_their_whole_area() -> None:
    f = job_figures([TEXT], JobOptions(media=media_from_name("na_letter_8.5x11in")))
    assert f.area_used_m2 == pytest.approx(0.2159 * 0.2794)


def test_thresholds_draw_the_category_lines() -> None:
    thresholds = Thresholds(lines_max=0.15, low_density_max=0.60)
    assert thresholds.category(Ink(k=0.15)) == "mono_lines"
    assert thresholds.category(Ink(c=0.01, k=0.1)) == "color_lines"
    assert thresholds.category(Ink(k=0.16)) == "low_density"
    assert thresholds.category(Ink(0.2, 0.2, 0.2, 0.01)) == "high_density"


def test_the_record_keeps_what_costing_needs() -> None:
    f = job_figures([TEXT, PHOTO], JobOptions(copies=3))
    assert JobFigures.from_dict(f.as_dict()).as_dict() == f.as_dict()


def test_job_attributes_become_options() -> None:
    size = m.collection(
        "media-size",
        m.members(m.integer("x-dimension", 91440), m.range_("y-dimension", m.Range(1, 10**6))),
    )
    options = job_options(
        [
            m.integer("copies", 3),
            m.keyword("sides", "two-sided-short-edge"),
            m.keyword("print-color-mode", "monochrome"),
            m.range_("page-ranges", m.Range(1, 2), m.Range(5, 5)),
            m.integer("number-up", 4),
            m.collection("media-col", m.members(size, m.keyword("media-type", "photographic"))),
        ]
    )
    assert options.copies == 3 and options.two_sided and options.monochrome
    assert options.page_ranges == ((1, 2), (5, 5)) and options.number_up == 4
    assert options.media == MediaSize(914.4) and options.media.is_roll
    assert options.media_type == "photographic"
    assert job_options([m.keyword("media", "iso_a4_210x297mm")]).media == MediaSize(210, 297)
    assert job_options([m.keyword("media", "roll_max_36x1968.5in")]).media == MediaSize(914.4)
    assert job_options([m.keyword("media", "custom-thing")]).media is None
