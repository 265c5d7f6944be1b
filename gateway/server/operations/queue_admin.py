"""What operators set on queues over IPP (paused, accepting jobs, new jobs held, a message),
one shared state per queue name, kept in a small file in the data directory so that a restart
finds each queue as it was left.

The state belongs to the queue's name, not to one QueueView: the console replaces a queue's
view when it is saved, and the new view is bound to the same state before it answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import asdict, fields
from pathlib import Path

from ..queue_attrs import AdminState, QueueView

log = logging.getLogger(__name__)
QUEUE_ADMIN_FILE = "queue-admin.json"


class QueueAdmin:
    def __init__(self, path: Path | None):
        self.path = path
        self._states: dict[str, AdminState] = {}
        self._lock = asyncio.Lock()
        if path is not None:
            self._states = _read(path)

    def of(self, queue: str) -> AdminState:
        state = self._states.get(queue)
        if state is None:
            state = self._states[queue] = AdminState()
        return state

    def bind(self, view: QueueView) -> None:
        """Make the view show (and the dispatcher obey) its queue's state."""
        state = self.of(view.name)
        if view.admin is not state:
            view.admin = state

    def paused(self, queue: str) -> bool:
        """Asked by the dispatcher before it starts a job of the queue."""
        state = self._states.get(queue)
        return state is not None and state.paused

    async def changed(self, queue: str) -> None:
        """Record a change to the queue's state (its time, and the file)."""
        self.of(queue).changed_at = time.time()
        await self.save()

    async def save(self) -> None:
        if self.path is None:
            return
        async with self._lock:
            content = json.dumps(
                {name: asdict(state) for name, state in self._states.items()}, indent=1
            )
            await asyncio.to_thread(write_atomically, self.path, content)


def _read(path: Path) -> dict[str, AdminState]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        # A damaged file must not keep printgate from starting: the queues start as configured.
        log.error("%s is unreadable (%s): queues start unpaused and accepting jobs", path, exc)
        return {}
    known = {f.name for f in fields(AdminState)}
    states: dict[str, AdminState] = {}
    for name, values in raw.items() if isinstance(raw, dict) else ():
        if isinstance(values, dict):
            try:
                states[name] = AdminState(**{k: v for k, v in values.items() if k in known})
            except TypeError:
                log.error("%s: the state of queue %s is unreadable", path, name)
    return states


def write_atomically(path: Path, content: str) -> None:
    """Write the whole file anew and swap it in, so a crash leaves the old or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    with part.open("w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, path)
