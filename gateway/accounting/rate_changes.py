"""Changes to the rate tables made in the console's Costs and prices panel, each in one
transaction with its audit entry: one model's tables saved from its form (or renamed), removed,
or a whole rate file loaded (the last two are Rates' own, as the CLI uses them). Everything is
checked by rates.parse_rate_file, the validation of `printgate rates import`, before anything is
written."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..store.audit import Actor, record
from ..store.models import RateTableRow
from ..store.store import Store, now
from .rates import KINDS, Rates, parse_rate_file


def _write_model(session: Session, name: str, body: Mapping[str, Any]) -> None:
    session.execute(delete(RateTableRow).where(RateTableRow.model == name))
    written = now()
    profile = {k: v for k, v in body.items() if k not in KINDS}
    rows = [("model", profile)] + [(kind, body[kind]) for kind in ("cost", "price") if kind in body]
    for kind, part in rows:
        session.add(RateTableRow(model=name, kind=kind, body=json.dumps(part), updated_at=written))


def _stored_model(session: Session, name: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    # Plain rows, not ORM objects: the rows written next have the same keys.
    query = select(RateTableRow.kind, RateTableRow.body).where(RateTableRow.model == name)
    for row in session.execute(query):
        part = json.loads(row.body)
        if row.kind == "model":
            body.update(part)
        else:
            body[row.kind] = part
    return body


async def save_model(
    store: Store, actor: Actor, name: str, body: Mapping[str, Any], replaces: str = ""
) -> None:
    """One model's profile and tables, replacing what it had (and, when `replaces` names another
    model, that model's tables: a rename). RateError when the tables do not read."""
    settings = await Rates(store).settings()
    parse_rate_file({"models": {name: dict(body)}}, settings)

    def fn(session: Session) -> None:
        before = _stored_model(session, replaces or name)
        if replaces and replaces != name:
            session.execute(delete(RateTableRow).where(RateTableRow.model == replaces))
        _write_model(session, name, body)
        target = name if not replaces or replaces == name else f"{replaces} -> {name}"
        record(session, actor, "rates.model", target, before or None, dict(body))

    await store.write(fn)


async def remove_model(store: Store, actor: Actor, name: str) -> bool:
    return await Rates(store).remove(name, actor=actor)


async def import_file(store: Store, actor: Actor, raw: Any, replace: bool = False) -> int:
    """A rate file as `printgate rates import` loads it (Rates.load, audited there)."""
    return await Rates(store).load(raw, replace, actor=actor)
