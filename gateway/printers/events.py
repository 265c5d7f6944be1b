"""What addons hear of printers (see gateway/hooks.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class PrinterChanged:
    """A printer came up, went down, or answered with other capabilities than before."""

    hook: ClassVar[str] = "printer_changed"
    printer: str
    up: bool
    attributes_version: int
