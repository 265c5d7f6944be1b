"""Sign-in throttling: after a few failures, each further attempt for the same account or
from the same address waits twice as long as the one before, up to a ceiling. Kept in memory:
a restart forgives, which costs an attacker a restart they cannot cause."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
FREE_ATTEMPTS = {"account": 3, "address": 10}
FIRST_DELAY = 1.0  # seconds
MAX_DELAY = 15 * 60.0
FORGET_AFTER = 24 * 3600.0


@dataclass
class _Record:
    failures: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


@dataclass
class Throttle:
    clock: Callable[[], float] = time.monotonic
    _records: dict[tuple[str, str], _Record] = field(default_factory=dict)

    def _now(self) -> float:
        return self.clock()

    def wait(self, account: str, address: str) -> float:
        """Seconds before another attempt for this account from this address is heard; 0:
        now. A refused attempt is logged."""
        now = self._now()
        waits = [
            record.blocked_until - now
            for key in (("account", account.lower()), ("address", address))
            if (record := self._records.get(key)) is not None
        ]
        wait = max([0.0, *waits])
        if wait > 0:
            log.warning(
                "sign-in throttled: account %r from %s, %.0f s to wait", account, address, wait
            )
        return wait

    def failed(self, account: str, address: str) -> None:
        now = self._now()
        self._forget_old(now)
        for kind, value in (("account", account.lower()), ("address", address)):
            record = self._records.setdefault((kind, value), _Record())
            record.failures += 1
            record.last = now
            beyond = record.failures - FREE_ATTEMPTS[kind]
            if beyond >= 0:
                record.blocked_until = now + min(FIRST_DELAY * 2**beyond, MAX_DELAY)
        log.info("sign-in failed: account %r from %s", account, address)

    def succeeded(self, account: str) -> None:
        self._records.pop(("account", account.lower()), None)

    def _forget_old(self, now: float) -> None:
        if len(self._records) < 10_000:
            return
        for key in [k for k, r in self._records.items() if now - r.last > FORGET_AFTER]:
            del self._records[key]
