"""The Costs and prices form of one printer model, both ways: a model's stored tables (the JSON
of `printgate rates export`) to the form's fields, and the fields back to that JSON, with an
error beside each field that is wrong. The JSON is then checked whole by the gateway's own rate
validation before it is saved or previewed.

Field names: name, conversion, icc_profile, ml_c..ml_k; per table (kind cost or price)
KIND_on, KIND_service, KIND_LINE_metric1/rate1/metric2/rate2 for each line of the basis, and
KIND_media_I_name/checked/rate for each media row."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gateway.accounting.costing import BASES, CHANNELS, METRICS

from ...forms import Form
from ...i18n import gettext

TABLES = ("cost", "price")
SLOTS = ("1", "2")  # a line's first metric, and the second of a hybrid
SPARE_MEDIA_ROWS = 2
MAX_MEDIA_ROWS = 100
_MEDIA_FIELD = re.compile(r"^(cost|price)_media_(\d+)_(name|rate)$")


def media_rows(values: Mapping[str, str], kind: str) -> int:
    """How many media rows the form shows: those filled in, plus spare ones."""
    used = [
        int(match.group(2))
        for key, value in values.items()
        if (match := _MEDIA_FIELD.match(key)) and match.group(1) == kind and value.strip()
    ]
    return min(MAX_MEDIA_ROWS, (max(used) + 1 if used else 0) + SPARE_MEDIA_ROWS)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def to_values(name: str, body: Mapping[str, Any], basis: str) -> dict[str, str]:
    """A stored model's JSON as the form's values."""
    values = {
        "name": name,
        "conversion": _text(body.get("conversion", "icc")),
        "icc_profile": _text(body.get("icc_profile", "")),
    }
    for channel, amount in dict(body.get("ml_per_m2", {})).items():
        values[f"ml_{channel}"] = _text(amount)
    for kind in TABLES:
        table = body.get(kind)
        if not isinstance(table, Mapping):
            continue
        values[f"{kind}_on"] = "on"
        values[f"{kind}_service"] = _text(table.get("service", "0"))
        for line, rate in dict(table.get("lines", {})).items():
            if line not in BASES[basis] or not isinstance(rate, Mapping):
                continue
            for slot, (metric, amount) in zip(SLOTS, rate.items(), strict=False):
                values[f"{kind}_{line}_metric{slot}"] = metric
                values[f"{kind}_{line}_rate{slot}"] = _text(amount)
        for index, (media, entry) in enumerate(dict(table.get("media", {})).items()):
            checked, amount = True, entry
            if isinstance(entry, Mapping):
                checked, amount = entry.get("checked", True) is True, entry.get("rate")
            values[f"{kind}_media_{index}_name"] = str(media)
            values[f"{kind}_media_{index}_rate"] = _text(amount)
            if checked:
                values[f"{kind}_media_{index}_checked"] = "on"
    return values


def _amount(form: Form, field: str) -> str | None:
    number = form.decimal(field, minimum=Decimal(0))
    return None if number is None else str(number)


def _line(form: Form, kind: str, line: str, has_ink_profile: bool) -> dict[str, str]:
    rates: dict[str, str] = {}
    for slot in SLOTS:
        metric_field, rate_field = f"{kind}_{line}_metric{slot}", f"{kind}_{line}_rate{slot}"
        metric = form.choice(metric_field, METRICS, required=False)
        typed = form.raw(rate_field)
        if not metric and not typed:
            continue
        if not metric:
            form.error(metric_field, gettext("Choose the metric this rate applies to."))
            continue
        if not typed:
            form.error(rate_field, gettext("A rate is needed for this metric."))
            continue
        if metric in rates:
            form.error(metric_field, gettext("A hybrid line adds two different metrics."))
            continue
        if metric == "ml" and not has_ink_profile:
            form.error(
                metric_field,
                gettext("Rates per ml need the model's ink per m² (C, M, Y and K) above."),
            )
        amount = _amount(form, rate_field)
        if amount is not None:
            rates[metric] = amount
    return rates


def _media(form: Form, kind: str) -> dict[str, dict[str, Any]]:
    media: dict[str, dict[str, Any]] = {}
    for index in range(media_rows(form.values, kind)):
        prefix = f"{kind}_media_{index}"
        name = form.text(f"{prefix}_name", max_length=100)
        typed = form.raw(f"{prefix}_rate")
        if not name and not typed:
            continue
        if not name:
            form.error(f"{prefix}_name", gettext("Name the media type this rate is for."))
            continue
        if name in media:
            form.error(f"{prefix}_name", gettext("This media type is listed twice."))
            continue
        amount = _amount(form, f"{prefix}_rate") if typed else "0"
        if amount is not None:
            media[name] = {"checked": form.boolean(f"{prefix}_checked"), "rate": amount}
    return media


def from_form(form: Form, basis: str) -> tuple[str, dict[str, Any]]:
    """The model's name and JSON; `form.errors` says what is wrong, field by field."""
    name = form.text("name", required=True, max_length=255)
    body: dict[str, Any] = {"conversion": form.choice("conversion", ("icc", "fast"))}
    profile = form.text("icc_profile", max_length=1000)
    if profile:
        body["icc_profile"] = profile
    typed = {channel: form.raw(f"ml_{channel}") for channel in CHANNELS}
    if any(typed.values()):
        ink = {}
        for channel in CHANNELS:
            if not typed[channel]:
                form.error(f"ml_{channel}", gettext("Give all four inks, or none."))
            elif (amount := _amount(form, f"ml_{channel}")) is not None:
                ink[channel] = amount
        body["ml_per_m2"] = ink
    for kind in TABLES:
        if not form.boolean(f"{kind}_on"):
            continue
        lines = {}
        for line in BASES[basis]:
            rates = _line(form, kind, line, bool(body.get("ml_per_m2")))
            if rates:
                lines[line] = rates
        service = _amount(form, f"{kind}_service") if form.raw(f"{kind}_service") else "0"
        body[kind] = {"lines": lines, "media": _media(form, kind), "service": service or "0"}
    return name, body
