"""The cost and price engine against amounts computed by hand, for each metric and basis, in
metric and imperial units, with and without tax."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gateway.accounting.costing import ModelProfile, RateError, RateTable, Settings, charge
from gateway.analysis import Page
from gateway.analysis.figures import JobFigures, JobOptions, job_figures
from gateway.analysis.ink import Ink

pytestmark = pytest.mark.no_database  # the PostgreSQL pass leaves it out

# Four 1 m x 1 m pages, one per print category, so every quantity is a round number:
#   mono lines   K 10 %                    1 m², ink 0.1 m² (K)
#   colour lines C 5 % M 5 %               1 m², ink 0.1 m²
#   low density  C 20 % M 10 % Y 10 %      1 m², ink 0.4 m²
#   high density C, M, Y, K 50 % each      1 m², ink 2.0 m²
SQUARE = 1000.0
PAGES = [
    Page(SQUARE, SQUARE, Ink(k=0.10), 0.10),
    Page(SQUARE, SQUARE, Ink(c=0.05, m=0.05), 0.05),
    Page(SQUARE, SQUARE, Ink(c=0.20, m=0.10, y=0.10), 0.2),
    Page(SQUARE, SQUARE, Ink(0.5, 0.5, 0.5, 0.5), 0.9),
]
# 10 ml per m² at full coverage on every channel: the pages take 1, 1, 4 and 20 ml.
MODEL = ModelProfile.parse({"ml_per_m2": {"c": 10, "m": 10, "y": 10, "k": 10}})
CATEGORY_TABLE: dict[str, Any] = {
    "lines": {
        "mono_lines": {"ml": "0.10"},
        "color_lines": {"area_printed": "1.50"},
        "low_density": {"area_used": "2.00"},
        "high_density": {"ml": "0.05", "linear": "0.30"},  # hybrid
    },
    "media": {"stationery": "0.25", "photographic-glossy": {"checked": False, "rate": "9"}},
    "service": "0.50",
}


def figures(**options: Any) -> JobFigures:
    return job_figures(PAGES, JobOptions(**options))


def settings(**values: str) -> Settings:
    return Settings.parse(values)


def test_the_figures_behind_the_hand_computed_amounts() -> None:
    f = figures()
    assert (f.pages, f.impressions, f.sheets) == (4, 4, 4)
    assert (f.color_impressions, f.mono_impressions) == (3, 1)
    assert list(f.categories) == ["mono_lines", "color_lines", "low_density", "high_density"]
    assert all(use.impressions == 1 for use in f.categories.values())
    assert f.area_printed_m2 == pytest.approx(4.0) and f.area_used_m2 == pytest.approx(4.0)
    assert f.length_used_m == pytest.approx(4.0)


def test_categories_metric_without_tax_then_with_tax_on_top() -> None:
    table = RateTable.parse(CATEGORY_TABLE, "categories")
    plain = charge(figures(), table, settings(currency="EUR"), MODEL)
    # mono 1 ml x 0.10 = 0.10; colour lines 1 m² x 1.50 = 1.50; low density 1 m² of the 4 m²
    # used x 2.00 = 2.00; high density 20 ml x 0.05 + 1 m x 0.30 = 1.30; paper 4 m² x 0.25 =
    # 1.00; service 0.50.
    lines = plain.breakdown["lines"]
    assert [lines[n]["amount"] for n in lines] == ["0.10", "1.50", "2.00", "1.30"]
    assert plain.breakdown["paper"] == "1.00" and plain.breakdown["service"] == "0.50"
    assert plain.breakdown["ink_ml"] == {"c": "7.500", "m": "6.500", "y": "6.000", "k": "6.000"}
    assert (plain.net, plain.tax, plain.gross) == (Decimal("6.40"), Decimal(0), Decimal("6.40"))
    # The 4.90 of ink per channel, by each line's ink: mono lines all K (0.10); colour lines
    # half C, half M (0.75 each); low density C 1/2, M 1/4, Y 1/4 of 2.00; high density a
    # quarter each of 1.30.
    assert plain.breakdown["ink"] == "4.90"
    # Exactly 2.075, 1.575, 0.825 and 0.425: the two cents left over after rounding down go to
    # the largest remainders, here all equal, so to C and M, in channel order.
    assert plain.breakdown["ink_by_channel"] == {"c": "2.08", "m": "1.58", "y": "0.82", "k": "0.42"}

    taxed = charge(figures(), table, settings(currency="EUR", tax_rate="21"), MODEL)
    # 6.40 x 21 % = 1.344 -> 1.34
    assert (taxed.net, taxed.tax, taxed.gross) == (
        Decimal("6.40"),
        Decimal("1.34"),
        Decimal("7.74"),
    )


def test_rates_entered_with_tax_are_split_back() -> None:
    table = RateTable.parse(CATEGORY_TABLE, "categories")
    amounts = charge(
        figures(),
        table,
        settings(currency="EUR", tax_rate="21", rates_include_tax="true"),
        MODEL,
    )
    # 6.40 / 1.21 = 5.2892... -> 5.29, the tax is the rest.
    assert (amounts.net, amounts.tax, amounts.gross) == (
        Decimal("5.29"),
        Decimal("1.11"),
        Decimal("6.40"),
    )


def test_imperial_units_read_rates_per_square_foot_and_foot() -> None:
    table = RateTable.parse(CATEGORY_TABLE, "categories")
    amounts = charge(figures(), table, settings(units="imperial", tax_rate="21"), MODEL)
    lines = amounts.breakdown["lines"]
    # 1 m² = 10.7639104 ft², 1 m = 3.2808399 ft:
    #   colour lines 1.50 x 10.7639 = 16.1459 -> 16.15; low density 2.00 x 10.7639 = 21.5278
    #   -> 21.53; high density 1.00 + 0.30 x 3.2808 = 1.9843 -> 1.98; paper 0.25 x 43.0556 =
    #   10.7639 -> 10.76.
    assert [lines[n]["amount"] for n in lines] == ["0.10", "16.15", "21.53", "1.98"]
    assert lines["color_lines"]["area"] == "10.7639"
    assert amounts.breakdown["paper"] == "10.76"
    # 51.02 net, 21 % = 10.7142 -> 10.71
    assert (amounts.net, amounts.tax, amounts.gross) == (
        Decimal("51.02"),
        Decimal("10.71"),
        Decimal("61.73"),
    )


def test_coverage_basis_splits_colour_and_mono_impressions() -> None:
    table = RateTable.parse(
        {"lines": {"mono": {"ml": "0.10"}, "color": {"area_printed": "1.00"}}}, "coverage"
    )
    amounts = charge(figures(), table, settings(cost_basis="coverage"), MODEL)
    assert amounts.breakdown["lines"]["mono"] == {
        "impressions": 1,
        "area": "1.0000",
        "amount": "0.10",
    }
    assert amounts.breakdown["lines"]["color"]["amount"] == "3.00"
    assert amounts.gross == Decimal("3.10")
    # Printed in monochrome, every side is mono: 4 sides, K = 1 - luminance: 0.1 + 0.05 + 0.2
    # + 0.9 = 1.25 m² of K, 12.5 ml.
    mono = charge(figures(color_mode="monochrome"), table, settings(cost_basis="coverage"), MODEL)
    assert list(mono.breakdown["lines"]) == ["mono"]
    assert mono.breakdown["lines"]["mono"]["amount"] == "1.25"


def test_paper_counts_only_checked_media_types() -> None:
    table = RateTable.parse(CATEGORY_TABLE, "categories")
    glossy = charge(figures(), table, settings(), MODEL, media_type="photographic-glossy")
    assert glossy.breakdown["paper"] == "0.00"
    assert glossy.net == Decimal("5.40")


def test_copies_and_duplex_scale_the_charge() -> None:
    table = RateTable.parse(CATEGORY_TABLE, "categories")
    double = charge(figures(copies=2), table, settings(), MODEL)
    assert double.breakdown["lines"]["high_density"]["amount"] == "2.60"
    # Two-sided: 2 sheets of 1 m² per copy, paper 2 m² x 0.25.
    duplex = charge(figures(sides="two-sided-long-edge"), table, settings(), MODEL)
    assert duplex.breakdown["paper"] == "0.50"


def test_currencies_round_to_their_own_minor_unit() -> None:
    table = RateTable.parse(
        {"lines": {"mono_lines": {"ml": "0.4"}}, "service": "0.5"}, "categories"
    )
    yen = charge(figures(), table, settings(currency="JPY"), MODEL)
    # 1 ml x 0.4 = 0.4 -> 0 yen; service 0.5 -> 1 yen (half up).
    assert (yen.breakdown["lines"]["mono_lines"]["amount"], yen.gross) == ("0", Decimal(1))
    dinar = charge(figures(), table, settings(currency="KWD"), MODEL)
    assert dinar.gross == Decimal("0.900")


@pytest.mark.parametrize(
    ("raw", "basis", "message"),
    [
        ({"lines": {"mono": {"ml": 1}}}, "categories", "'mono' is not a line"),
        ({"lines": {"mono_lines": {"ml": -1}}}, "categories", "0 or more"),
        ({"lines": {"mono_lines": {"ml": "x"}}}, "categories", "not a number"),
        (
            {"lines": {"mono_lines": {"ml": 1, "linear": 1, "area_used": 1}}},
            "categories",
            "at most two",
        ),
        ({"lines": {"mono_lines": {"sheets": 1}}}, "categories", "'sheets' is not one of"),
        ({"service": 1, "tax": 2}, "categories", "unknown key 'tax'"),
    ],
)
def test_bad_tables_are_refused_with_the_field_named(
    raw: dict[str, Any], basis: str, message: str
) -> None:
    with pytest.raises(RateError, match=message):
        RateTable.parse(raw, basis)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"units": "furlongs"}, "units"),
        ({"currency": "euro"}, "ISO 4217"),
        ({"tax_rate": "-1"}, "tax_rate"),
        ({"cost_basis": "pages"}, "cost_basis"),
        ({"rates_include_tax": "yes"}, "rates_include_tax"),
    ],
)
def test_bad_settings_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(RateError, match=message):
        Settings.parse(values)
