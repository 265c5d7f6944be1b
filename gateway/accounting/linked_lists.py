"""Queue lists kept in step with a CSV file on this machine (SmartTracker's "Link this path").

An administrator links a queue's users, projects or departments to a file inside one of the
directories [lists] linked_dirs allows. Every [lists] linked_interval the file is read again,
as `printgate KIND import` reads it (accounting/lists_csv.py) and stored all-or-nothing
through Lists.put_many: its rows are added or updated, the enabled entries it no longer has
are disabled. A file that cannot be read or holds a bad row changes nothing; the first such
read mails the administrators, the following ones do not until a read succeeds again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..config import ListsConfig
from ..runtime.mail import Mail, Mailer, MailError
from ..runtime.passwords import hash_password, verify_password
from ..store.audit import Actor, record
from ..store.models import LinkedListRow
from ..store.store import Store, StoreUnavailable, now
from .lists import STATUSES, Entry, Kind, ListError, Lists, Put
from .lists_csv import InvalidCsv, Problem, Record, parse

log = logging.getLogger(__name__)
MAX_BYTES = 20 << 20  # a list file larger than this is refused rather than read
READER = Actor("linked-file", "schedule")  # who the audit log says made a read's changes


class LinkError(ValueError):
    """A path that cannot be linked; the message is for a person."""


@dataclass(frozen=True)
class Link:
    queue: str
    kind: Kind
    path: str
    linked_at: datetime
    read_at: datetime | None
    problems: tuple[Problem, ...]  # what the last read refused (none: it was applied)
    failing: bool


def _link(row: LinkedListRow) -> Link:
    problems = tuple((int(line), str(text)) for line, text in json.loads(row.problems or "[]"))
    return Link(
        row.queue, cast(Kind, row.kind), row.path, row.linked_at, row.read_at, problems, row.failing
    )


def allowed_path(text: str, directories: Sequence[str]) -> Path:
    """The file, resolved (links followed), when it lies inside an allowed directory."""
    if not directories:
        raise LinkError("no directory allows linked files: set [lists] linked_dirs")
    path = Path(text.strip())
    if not path.is_absolute():
        raise LinkError("give the file's absolute path")
    resolved = path.resolve()
    for directory in directories:
        if resolved.is_relative_to(Path(directory).resolve()):
            return resolved
    raise LinkError(f"{text.strip()} is outside the directories allowed: {', '.join(directories)}")


class LinkedLists:
    def __init__(
        self,
        store: Store,
        settings: ListsConfig,
        mailer: Callable[[], Awaitable[Mailer]] | None = None,  # the mail settings in force
    ):
        self.store = store
        self.settings = settings
        self.mailer = mailer
        self.lists = Lists(store)

    async def get(self, kind: Kind, queue: str) -> Link | None:
        async def fn(session: AsyncSession) -> Link | None:
            row = await session.get(LinkedListRow, (queue, kind))
            return _link(row) if row is not None else None

        return await self.store.read(fn)

    async def all(self) -> list[Link]:
        async def fn(session: AsyncSession) -> list[Link]:
            return [_link(row) for row in await session.scalars(select(LinkedListRow))]

        return await self.store.read(fn)

    async def link(self, kind: Kind, queue: str, path: str, *, actor: Actor) -> Link:
        """Link the list to the file and read it at once; LinkError when the path is not
        allowed. A bad file is linked all the same: the grid shows what it refused."""
        resolved = str(allowed_path(path, self.settings.linked_dirs))

        def fn(session: Session) -> None:
            row = session.get(LinkedListRow, (queue, kind))
            before = {"path": row.path} if row is not None else None
            if row is None:
                row = LinkedListRow(queue=queue, kind=kind)
                session.add(row)
            row.path, row.linked_at, row.read_at = resolved, now(), None
            row.digest, row.problems, row.failing = "", "", False
            record(session, actor, f"{kind}.link", f"{queue}", before, {"path": resolved})

        await self.store.write(fn)
        return await self.refresh(kind, queue)

    async def unlink(self, kind: Kind, queue: str, *, actor: Actor) -> None:
        def fn(session: Session) -> None:
            row = session.get(LinkedListRow, (queue, kind))
            if row is None:
                raise LinkError(f"the {kind}s of {queue} are not linked to a file")
            record(session, actor, f"{kind}.unlink", queue, {"path": row.path}, None)
            session.delete(row)

        await self.store.write(fn)

    async def refresh_all(self) -> None:
        """The scheduled read: every linked file, one after the other."""
        for link in await self.all():
            try:
                await self.refresh(link.kind, link.queue)
            except StoreUnavailable as exc:
                log.warning("linked %ss of %s not read: %s", link.kind, link.queue, exc)

    async def refresh(self, kind: Kind, queue: str) -> Link:
        link = await self.get(kind, queue)
        if link is None:
            raise LinkError(f"the {kind}s of {queue} are not linked to a file")
        try:
            data = await asyncio.to_thread(_read, link.path)
        except OSError as exc:
            return await self._refused(link, [(0, f"cannot read {link.path}: {exc.strerror}")])
        digest = hashlib.sha256(data).hexdigest()
        if digest == await self._digest(kind, queue) and not link.failing:
            return await self._read(link, digest, [])  # unchanged since it was applied
        stored = {e.name: e for e in await self.lists.entries(kind, queue, STATUSES)}
        try:
            records = parse(data, kind, stored, legacy=True)
        except InvalidCsv as exc:
            return await self._refused(link, exc.problems)
        puts = await asyncio.to_thread(_puts, records, stored)
        try:
            await self.lists.put_many(kind, queue, puts, actor=READER)
        except ListError as exc:
            return await self._refused(link, [(0, str(exc))])
        return await self._read(link, digest, [])

    async def _digest(self, kind: str, queue: str) -> str:
        async def fn(session: AsyncSession) -> str:
            row = await session.get(LinkedListRow, (queue, kind))
            return row.digest if row is not None else ""

        return await self.store.read(fn)

    async def _read(self, link: Link, digest: str, problems: list[Problem]) -> Link:
        """Note the read; whether this read starts a failing episode (the one to mail)."""

        def fn(session: Session) -> tuple[Link, bool]:
            row = session.get(LinkedListRow, (link.queue, link.kind))
            if row is None:  # unlinked meanwhile
                return link, False
            starts = bool(problems) and not row.failing
            row.read_at = now()
            row.problems = json.dumps(problems)
            row.failing = bool(problems)
            if not problems:
                row.digest = digest
            return _link(row), starts

        done, starts = await self.store.write(fn)
        if starts:
            await self._alert(done)
        return done

    async def _refused(self, link: Link, problems: Sequence[Problem]) -> Link:
        return await self._read(link, "", list(problems))

    async def _alert(self, link: Link) -> None:
        log.warning("linked file %s refused: %s", link.path, link.problems[:1])
        mailer = await self.mailer() if self.mailer is not None else None
        if mailer is None or not mailer.configured:
            return
        lines = "".join(f"    line {line}: {text}\n" for line, text in link.problems[:50])
        body = (
            f"printgate could not apply the file linked to the {link.kind}s of queue "
            f"{link.queue}:\n    {link.path}\n\n{lines}\n"
            "Nothing was changed. The file is read again on schedule; this is the only mail "
            "until a read succeeds.\n"
        )
        subject = f"printgate: the linked {link.kind} file of {link.queue} is refused"
        try:
            to = mailer.recipients(await self.store.admin_emails())
            await mailer.send(Mail(to, subject, body))
        except (MailError, StoreUnavailable, OSError) as exc:
            log.warning("linked file alert not sent: %s", exc)


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise OSError(0, f"larger than {MAX_BYTES >> 20} MB")
    return data


def _puts(records: Sequence[Record], stored: dict[str, Entry]) -> list[Put]:
    """The file as the list must become: its rows enabled unless they say otherwise, a password
    hashed only when it differs from the stored one, and every enabled entry it lacks
    disabled."""
    puts: list[Put] = []
    for found in records:
        entry = stored.get(found.name)
        password_hash: str | None = None
        if found.password is not None and not _same_password(entry, found.password):
            password_hash = hash_password(found.password)
        puts.append(
            Put(
                name=found.name,
                status=found.status or "enabled",
                password_hash=password_hash,
                keep_password=found.keep_password,
                details=found.details,
            )
        )
    named = {found.name for found in records}
    puts += [
        Put(name=name, status="disabled")
        for name, entry in stored.items()
        if entry.status == "enabled" and name not in named
    ]
    return puts


def _same_password(entry: Entry | None, password: str) -> bool:
    stored = entry.password_hash if entry is not None else None
    return stored is not None and verify_password(stored, password)
