"""Settings and rate tables in the store: the accounting options (basis, units, currency, tax),
and per printer model its ink profile, its cost table and its price table.

Everything is checked before anything is written: a rate file or a setting that would leave a
table unusable is refused whole, with the reason."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..store.models import RateTableRow, SettingRow
from ..store.store import Store, now
from .costing import ModelProfile, RateError, RateTable, Settings

SETTING_KEYS = ("cost_basis", "units", "currency", "tax_rate", "rates_include_tax")
KINDS = ("model", "cost", "price")
ANY_MODEL = "*"  # the tables of every model that has none of its own


@dataclass(frozen=True)
class InForce:
    """What costs and prices a job printed on one model."""

    settings: Settings
    profile: ModelProfile
    cost: RateTable | None
    price: RateTable | None


def _check_model(name: str, body: Mapping[str, Any], basis: str) -> None:
    where = f"models.{name}"
    if not isinstance(body, Mapping):
        raise RateError(f"{where}: expected a table")
    for key in body:
        if key not in ("conversion", "icc_profile", "ml_per_m2", "cost", "price"):
            raise RateError(f"{where}: unknown key {key!r}")
    if not name or len(name) > 255:
        raise RateError(f"{where}: a model name of 1 to 255 characters expected")
    profile = ModelProfile.parse({k: v for k, v in body.items() if k not in KINDS}, where)
    for kind in ("cost", "price"):
        if kind not in body:
            continue
        table = RateTable.parse(body[kind], basis, f"{where}.{kind}")
        uses_ml = any(m == "ml" for line in table.lines.values() for m, _ in line.rates)
        if uses_ml and not profile.ml_per_m2:
            raise RateError(f"{where}: ml rates need the model's ml_per_m2")


def parse_rate_file(raw: Any, current: Mapping[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    """A rate file's settings (merged over the current ones) and models, all checked."""
    if not isinstance(raw, Mapping):
        raise RateError("a rate file is a JSON object with settings and models")
    for key in raw:
        if key not in ("settings", "models"):
            raise RateError(f"unknown key {key!r}")
    given = raw.get("settings", {})
    if not isinstance(given, Mapping):
        raise RateError("settings: expected an object")
    for key in given:
        if key not in SETTING_KEYS:
            raise RateError(f"settings: unknown key {key!r} ({', '.join(SETTING_KEYS)})")
    merged = {**current, **{k: _setting_text(v) for k, v in given.items()}}
    settings = Settings.parse(merged)
    models = raw.get("models", {})
    if not isinstance(models, Mapping):
        raise RateError("models: expected an object of model name -> tables")
    for name, body in models.items():
        _check_model(name, body, settings.basis)
    return merged, dict(models)


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Rates:
    def __init__(self, store: Store):
        self.store = store

    async def settings(self) -> dict[str, str]:
        async def fn(session: AsyncSession) -> dict[str, str]:
            rows = await session.scalars(select(SettingRow))
            return {r.key: r.value for r in rows if r.key in SETTING_KEYS}

        return await self.store.read(fn)

    async def models(self) -> dict[str, dict[str, Any]]:
        async def fn(session: AsyncSession) -> list[RateTableRow]:
            return list(await session.scalars(select(RateTableRow)))

        models: dict[str, dict[str, Any]] = {}
        for row in await self.store.read(fn):
            body = json.loads(row.body)
            entry = models.setdefault(row.model, {})
            if row.kind == "model":
                entry.update(body)
            else:
                entry[row.kind] = body
        return models

    async def export(self) -> dict[str, Any]:
        return {"settings": await self.settings(), "models": await self.models()}

    async def set_setting(self, key: str, value: str) -> None:
        if key not in SETTING_KEYS:
            raise RateError(f"unknown setting {key!r} ({', '.join(SETTING_KEYS)})")
        current = await self.settings()
        # The tables must still read under the new setting (a basis change renames lines).
        parse_rate_file({"settings": {key: value}, "models": await self.models()}, current)

        def fn(session: Session) -> None:
            session.merge(SettingRow(key=key, value=value))

        await self.store.write(fn)

    async def load(self, raw: Any, replace: bool = False) -> int:
        """Import a rate file: its settings and its models' tables, in one transaction. With
        replace, models the file does not name lose their tables. Returns the models written."""
        existing = {} if replace else await self.models()
        settings, models = parse_rate_file(raw, await self.settings())
        # The models kept must still read under the new settings.
        parse_rate_file({"models": {**existing, **models}}, settings)
        written = now()

        def fn(session: Session) -> None:
            for key, value in settings.items():
                session.merge(SettingRow(key=key, value=value))
            if replace:
                session.execute(delete(RateTableRow))
            for name, body in models.items():
                session.execute(delete(RateTableRow).where(RateTableRow.model == name))
                profile = {k: v for k, v in body.items() if k not in KINDS}
                session.add(_row(name, "model", profile, written))
                for kind in ("cost", "price"):
                    if kind in body:
                        session.add(_row(name, kind, body[kind], written))

        await self.store.write(fn)
        return len(models)

    async def remove(self, model: str) -> bool:
        def fn(session: Session) -> bool:
            result = session.execute(delete(RateTableRow).where(RateTableRow.model == model))
            return bool(getattr(result, "rowcount", 0))

        return await self.store.write(fn)

    async def in_force(self, model: str) -> InForce:
        """The settings and the model's tables (or those of "*") as they are now."""
        settings = Settings.parse(await self.settings())
        models = await self.models()
        body = models.get(model) or models.get(ANY_MODEL) or {}
        profile = ModelProfile.parse({k: v for k, v in body.items() if k not in KINDS})
        return InForce(
            settings,
            profile,
            RateTable.parse(body["cost"], settings.basis) if "cost" in body else None,
            RateTable.parse(body["price"], settings.basis) if "price" in body else None,
        )


def _row(model: str, kind: str, body: Any, written: Any) -> RateTableRow:
    return RateTableRow(model=model, kind=kind, body=json.dumps(body), updated_at=written)
