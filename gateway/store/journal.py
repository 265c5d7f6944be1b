"""The append-only journal that keeps job records while the accounting store is unreachable
(graceful failover): every job write goes to disk, fsynced, in order, and is written into the
store in one transaction when it is back. Nothing is lost and, because jobs carry their ids in
the journal, nothing is recorded twice."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

# Ids of jobs taken in while the store is down: far above any the database will hand out,
# and apart per printgate instance so gateways sharing a database do not collide.
LOCAL_ID_BASE = 1_000_000_000
LOCAL_ID_SPAN = 1_000_000


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "datetime" in value:
        return datetime.fromisoformat(value["datetime"])
    if isinstance(value, dict) and "bytes" in value:
        return base64.b64decode(value["bytes"])
    if isinstance(value, dict) and "decimal" in value:
        return Decimal(value["decimal"])
    return value


class Journal:
    def __init__(self, path: Path, instance: str):
        self.path = path
        self.lock = asyncio.Lock()  # appends and replays happen in order, one at a time
        block = int(instance, 16) % 1000 if instance else 0
        self._first_id = LOCAL_ID_BASE + block * LOCAL_ID_SPAN
        self._next_id: int = max([self._first_id, *(e.get("id", 0) + 1 for e in self.entries())])
        self.active = self.path.exists() and self.path.stat().st_size > 0

    def new_id(self) -> int:
        job_id, self._next_id = self._next_id, self._next_id + 1
        return job_id

    async def append(self, op: str, job_id: int, fields: dict[str, Any]) -> None:
        self.active = True
        line = json.dumps(
            {"op": op, "id": job_id, "fields": {k: _encode(v) for k, v in fields.items()}}
        )
        await asyncio.to_thread(self._write, line + "\n")

    def _write(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def entries(self) -> list[dict[str, Any]]:
        """The journal in order; a torn last line (a crash mid-append) is left out."""
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            entry["fields"] = {k: _decode(v) for k, v in entry["fields"].items()}
            entries.append(entry)
        return entries

    def clear(self) -> None:
        """After a replay committed: start empty (the old file kept aside for inspection)."""
        if self.path.exists():
            os.replace(self.path, self.path.with_suffix(".replayed"))
        self.active = False
