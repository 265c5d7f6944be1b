"""The live set of printers and queues; applies saved changes.

Printers and queues (printer groups) come from the TOML (provisioned at start-up, locked) and
from the web console (kept in the store). This module owns the running objects built from
them: the `printers` dict (name -> Printer) the dispatcher, metrics and refresh loop share,
the `queues` dict (name -> QueueView) the IPP operations and the DNS-SD advertiser read, and
the release desk's and dispatcher's per-queue settings. A console save is validated against
this set, written to the store with its audit entry in one transaction, then applied to those
same dict objects at once, and announced (QueuesChanged) so DNS-SD advertises or withdraws:
no restart.

Saves take turns (one lock): each is checked against the set as the previous one left it.
Gateways sharing one PostgreSQL database see each other's console changes at their next
start only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from sqlalchemy.orm import Session

from ..config import Config, PrinterConfig, QueueConfig
from ..hooks import Hooks
from ..identity.release import ReleaseDesk
from ..jobs.manager import JobManager
from ..printers.dispatcher import Dispatcher
from ..printers.ipp_client import IppClient
from ..printers.state import Printer, backend_for, refresh
from ..store import printer_setup as saved
from ..store.audit import Actor
from ..store.printer_setup import CONFIG, CONSOLE, TOUCH_POINTS, Saved
from ..store.store import Store
from ..tasks import TaskKeeper
from . import queues_rules as rules
from .queue_attrs import QueueView
from .queues_rules import Invalid, Problem

log = logging.getLogger(__name__)
FIRST_FETCH_SECONDS = 5.0  # a save waits this long for a new printer's first answer


@dataclass(frozen=True)
class QueuesChanged:
    """Queues were added, changed, renamed or removed (an addon hook, see gateway/hooks.py)."""

    hook: ClassVar[str] = "queues_changed"
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class PrinterEntry:
    printer: Printer  # live: its state, model and last error
    origin: str  # config | console
    groups: tuple[str, ...]  # the groups it is a member of

    @property
    def locked(self) -> bool:
        return self.origin == CONFIG


@dataclass(frozen=True)
class GroupEntry:
    config: QueueConfig  # as saved (the IPP and release paths may ask for less, see at())
    touch_points: tuple[str, ...]
    origin: str
    uuid: str
    view: QueueView | None  # None until attached

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def locked(self) -> bool:
        return self.origin == CONFIG


@dataclass(frozen=True)
class Wiring:
    """What making printers and queue views takes, from the service."""

    client: IppClient
    hooks: Hooks
    tasks: TaskKeeper
    data_dir: Path
    retry_delay: float
    max_document_bytes: int

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "printers"


def at(group: QueueConfig, touch_points: Iterable[str], point: str) -> QueueConfig:
    """The group's settings as one submission path applies them. A path that needs no
    authentication prints without it and without tracking (SmartTracker's unchecked touch
    point); on the release page a claimant still says who they are."""
    if point in touch_points or group.auth == "none":
        return group
    return replace(group, auth="username" if point == "release" else "none", require=())


class LiveQueues:
    def __init__(self, store: Store, wiring: Wiring, jobs: JobManager):
        self.store = store
        self.wiring = wiring
        self.jobs = jobs
        self.printers: dict[str, Printer] = {}
        self.queues: dict[str, QueueView] = {}
        self._origins: dict[str, str] = {}  # printer name -> origin
        self._groups: dict[str, GroupEntry] = {}
        self._dispatcher: Dispatcher | None = None
        self._desk: ReleaseDesk | None = None
        self._lock = asyncio.Lock()
        # Finds printers on the network for "Add printers" (set by the service).
        self.finder: Callable[[], Awaitable[list[Found]]] | None = None

    # --- start-up -----------------------------------------------------------------------------

    def load(self, config: Config, uuids: dict[str, str], console: Saved) -> None:
        """The TOML's printers and queues, then the console's (a console entry whose name the
        TOML now uses gave way to it at provisioning)."""
        for printer in config.printers:
            self._put_printer(printer, CONFIG)
        for entry in console.printers:
            if entry.config.name not in self.printers:
                self._put_printer(entry.config, CONSOLE)
        for queue in config.queues:
            self._groups[queue.name] = GroupEntry(
                queue, TOUCH_POINTS, CONFIG, uuids[queue.name], None
            )
        for group in console.groups:
            if group.config.name in self._groups:
                continue
            members = tuple(p for p in group.config.printers if p in self.printers)
            if members != group.config.printers:
                log.warning(
                    "group %s: printers %s no longer exist",
                    group.config.name,
                    ", ".join(sorted(set(group.config.printers) - set(members))),
                )
            if not members:
                log.error("group %s has no printer left: not served", group.config.name)
                continue
            self._groups[group.config.name] = GroupEntry(
                replace(group.config, printers=members),
                group.touch_points,
                CONSOLE,
                group.uuid,
                None,
            )

    def group_configs(self) -> list[QueueConfig]:
        return [entry.config for entry in self._groups.values()]

    def attach(self, dispatcher: Dispatcher, desk: ReleaseDesk) -> None:
        """Serve every loaded group: its queue view, dispatcher loop and release settings."""
        self._dispatcher, self._desk = dispatcher, desk
        for entry in list(self._groups.values()):
            self._install(entry)

    # --- reading --------------------------------------------------------------------------

    def printer_entries(self) -> list[PrinterEntry]:
        return [self._printer_entry(name) for name in sorted(self.printers)]

    def printer(self, name: str) -> PrinterEntry | None:
        return self._printer_entry(name) if name in self.printers else None

    def group_entries(self) -> list[GroupEntry]:
        return [self._groups[name] for name in sorted(self._groups)]

    def group(self, name: str) -> GroupEntry | None:
        return self._groups.get(name)

    def for_touch_point(self, queue: str, point: str) -> QueueConfig | None:
        """The queue's settings as `point` (ipp, web, release) applies them; None: no queue."""
        entry = self._groups.get(queue)
        return None if entry is None else at(entry.config, entry.touch_points, point)

    async def discover(self) -> list[Found]:
        return [] if self.finder is None else await self.finder()

    def _printer_entry(self, name: str) -> PrinterEntry:
        groups = rules.in_use(name, {n: e.config for n, e in self._groups.items()})
        return PrinterEntry(self.printers[name], self._origins[name], tuple(groups))

    # --- printers -------------------------------------------------------------------------

    async def add_printer(
        self, actor: Actor, printer: PrinterConfig, group: str = "", new_group: str = ""
    ) -> None:
        """Add a printer, and put it last in an existing group or in a new group of its own
        (auth none), all in one transaction."""
        async with self._lock:
            problems = rules.printer_problems(printer, self.printers, self.wiring.data_dir)
            joined = self._joined(group, printer.name, problems)
            created = None
            if new_group:
                created = QueueConfig(name=new_group, printers=(printer.name,))
                problems += [
                    replace(p, field="new_group")
                    for p in rules.group_problems(
                        created, TOUCH_POINTS, self._groups, [*self.printers, printer.name]
                    )
                ]
            if problems:
                raise Invalid(problems)

            def write(session: Session) -> str:
                saved.add_printer(session, actor, printer)
                if joined is not None:
                    old = self._groups[joined.name]
                    saved.edit_group(
                        session, actor, old.config, old.touch_points, joined, old.touch_points
                    )
                if created is not None:
                    return saved.add_group(session, actor, created, TOUCH_POINTS)
                return ""

            uuid = await self.store.write(write)
            self._put_printer(printer, CONSOLE)
            if joined is not None:
                self._install(replace(self._groups[joined.name], config=joined))
            if created is not None:
                self._install(GroupEntry(created, TOUCH_POINTS, CONSOLE, uuid, None))
        await self._first_fetch(self.printers[printer.name])
        if joined is not None or created is not None:
            name = (created or joined or printer).name
            await self._announce(added=(name,))

    def _joined(self, group: str, printer: str, problems: list[Problem]) -> QueueConfig | None:
        if not group:
            return None
        entry = self._groups.get(group)
        if entry is None:
            problems.append(Problem("group", "not-found"))
            return None
        if entry.locked:
            problems.append(Problem("group", "locked"))
            return None
        return replace(entry.config, printers=(*entry.config.printers, printer))

    async def edit_printer(self, actor: Actor, name: str, printer: PrinterConfig) -> None:
        async with self._lock:
            before = self._console_printer(name)
            others = set(self.printers) - {name}
            problems = rules.printer_problems(printer, others, self.wiring.data_dir)
            if printer.name != name:
                problems += self._busy_printer(name)
            if problems:
                raise Invalid(problems)
            await self.store.write(
                lambda session: saved.edit_printer(session, actor, before, printer)
            )
            live = self.printers.pop(name)
            self.printers[printer.name] = live
            self._origins[printer.name] = self._origins.pop(name)
            live.config = printer
            if printer.name != name:
                self._forget_cache(name)
                live.cache = self.wiring.cache_dir / printer.name
            moved = printer.uri != before.uri
            if moved:
                live.backend = backend_for(printer.uri, self.wiring.client)
                live.attributes = None
                live.attributes_version += 1
                live.up, live.retry_at = False, 0.0
            for entry in list(self._groups.values()):
                if name in entry.config.printers:
                    members = tuple(printer.name if p == name else p for p in entry.config.printers)
                    self._install(replace(entry, config=replace(entry.config, printers=members)))
        if moved:
            await self._first_fetch(live)
        await self._announce()

    async def remove_printer(self, actor: Actor, name: str) -> None:
        async with self._lock:
            before = self._console_printer(name)
            users = rules.in_use(name, {n: e.config for n, e in self._groups.items()})
            problems = [Problem("name", "in-use", ", ".join(users))] if users else []
            problems += self._busy_printer(name)
            if problems:
                raise Invalid(problems)
            await self.store.write(lambda session: saved.remove_printer(session, actor, before))
            self.printers.pop(name)
            self._origins.pop(name)
            self._forget_cache(name)

    def _console_printer(self, name: str) -> PrinterConfig:
        if name not in self.printers:
            raise Invalid([Problem("name", "not-found")])
        if self._origins[name] == CONFIG:
            raise Invalid([Problem("name", "locked")])
        return self.printers[name].config

    def _busy_printer(self, name: str) -> list[Problem]:
        """A printer with a job under way keeps its name: the job's record names it."""
        busy = [j for j in self.jobs.active.values() if j.printer == name and not j.is_terminal]
        return [Problem("name", "busy", str(len(busy)))] if busy else []

    def _put_printer(self, config: PrinterConfig, origin: str) -> None:
        self.printers[config.name] = Printer(
            config,
            backend_for(config.uri, self.wiring.client),
            cache=self.wiring.cache_dir / config.name,
            hooks=self.wiring.hooks,
        )
        self._origins[config.name] = origin

    async def _first_fetch(self, printer: Printer) -> None:
        """Fetch a new or moved printer's attributes now, so the page after the save shows its
        state and model; a slow printer goes on answering in the background."""
        task = self.wiring.tasks.spawn(
            refresh(printer, self.wiring.retry_delay), name=f"fetch-{printer.name}"
        )
        await asyncio.wait({task}, timeout=FIRST_FETCH_SECONDS)

    def _forget_cache(self, name: str) -> None:
        with contextlib.suppress(OSError):
            (self.wiring.cache_dir / name).unlink()

    # --- groups ---------------------------------------------------------------------------

    async def add_group(
        self, actor: Actor, group: QueueConfig, touch_points: tuple[str, ...] = TOUCH_POINTS
    ) -> None:
        async with self._lock:
            problems = rules.group_problems(group, touch_points, self._groups, self.printers)
            if problems:
                raise Invalid(problems)
            uuid = await self.store.write(
                lambda session: saved.add_group(session, actor, group, touch_points)
            )
            self._install(GroupEntry(group, touch_points, CONSOLE, uuid, None))
        await self._announce(added=(group.name,))

    async def edit_group(
        self, actor: Actor, name: str, group: QueueConfig, touch_points: tuple[str, ...]
    ) -> None:
        """Change a group's settings or members; a new name is a new queue URI (the old one
        answers not-found) with the same printer-uuid."""
        async with self._lock:
            before = self._console_group(name)
            others = set(self._groups) - {name}
            problems = rules.group_problems(group, touch_points, others, self.printers)
            if group.name != name and self.jobs.queued_count(name):
                problems.append(Problem("name", "busy", str(self.jobs.queued_count(name))))
            if problems:
                raise Invalid(problems)
            uuid = await self.store.write(
                lambda session: saved.edit_group(
                    session, actor, before.config, before.touch_points, group, touch_points
                )
            )
            if group.name != name:
                self._uninstall(name)
            self._install(GroupEntry(group, touch_points, CONSOLE, uuid, None))
        removed = (name,) if group.name != name else ()
        await self._announce(added=(group.name,), removed=removed)

    async def delete_group(self, actor: Actor, name: str) -> int:
        """Delete the group; its unfinished jobs are canceled. How many were."""
        async with self._lock:
            before = self._console_group(name)
            await self.store.write(
                lambda session: saved.delete_group(
                    session, actor, before.config, before.touch_points
                )
            )
            self.queues.pop(name, None)  # no new job reaches it from here on
            canceled = 0
            assert self._dispatcher is not None
            for job in [j for j in self.jobs.active.values() if j.queue == name]:
                await self._dispatcher.cancel(
                    job, "job-canceled-by-system", f"The queue {name} was deleted"
                )
                canceled += 1
            self._uninstall(name)
        await self._announce(removed=(name,))
        return canceled

    def _console_group(self, name: str) -> GroupEntry:
        entry = self._groups.get(name)
        if entry is None:
            raise Invalid([Problem("name", "not-found")])
        if entry.locked:
            raise Invalid([Problem("name", "locked")])
        return entry

    def _install(self, entry: GroupEntry) -> None:
        """Serve the group as `entry` says: a new view (its printer-config-change-time is now),
        the dispatcher's members and the release desk's settings."""
        assert self._dispatcher is not None and self._desk is not None
        name = entry.name
        view = QueueView(
            at(entry.config, entry.touch_points, "ipp"),
            entry.uuid,
            [self.printers[p] for p in entry.config.printers],
            queued_jobs=functools.partial(self.jobs.queued_count, name),
            processing=functools.partial(self._dispatcher.busy, name),
            started=time.time(),
            max_document_bytes=self.wiring.max_document_bytes,
        )
        self._groups[name] = replace(entry, view=view)
        self.queues[name] = view
        self._dispatcher.set_queue(entry.config)
        self._desk.queues[name] = at(entry.config, entry.touch_points, "release")
        for queue, live in self.queues.items():  # a printer's failover setting may have changed
            self._desk.graceful[queue] = live.graceful

    def _uninstall(self, name: str) -> None:
        assert self._dispatcher is not None and self._desk is not None
        self._groups.pop(name, None)
        self.queues.pop(name, None)
        self._desk.queues.pop(name, None)
        self._desk.graceful.pop(name, None)
        self._dispatcher.remove_queue(name)

    async def _announce(self, added: tuple[str, ...] = (), removed: tuple[str, ...] = ()) -> None:
        await self.wiring.hooks.emit(QueuesChanged(added, removed))


@dataclass(frozen=True)
class Found:
    """A printer found on the network, as "Add printers" lists it."""

    name: str
    uri: str
    source: str  # dns-sd | snmp
    model: str = ""
    snmp_community: str = ""
    added_as: str = ""  # the name of the printer printgate already has at this address
