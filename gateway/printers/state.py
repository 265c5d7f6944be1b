"""The printers behind the queues as printgate knows them right now: their last known
attributes (cached for the next start-up), whether they are up, and when to try them again."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import PrinterConfig
from ..hooks import Hooks
from ..ipp import Group, IppDecodeError, Message, Tag, decode, encode
from .backend import PrinterBackend, PrinterRefused
from .events import PrinterChanged
from .ipp import IppPrinter
from .ipp_client import IppClient, PrinterUnreachable
from .virtual import FilePrinter

log = logging.getLogger(__name__)


def backend_for(uri: str, client: IppClient) -> PrinterBackend:
    """How to reach the printer at `uri`: file:// is the built-in virtual printer."""
    if uri.startswith("file:"):
        return FilePrinter(uri)
    return IppPrinter(uri, client)


@dataclass
class Printer:
    """What printgate knows of one printer right now."""

    config: PrinterConfig
    backend: PrinterBackend
    attributes: Group | None = None
    up: bool = False
    last_error: str = ""
    retry_at: float = 0.0  # monotonic time before which the printer is not tried again
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    attributes_version: int = 0
    cache: Path | None = None  # where the last answer is kept for the next start-up
    hooks: Hooks = field(default_factory=Hooks)  # told when it comes up, goes down or changes

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def model(self) -> str:
        """printer-make-and-model as the printer reports it: what cost tables are kept by."""
        if self.attributes is None:
            return ""
        attribute = self.attributes.get("printer-make-and-model")
        return (attribute.text() or "") if attribute else ""

    def mark_up(self) -> None:
        self.up = True
        self.last_error = ""
        self.retry_at = 0.0

    def mark_down(self, error: str, retry_in: float) -> None:
        if self.up or error != self.last_error:
            log.warning("printer %s unavailable: %s", self.name, error)
        self.up = False
        self.last_error = error
        self.retry_at = time.monotonic() + retry_in

    def available(self) -> bool:
        return self.up or time.monotonic() >= self.retry_at

    def supports_format(self, document_format: str) -> bool:
        if self.attributes is None:
            return True  # not known yet: let the printer itself decide
        formats = self.attributes.get("document-format-supported")
        return formats is None or document_format in formats.strings()


async def refresh(printer: Printer, retry_in: float) -> bool:
    """Fetch the printer's attributes; True when it answered."""
    was = (printer.up, printer.attributes_version)
    try:
        attributes = await printer.backend.fetch_attributes()
    except (PrinterUnreachable, PrinterRefused) as exc:
        printer.mark_down(str(exc), retry_in)
    else:
        if printer.attributes != attributes:
            printer.attributes = attributes
            printer.attributes_version += 1
            if printer.cache is not None:
                await asyncio.to_thread(_save, printer.cache, attributes)
        if not printer.up:
            log.info("printer %s is up", printer.name)
        printer.mark_up()
    if (printer.up, printer.attributes_version) != was:
        await printer.hooks.emit(
            PrinterChanged(printer.name, printer.up, printer.attributes_version)
        )
    return printer.up


def load_cached(printer: Printer) -> None:
    """Start from the capabilities the printer had last time, so a queue whose printer is down
    at start-up still advertises (and accepts) what that printer takes."""
    if printer.cache is None or not printer.cache.exists():
        return
    try:
        message, _ = decode(printer.cache.read_bytes())
    except (OSError, IppDecodeError) as exc:
        log.warning("ignoring cached attributes of %s: %s", printer.name, exc)
        return
    printer.attributes = message.group(Tag.PRINTER)
    printer.attributes_version += 1


def _save(path: Path, attributes: Group) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(encode(Message((2, 0), 0, 1, (attributes,))))
    partial.replace(path)
