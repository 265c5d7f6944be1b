"""Typed hooks: features subscribe to what happens to jobs and printers instead of being called
by hand (mitmproxy's addons and aiosmtpd's handler hooks are the models).

An addon is any object; for each event it has a method named after the event's `hook` (sync or
async), it is called with the event. Any number of addons join; an addon that fails is logged and
never stops the job or the other addons."""

from __future__ import annotations

import inspect
import logging
from typing import ClassVar, Protocol

log = logging.getLogger(__name__)


class Hook(Protocol):
    hook: ClassVar[str]  # the addon method that receives it


class Hooks:
    def __init__(self, *addons: object) -> None:
        self._addons: list[object] = list(addons)

    def add(self, addon: object) -> None:
        self._addons.append(addon)

    async def emit(self, event: Hook) -> None:
        for addon in list(self._addons):
            handler = getattr(addon, event.hook, None)
            if handler is None:
                continue
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("%s failed on %s", type(addon).__name__, event.hook)
