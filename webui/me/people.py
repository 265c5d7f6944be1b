"""Sessions of people who print, apart from the console's: a random token in a cookie of its
own, the session kept in this process. The console's guard never reads this cookie and My
printing never reads the console's, so neither kind of session opens the other's pages.

A session names the person and the queues whose own check their credentials passed at
sign-in (a list user of one queue proves nothing on another's list), and ends after
`[web] session_idle_minutes` without a request, `session_lifetime_hours` after sign-in, at
sign-out, or when printgate restarts."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from aiohttp import web

PERSON_COOKIE = "printgate_print"


@dataclass(frozen=True)
class Person:
    name: str
    queues: frozenset[str]  # where the sign-in's credentials passed the queue's own check
    started: float
    seen: float


@dataclass
class PrintSessions:
    idle: float  # seconds
    lifetime: float
    clock: Callable[[], float] = time.monotonic
    _sessions: dict[str, Person] = field(default_factory=dict)

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def open(self, name: str, queues: frozenset[str]) -> str:
        """A new session; the token for its cookie."""
        self._forget_ended()
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self._sessions[self._key(token)] = Person(name, queues, now, now)
        return token

    def person(self, token: str) -> Person | None:
        """Who this cookie's session is, or None (unknown, idle too long, too old)."""
        key = self._key(token)
        found = self._sessions.get(key)
        now = self.clock()
        if found is None or self._ended(found, now):
            self._sessions.pop(key, None)
            return None
        self._sessions[key] = replace(found, seen=now)
        return found

    def end(self, token: str) -> None:
        self._sessions.pop(self._key(token), None)

    def _ended(self, person: Person, now: float) -> bool:
        return now - person.seen > self.idle or now - person.started > self.lifetime

    def _forget_ended(self) -> None:
        now = self.clock()
        for key in [k for k, p in self._sessions.items() if self._ended(p, now)]:
            del self._sessions[key]


SESSIONS_KEY = web.AppKey("print-sessions", PrintSessions)


def signed_person(request: web.Request) -> Person | None:
    token = request.cookies.get(PERSON_COOKIE, "")
    return request.config_dict[SESSIONS_KEY].person(token) if token else None


def set_person_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        PERSON_COOKIE, token, httponly=True, samesite="Lax", secure=request.secure, path="/"
    )
