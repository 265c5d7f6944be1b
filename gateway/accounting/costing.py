"""The cost and price engine: what a printed job cost and what it is to be charged, from what
was measured of it and the rate table of the printer model that printed it. Pure: no IO.

A rate table (one for costs, one for prices, same shape) holds, for each line of the chosen basis,
one metric and its rate, or two for a hybrid:
    ml            per millilitre of ink: coverage x area x the model's ml per m² at full
                  coverage, channel by channel
    area_printed  per m² (ft² in imperial units) of printed sides
    area_used     per m² (ft²) of paper used
    linear        per metre (foot) of paper fed
The basis is global: print categories (mono lines, colour lines, low density image, high density
image) or coverage (colour and mono impressions). Then paper (a rate per m² / ft² of paper used
for each checked media type; unchecked or unlisted types cost nothing) and a service amount per
job.

Rounding, stated once: every amount is computed exactly in Decimal and each line, paper and
service amount is rounded half-up to the currency's minor unit; the job's total is the sum of
those rounded amounts, so a report's columns always add up to its totals. Tax is then total x
rate, rounded the same way (rates entered without tax), or the part of the total that the rate
accounts for (rates entered with tax). The ink amount is also shown per channel (C, M, Y, K),
shared out by each line's ink in whole minor units that add up to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..analysis.figures import CATEGORIES, JobFigures

METRICS = ("ml", "area_printed", "area_used", "linear")
BASES = {"categories": CATEGORIES, "coverage": ("color", "mono")}
UNITS = ("metric", "imperial")
CHANNELS = ("c", "m", "y", "k")
SQ_FT_PER_M2 = Decimal("10.7639104167097")  # 1 / 0.3048²
FT_PER_M = Decimal("3.28083989501312")  # 1 / 0.3048
# Quantities in breakdowns are shown to these steps; amounts to the currency's minor unit.
ML_QUANTUM = Decimal("0.001")
AREA_QUANTUM = Decimal("0.0001")
# ISO 4217 currencies whose minor unit is not the cent.
MINOR_DIGITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


class RateError(ValueError):
    """A rate table or setting that cannot be used; the message says which field and why."""


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise RateError(f"{where}: expected a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise RateError(f"{where}: {value!r} is not a number") from exc
    if not number.is_finite() or number < 0:
        raise RateError(f"{where}: expected a number of 0 or more")
    return number


@dataclass(frozen=True)
class Settings:
    """The global choices SmartTracker keeps on its Options and Costs tabs."""

    basis: str = "categories"
    units: str = "metric"
    currency: str = "EUR"
    tax_rate: Decimal = Decimal(0)  # percent
    rates_include_tax: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> Settings:
        defaults = cls()
        basis = raw.get("cost_basis", defaults.basis)
        units = raw.get("units", defaults.units)
        currency = raw.get("currency", defaults.currency)
        include = raw.get("rates_include_tax", "false")
        if basis not in BASES:
            raise RateError(f"cost_basis: {basis!r} is not one of {', '.join(BASES)}")
        if units not in UNITS:
            raise RateError(f"units: {units!r} is not one of {', '.join(UNITS)}")
        if len(currency) != 3 or not currency.isascii() or not currency.isupper():
            raise RateError(f"currency: {currency!r} is not a three-letter ISO 4217 code")
        if include not in ("true", "false"):
            raise RateError("rates_include_tax: expected true or false")
        tax = _decimal(raw.get("tax_rate", "0"), "tax_rate")
        if tax >= 1000:
            raise RateError("tax_rate: a percentage under 1000 expected")
        return cls(basis, units, currency, tax, include == "true")

    @property
    def quantum(self) -> Decimal:
        return quantum(self.currency)


def quantum(currency: str) -> Decimal:
    """The currency's minor unit: 0.01 for most, 1 for JPY, 0.001 for KWD."""
    return Decimal(1).scaleb(-MINOR_DIGITS.get(currency, 2))


@dataclass(frozen=True)
class LineRate:
    """One line of a table: one metric, or two added (hybrid)."""

    rates: tuple[tuple[str, Decimal], ...]

    @classmethod
    def parse(cls, raw: Any, where: str) -> LineRate:
        if not isinstance(raw, Mapping) or not raw:
            raise RateError(f"{where}: expected a table of metric = rate")
        if len(raw) > 2:
            raise RateError(f"{where}: at most two metrics (a hybrid)")
        rates = []
        for metric, rate in raw.items():
            if metric not in METRICS:
                raise RateError(f"{where}: {metric!r} is not one of {', '.join(METRICS)}")
            rates.append((metric, _decimal(rate, f"{where}.{metric}")))
        return cls(tuple(rates))


@dataclass(frozen=True)
class ModelProfile:
    """What a printer model does with ink, shared by its cost and price tables: the RGB to CMYK
    conversion analysis uses for it, and the ink it lays at full coverage."""

    conversion: str = "icc"
    icc_profile: str = ""  # empty: Ghostscript's default CMYK profile
    ml_per_m2: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any, where: str = "model") -> ModelProfile:
        if not isinstance(raw, Mapping):
            raise RateError(f"{where}: expected a table")
        _known(raw, {"conversion", "icc_profile", "ml_per_m2"}, where)
        conversion = raw.get("conversion", "icc")
        if conversion not in ("icc", "fast"):
            raise RateError(f"{where}.conversion: expected icc or fast")
        profile = raw.get("icc_profile", "")
        if not isinstance(profile, str):
            raise RateError(f"{where}.icc_profile: expected a path")
        ml = raw.get("ml_per_m2", {})
        if not isinstance(ml, Mapping) or (ml and set(ml) != set(CHANNELS)):
            raise RateError(f"{where}.ml_per_m2: expected c, m, y and k")
        return cls(
            conversion,
            profile,
            {c: _decimal(v, f"{where}.ml_per_m2.{c}") for c, v in ml.items()},
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "conversion": self.conversion,
            "icc_profile": self.icc_profile,
            "ml_per_m2": {c: str(v) for c, v in self.ml_per_m2.items()},
        }


def _known(raw: Mapping[str, Any], known: set[str], where: str) -> None:
    for key in raw:
        if key not in known:
            raise RateError(f"{where}: unknown key {key!r}")


@dataclass(frozen=True)
class RateTable:
    """A printer model's costs, or its prices."""

    lines: Mapping[str, LineRate]
    media: Mapping[str, Decimal] = field(default_factory=dict)  # checked types: rate per area
    service: Decimal = Decimal(0)  # per job

    @classmethod
    def parse(cls, raw: Any, basis: str, where: str = "table") -> RateTable:
        if not isinstance(raw, Mapping):
            raise RateError(f"{where}: expected a table")
        _known(raw, {"lines", "media", "service"}, where)
        raw_lines = raw.get("lines", {})
        if not isinstance(raw_lines, Mapping):
            raise RateError(f"{where}.lines: expected a table")
        names = BASES[basis]
        for name in raw_lines:
            if name not in names:
                raise RateError(
                    f"{where}.lines: {name!r} is not a line of the {basis} basis "
                    f"({', '.join(names)})"
                )
        lines = {
            name: LineRate.parse(rate, f"{where}.lines.{name}") for name, rate in raw_lines.items()
        }
        media = raw.get("media", {})
        if not isinstance(media, Mapping):
            raise RateError(f"{where}.media: expected a table of media type = rate")
        checked = {}
        for name, entry in media.items():
            if isinstance(entry, Mapping):  # {checked = true, rate = 0.5}
                _known(entry, {"checked", "rate"}, f"{where}.media.{name}")
                if entry.get("checked", True) is not True:
                    continue
                entry = entry.get("rate")
            checked[str(name)] = _decimal(entry, f"{where}.media.{name}")
        return cls(
            lines=lines,
            media=checked,
            service=_decimal(raw.get("service", 0), f"{where}.service"),
        )


@dataclass(frozen=True)
class Usage:
    """What one line of the basis consumed, in metric units."""

    impressions: int = 0
    area_printed_m2: Decimal = Decimal(0)
    area_used_m2: Decimal = Decimal(0)
    linear_m: Decimal = Decimal(0)
    ink_m2: Mapping[str, Decimal] = field(default_factory=dict)  # per channel, full coverage


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def usage_by_line(figures: JobFigures, basis: str) -> dict[str, Usage]:
    """The job's consumption split over the basis's lines. Paper used and length are shared out
    in proportion to printed area: a roll or sheet belongs to the sides printed on it."""
    groups = figures.categories if basis == "categories" else figures.by_color
    total_area = _dec(figures.area_printed_m2)
    result = {}
    for name, use in groups.items():
        share = _dec(use.area_m2) / total_area if total_area else Decimal(0)
        result[name] = Usage(
            use.impressions,
            _dec(use.area_m2),
            _dec(figures.area_used_m2) * share,
            _dec(figures.length_used_m) * share,
            {c: _dec(v) for c, v in use.ink_m2.as_dict().items()},
        )
    return result


@dataclass(frozen=True)
class Charge:
    """A job's amounts; `breakdown` is what reports show."""

    net: Decimal
    tax: Decimal
    gross: Decimal
    breakdown: dict[str, Any]


def _quantity(metric: str, usage: Usage, ml_per_m2: Mapping[str, Decimal], units: str) -> Decimal:
    area_factor = SQ_FT_PER_M2 if units == "imperial" else Decimal(1)
    length_factor = FT_PER_M if units == "imperial" else Decimal(1)
    if metric == "ml":
        return sum((usage.ink_m2[c] * ml_per_m2.get(c, Decimal(0)) for c in CHANNELS), Decimal(0))
    if metric == "area_printed":
        return usage.area_printed_m2 * area_factor
    if metric == "area_used":
        return usage.area_used_m2 * area_factor
    return usage.linear_m * length_factor


def charge(
    figures: JobFigures,
    table: RateTable,
    settings: Settings,
    model: ModelProfile,
    media_type: str = "",
) -> Charge:
    quantum = settings.quantum

    def rounded(amount: Decimal) -> Decimal:
        return amount.quantize(quantum, rounding=ROUND_HALF_UP)

    area_factor = SQ_FT_PER_M2 if settings.units == "imperial" else Decimal(1)
    lines: dict[str, Any] = {}
    ink_ml = {c: Decimal(0) for c in CHANNELS}
    by_channel = {c: Decimal(0) for c in CHANNELS}  # each line's exact amount, by its ink
    ink_amount = Decimal(0)
    for name, usage in usage_by_line(figures, settings.basis).items():
        rate = table.lines.get(name, LineRate(()))
        exact = sum(
            (r * _quantity(m, usage, model.ml_per_m2, settings.units) for m, r in rate.rates),
            Decimal(0),
        )
        amount = rounded(exact)
        ink_amount += amount
        line_ink = sum(usage.ink_m2.values(), Decimal(0))
        for c in CHANNELS:
            ink_ml[c] += usage.ink_m2[c] * model.ml_per_m2.get(c, Decimal(0))
            if line_ink:
                by_channel[c] += exact * usage.ink_m2[c] / line_ink
        lines[name] = {
            "impressions": usage.impressions,
            "area": str(rounded_area(usage.area_printed_m2 * area_factor)),
            "amount": str(amount),
        }
    paper_rate = table.media.get(media_type or "stationery", Decimal(0))
    paper = rounded(_dec(figures.area_used_m2) * area_factor * paper_rate)
    service = rounded(table.service)
    total = ink_amount + paper + service
    tax_rate = settings.tax_rate / 100
    if settings.rates_include_tax:
        gross = total
        net = rounded(gross / (1 + tax_rate))
        tax = gross - net
    else:
        net = total
        tax = rounded(net * tax_rate)
        gross = net + tax
    breakdown = {
        "currency": settings.currency,
        "units": settings.units,
        "basis": settings.basis,
        "lines": lines,
        "ink_ml": {
            c: str(v.quantize(ML_QUANTUM, rounding=ROUND_HALF_UP)) for c, v in ink_ml.items()
        },
        "ink": str(ink_amount),
        "ink_by_channel": {
            c: str(v) for c, v in _apportion(ink_amount, by_channel, quantum).items()
        },
        "paper": str(paper),
        "media_type": media_type or "stationery",
        "service": str(service),
        "tax_rate": str(settings.tax_rate),
        "net": str(net),
        "tax": str(tax),
        "gross": str(gross),
    }
    return Charge(net, tax, gross, breakdown)


def _apportion(total: Decimal, weights: dict[str, Decimal], quantum: Decimal) -> dict[str, Decimal]:
    """`total` split in proportion to `weights`, in whole quanta that add up to it exactly
    (largest remainders get the leftover quanta), so a report's ink columns sum to its ink."""
    weight = sum(weights.values(), Decimal(0))
    if not weight:
        return {name: Decimal(0).quantize(quantum) for name in weights}
    units = int(total / quantum)
    shares = {name: units * w / weight for name, w in weights.items()}
    whole = {name: int(share) for name, share in shares.items()}
    leftover = units - sum(whole.values())
    for name in sorted(shares, key=lambda n: shares[n] - whole[n], reverse=True)[:leftover]:
        whole[name] += 1
    return {name: (quantum * count).quantize(quantum) for name, count in whole.items()}


def rounded_area(area: Decimal) -> Decimal:
    return area.quantize(AREA_QUANTUM, rounding=ROUND_HALF_UP)
