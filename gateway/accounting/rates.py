"""Settings and rate tables in the store: the accounting options (basis, units, currency, tax),
and per printer model its ink profile, its cost table and its price table.

Everything is checked before anything is written: a rate file or a setting that would leave a
table unusable is refused whole, with the reason. Every change is written to the audit log in
its own transaction, by the Actor the caller names, with what it replaced."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..store.audit import Actor, record
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

        return _assemble(await self.store.read(fn))

    async def export(self) -> dict[str, Any]:
        return {"settings": await self.settings(), "models": await self.models()}

    async def set_setting(self, key: str, value: str, *, actor: Actor) -> str | None:
        """Store one setting; the value it had (None: never set, the default was in force)."""
        if key not in SETTING_KEYS:
            raise RateError(f"unknown setting {key!r} ({', '.join(SETTING_KEYS)})")
        current = await self.settings()
        # The tables must still read under the new setting (a basis change renames lines).
        parse_rate_file({"settings": {key: value}, "models": await self.models()}, current)

        def fn(session: Session) -> str | None:
            row = session.get(SettingRow, key)
            before = None if row is None else row.value
            if before != value:
                session.merge(SettingRow(key=key, value=value))
                record(session, actor, "settings.set", key, {key: before}, {key: value})
            return before

        return await self.store.write(fn)

    async def load(self, raw: Any, replace: bool = False, *, actor: Actor) -> int:
        """Import a rate file: its settings and its models' tables, in one transaction. With
        replace, models the file does not name lose their tables. Returns the models written.
        The audit entry keeps the settings and tables the import replaced."""
        existing = {} if replace else await self.models()
        settings, models = parse_rate_file(raw, await self.settings())
        # The models kept must still read under the new settings.
        parse_rate_file({"models": {**existing, **models}}, settings)
        written = now()

        def fn(session: Session) -> None:
            stored = {r.key: r.value for r in session.scalars(select(SettingRow))}
            old_models = _assemble(session.execute(_TABLES))
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
            touched = set(old_models) if replace else set(models)
            changed = {k: v for k, v in settings.items() if stored.get(k) != v}
            before = {
                "settings": {k: stored.get(k) for k in changed},
                "models": {m: old_models[m] for m in sorted(touched) if m in old_models},
            }
            after = {"settings": changed, "models": {m: models[m] for m in sorted(models)}}
            target = "replace" if replace else ", ".join(sorted(models))
            record(session, actor, "rates.import", target[:255], before, after)

        await self.store.write(fn)
        return len(models)

    async def remove(self, model: str, *, actor: Actor) -> bool:
        def fn(session: Session) -> bool:
            old = _assemble(session.execute(_TABLES.where(RateTableRow.model == model))).get(model)
            if old is None:
                return False
            session.execute(delete(RateTableRow).where(RateTableRow.model == model))
            record(session, actor, "rates.remove", model, {model: old}, None)
            return True

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


# The tables as plain rows: loading them as ORM objects would make the new rows an import adds
# under the same (model, kind) clash with those objects in the session.
_TABLES = select(RateTableRow.model, RateTableRow.kind, RateTableRow.body)


def _assemble(rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Model name -> its profile's keys and its "cost" and "price" tables, as a rate file has
    them (rows with model, kind and body)."""
    models: dict[str, dict[str, Any]] = {}
    for row in rows:
        body = json.loads(row.body)
        entry = models.setdefault(row.model, {})
        if row.kind == "model":
            entry.update(body)
        else:
            entry[row.kind] = body
    return models


def _row(model: str, kind: str, body: Any, written: Any) -> RateTableRow:
    return RateTableRow(model=model, kind=kind, body=json.dumps(body), updated_at=written)
