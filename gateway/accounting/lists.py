"""Each queue's lists of users, projects and departments (SmartTracker's grids): enabled,
disabled or removed entries, each with an optional password. Every change is written to the
audit log in its own transaction, by the Actor the caller names."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..config import RESERVED_NAMES
from ..store.audit import Actor, record
from ..store.models import DepartmentRow, GridTabRow, ProjectRow, QueueUserRow
from ..store.store import Store, now

Kind = Literal["user", "project", "department"]
KINDS: dict[str, type[QueueUserRow] | type[ProjectRow] | type[DepartmentRow]] = {
    "user": QueueUserRow,
    "project": ProjectRow,
    "department": DepartmentRow,
}
STATUSES = ("enabled", "disabled", "removed")
MAX_NAME = 100
USER_DETAILS = ("first_name", "last_name", "email", "address")
DETAILS = {"user": USER_DETAILS, "project": ("description",), "department": ("description",)}
# The audit log's verb for a change of status: `user.disable`, `project.remove`, ...
STATUS_VERBS = {"enabled": "enable", "disabled": "disable", "removed": "remove"}
# The grids' columns a filter searches and a sort may use, by kind.
COLUMNS = {kind: ("name", *details, "status") for kind, details in DETAILS.items()}
DETAILS_AND_NAME = {kind: ("name", *details) for kind, details in DETAILS.items()}  # filtered


class ListError(ValueError):
    """A name or value the lists refuse; the message is for a person."""


@dataclass(frozen=True)
class Entry:
    kind: str
    queue: str
    name: str
    status: str
    password_hash: str | None
    details: tuple[tuple[str, str], ...] = ()

    @property
    def enabled(self) -> bool:
        return self.status == "enabled"

    def detail(self, key: str) -> str:
        return dict(self.details).get(key, "")


@dataclass(frozen=True)
class Put:
    """One entry for `Lists.put_many`. What is None or absent keeps the stored value; a new entry
    gets the default (enabled, no password, empty details)."""

    name: str
    status: str | None = None
    password_hash: str | None = None  # None: keep the stored password (a new entry gets none)
    keep_password: bool = False  # the entry must exist and have a password already
    details: tuple[tuple[str, str], ...] = ()  # only the details to set


@dataclass(frozen=True)
class PutResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class GridQuery:
    """One page of a grid: the rows whose name (or a user's detail) holds `text`, whatever
    the case, in these statuses, sorted on one column."""

    text: str = ""
    statuses: tuple[str, ...] = ("enabled", "disabled")
    sort: str = "name"
    descending: bool = False
    offset: int = 0
    limit: int = 25


@dataclass(frozen=True)
class GridPage:
    entries: list[Entry]
    total: int  # rows matching the query, over all pages


def check_name(kind: str, name: str) -> str:
    name = name.strip()
    if not name:
        raise ListError(f"a {kind} needs a name")
    if len(name) > MAX_NAME:
        raise ListError(f"{kind} names are at most {MAX_NAME} characters")
    if kind in ("project", "department") and "/" in name:
        # job-account-id is "project/department": a slash would make the name unreachable
        raise ListError(f"{kind} names cannot contain '/'")
    if name.lower() in RESERVED_NAMES:
        raise ListError(f"{name!r} is reserved (Guest, Others, Service and Unknown are)")
    return name


def _entry(kind: str, row: Any) -> Entry:
    details = tuple((k, getattr(row, k)) for k in DETAILS[kind])
    return Entry(kind, row.queue, row.name, row.status, row.password_hash, details)


def _public(kind: str, row: Any) -> dict[str, Any]:
    """What the audit log shows of an entry: never a password hash, only whether there is one."""
    shown: dict[str, Any] = {
        "status": row.status,
        "password": "(set)" if row.password_hash is not None else "(none)",
    }
    for key in DETAILS[kind]:
        shown[key] = getattr(row, key)
    return shown


def _changes(
    before: dict[str, Any], after: dict[str, Any], password_changed: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that changed, before and after (a new password is "(changed)")."""
    keys = [k for k in after if before.get(k) != after[k]]
    old = {k: before.get(k) for k in keys}
    new = {k: after[k] for k in keys}
    if password_changed:
        old["password"] = before.get("password")
        new["password"] = "(changed)" if after.get("password") == "(set)" else "(none)"
    return old, new


def _target(queue: str, name: str) -> str:
    return f"{queue}/{name}"


class Lists:
    def __init__(self, store: Store):
        self.store = store

    async def get(self, kind: Kind, queue: str, name: str) -> Entry | None:
        model = KINDS[kind]

        async def fn(session: AsyncSession) -> Entry | None:
            row = await session.scalar(
                select(model).where(model.queue == queue, model.name == name)
            )
            return _entry(kind, row) if row is not None else None

        return await self.store.read(fn)

    async def entries(
        self, kind: Kind, queue: str, statuses: Iterable[str] = ("enabled", "disabled")
    ) -> list[Entry]:
        model = KINDS[kind]
        wanted = list(statuses)

        async def fn(session: AsyncSession) -> list[Entry]:
            rows = await session.scalars(
                select(model)
                .where(model.queue == queue, model.status.in_(wanted))
                .order_by(model.name)
            )
            return [_entry(kind, row) for row in rows]

        return await self.store.read(fn)

    async def page(self, kind: Kind, queue: str, query: GridQuery) -> GridPage:
        if query.sort not in COLUMNS[kind]:
            raise ListError(f"a {kind} grid has no column {query.sort!r}")
        model: Any = KINDS[kind]
        where = [model.queue == queue, model.status.in_(query.statuses)]
        if query.text:
            where.append(
                or_(
                    *(self._contains(getattr(model, c), query.text) for c in DETAILS_AND_NAME[kind])
                )
            )
        column = getattr(model, query.sort)
        order = [column.desc() if query.descending else column.asc()]
        if query.sort != "name":
            order.append(model.name.desc() if query.descending else model.name.asc())
        page = select(model).where(*where).order_by(*order).offset(query.offset).limit(query.limit)

        async def fn(session: AsyncSession) -> GridPage:
            # The page reads the sorted column's index in order until it has its rows; a page
            # not filled is the last, and tells the total. Else the count reads an index
            # alone, unless a filter makes it read the rows (once: a filter that matches
            # few rows fills no page).
            entries = [_entry(kind, row) for row in await session.scalars(page)]
            if len(entries) < query.limit and (entries or not query.offset):
                return GridPage(entries, query.offset + len(entries))
            total = await session.scalar(select(func.count()).select_from(model).where(*where))
            return GridPage(entries, int(total or 0))

        return await self.store.read(fn)

    def _contains(self, column: Any, text: str) -> Any:
        """The column holds the text, whatever the (ASCII) case: SQLite's LIKE ignores it,
        PostgreSQL needs ILIKE; neither needs lower() on every row. An ESCAPE clause makes
        SQLite's LIKE half again as slow: only a text with a wildcard in it gets one."""
        postgresql = self.store.engine.dialect.name == "postgresql"
        if not any(wild in text for wild in "%_\\"):
            pattern = f"%{text}%"
            return column.ilike(pattern) if postgresql else column.like(pattern)
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        if postgresql:
            return column.ilike(pattern, escape="\\")
        return column.like(pattern, escape="\\")

    async def counts(self, queue: str) -> dict[str, int]:
        """Each kind's enabled entries in the queue: the figures on the grids' tabs."""

        async def fn(session: AsyncSession) -> dict[str, int]:
            counted = [
                select(func.count())
                .select_from(model)
                .where(model.queue == queue, model.status == "enabled")
                .scalar_subquery()
                for model in KINDS.values()
            ]
            found = (await session.execute(select(*counted))).one()
            return {kind: int(count) for kind, count in zip(KINDS, found, strict=True)}

        return await self.store.read(fn)

    async def tab_labels(self, queue: str) -> dict[str, str]:
        """The names the queue gave its Projects and Departments tabs (absent: the default)."""

        async def fn(session: AsyncSession) -> dict[str, str]:
            rows = await session.scalars(select(GridTabRow).where(GridTabRow.queue == queue))
            return {row.kind: row.label for row in rows}

        return await self.store.read(fn)

    async def rename_tab(
        self, queue: str, kind: Kind, label: str, defaults: dict[str, str], *, actor: Actor
    ) -> None:
        """Name the queue's projects or departments tab; the users tab keeps its name, and no
        two tabs share one (`defaults`: every tab's name when none was given, by kind)."""
        label = " ".join(label.split())
        if kind == "user":
            raise ListError("the users tab keeps its name")
        if not label or len(label) > MAX_NAME:
            raise ListError(f"a tab's name has 1 to {MAX_NAME} characters")

        def fn(session: Session) -> None:
            found = session.scalars(select(GridTabRow).where(GridTabRow.queue == queue))
            names = {**defaults, **{row.kind: row.label for row in found}}
            others = {name.casefold() for other, name in names.items() if other != kind}
            if label.casefold() in others:
                raise ListError(f"another tab is named {label!r}")
            row = session.get(GridTabRow, (queue, kind))
            before = names.get(kind)
            if row is None:
                session.add(GridTabRow(queue=queue, kind=kind, label=label))
            else:
                row.label = label
            if before != label:
                record(session, actor, f"{kind}.tab", queue, {"label": before}, {"label": label})

        await self.store.write(fn)

    async def set_status(
        self, kind: Kind, queue: str, names: Sequence[str], status: str, *, actor: Actor
    ) -> int:
        """Give these entries a status in one transaction, each change audited as
        `KIND.enable|disable|remove`; how many changed. Names not in the list are refused."""
        if status not in STATUSES:
            raise ListError(f"status must be one of {', '.join(STATUSES)}")
        model: Any = KINDS[kind]
        wanted = sorted(set(names))

        def fn(session: Session) -> int:
            found = session.scalars(
                select(model).where(model.queue == queue, model.name.in_(wanted))
            )
            rows = {row.name: row for row in found}
            missing = [name for name in wanted if name not in rows]
            if missing:
                raise ListError(f"queue {queue!r} has no {kind} named {missing[0]!r}")
            changed = 0
            for name in wanted:
                row = rows[name]
                if row.status == status:
                    continue
                before = row.status
                row.status = status
                action = f"{kind}.{STATUS_VERBS[status]}"
                target = _target(queue, name)
                record(session, actor, action, target, {"status": before}, {"status": status})
                changed += 1
            return changed

        return await self.store.write(fn)

    async def add(
        self,
        kind: Kind,
        queue: str,
        name: str,
        password_hash: str | None = None,
        status: str = "enabled",
        *,
        actor: Actor,
        **details: str,
    ) -> Entry:
        name = check_name(kind, name)
        if status not in STATUSES:
            raise ListError(f"status must be one of {', '.join(STATUSES)}")
        unknown = set(details) - set(DETAILS[kind])
        if unknown:
            raise ListError(f"a {kind} has no {', '.join(sorted(unknown))}")
        model = KINDS[kind]

        def fn(session: Session) -> Entry:
            row = model(
                queue=queue,
                name=name,
                status=status,
                password_hash=password_hash,
                created_at=now(),
                **details,
            )
            session.add(row)
            session.flush()
            record(session, actor, f"{kind}.add", _target(queue, name), None, _public(kind, row))
            return _entry(kind, row)

        try:
            return await self.store.write(fn)
        except IntegrityError as exc:
            raise ListError(f"queue {queue!r} already has a {kind} named {name!r}") from exc

    async def change(
        self, kind: Kind, queue: str, name: str, *, actor: Actor, **values: Any
    ) -> None:
        """Set status, password_hash or (users) details of an existing entry. The audit entry's
        action is `KIND.enable|disable|remove` for a status alone, else `KIND.edit`."""
        if "status" in values and values["status"] not in STATUSES:
            raise ListError(f"status must be one of {', '.join(STATUSES)}")
        allowed = {"status", "password_hash", *DETAILS[kind]}
        unknown = set(values) - allowed
        if unknown:
            raise ListError(f"a {kind} has no {', '.join(sorted(unknown))}")
        model = KINDS[kind]

        def fn(session: Session) -> None:
            query = select(model).where(model.queue == queue, model.name == name)
            row: Any = session.scalar(query)
            if row is None:
                raise ListError(f"queue {queue!r} has no {kind} named {name!r}")
            before = _public(kind, row)
            password_changed = values.get("password_hash", row.password_hash) != row.password_hash
            for key, value in values.items():
                setattr(row, key, value)
            old, new = _changes(before, _public(kind, row), password_changed)
            if not new:
                return  # nothing changed: nothing to log
            action = f"{kind}.edit"
            if set(values) == {"status"}:
                action = f"{kind}.{STATUS_VERBS[values['status']]}"
            record(session, actor, action, _target(queue, name), old, new)

        await self.store.write(fn)

    async def put_many(
        self, kind: Kind, queue: str, puts: Sequence[Put], *, actor: Actor
    ) -> PutResult:
        """Add or update many entries in one transaction: all of them, or (ListError) none.
        The audit log gets a `KIND.import` entry with the counts, and a `KIND.add` or
        `KIND.edit` entry for each entry added or changed."""
        checked = [_checked_put(kind, put) for put in puts]
        twice = sorted(n for n, c in Counter(put.name for put in checked).items() if c > 1)
        if twice:
            raise ListError(f"{', '.join(map(repr, twice))} given more than once")
        model = KINDS[kind]

        def fn(session: Session) -> PutResult:
            found: Iterable[Any] = session.scalars(select(model).where(model.queue == queue))
            rows = {row.name: row for row in found}
            added = updated = 0
            for put in checked:
                row = rows.get(put.name)
                target = _target(queue, put.name)
                if row is None:
                    row = _new_row(kind, model, queue, put)
                    session.add(row)
                    record(session, actor, f"{kind}.add", target, None, _public(kind, row))
                    added += 1
                    continue
                before = _public(kind, row)
                password_hash = row.password_hash
                if _apply_put(kind, row, put):
                    changed = row.password_hash != password_hash
                    old, new = _changes(before, _public(kind, row), changed)
                    record(session, actor, f"{kind}.edit", target, old, new)
                    updated += 1
            session.flush()
            result = PutResult(added, updated, len(checked) - added - updated)
            counts = {"added": added, "updated": updated, "unchanged": result.unchanged}
            record(session, actor, f"{kind}.import", queue, None, counts)
            return result

        try:
            return await self.store.write(fn)
        except IntegrityError as exc:  # a concurrent add of one of the new names
            raise ListError(f"queue {queue!r} changed during the import: {exc.orig}") from exc


def _checked_put(kind: str, put: Put) -> Put:
    name = check_name(kind, put.name)
    if put.status is not None and put.status not in STATUSES:
        raise ListError(f"{name!r}: status must be one of {', '.join(STATUSES)}")
    unknown = {key for key, _ in put.details} - set(DETAILS[kind])
    if unknown:
        raise ListError(f"a {kind} has no {', '.join(sorted(unknown))}")
    if put.keep_password and put.password_hash is not None:
        raise ListError(f"{name!r}: keep the password or give a new one, not both")
    return replace(put, name=name)


def _new_row(kind: str, model: Any, queue: str, put: Put) -> Any:
    if put.keep_password:
        raise ListError(f"queue {queue!r} has no {kind} {put.name!r} whose password to keep")
    return model(
        queue=queue,
        name=put.name,
        status=put.status or "enabled",
        password_hash=put.password_hash,
        created_at=now(),
        **dict(put.details),
    )


def _apply_put(kind: str, row: Any, put: Put) -> bool:
    """Whether the row changed."""
    if put.keep_password and row.password_hash is None:
        raise ListError(f"the {kind} {put.name!r} has no stored password to keep")
    values: dict[str, Any] = dict(put.details)
    if put.status is not None:
        values["status"] = put.status
    if put.password_hash is not None:
        values["password_hash"] = put.password_hash
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed
