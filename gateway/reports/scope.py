"""What a report looks at (all printers, one group, one printer) and what its reader may see.

A scope limits a bookkeeper to some printer groups (queues), projects or departments; None in a
field means no limit there. Every query takes both and applies them; an empty frozenset in a
field lets nothing through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TargetKind = Literal["all", "group", "printer"]


@dataclass(frozen=True)
class Target:
    kind: TargetKind = "all"
    name: str = ""  # the queue (printer group) or the printer; "" for all

    @property
    def label(self) -> str:
        return "All printers" if self.kind == "all" else f"{self.kind.capitalize()} {self.name}"


ALL_PRINTERS = Target()


@dataclass(frozen=True)
class Scope:
    queues: frozenset[str] | None = None
    projects: frozenset[str] | None = None
    departments: frozenset[str] | None = None

    @property
    def by_names(self) -> bool:
        """Does this scope need figures per project or department (not only per queue)?"""
        return self.projects is not None or self.departments is not None


EVERYTHING = Scope()
