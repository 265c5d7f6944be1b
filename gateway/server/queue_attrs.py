"""The attributes a queue advertises: its primary printer's own capabilities, as fetched with
Get-Printer-Attributes, with the queue's identity, state and accounting attributes on top.

Get-Printer-Attributes is the hottest request a print server answers (every client polls it), so
the static part of the answer is encoded once per (requested-attributes, document-format) and
only the few attributes that change by the second or by the client are encoded per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..config import QueueConfig
from ..ipp import Attribute, Group, PrinterState, Range, Tag
from ..ipp import model as m
from ..ipp.codec import encode_attribute, encode_attributes
from ..printers.state import Printer
from .member_markers import member_supply_attributes
from .queue_tables import (
    ADDED_ATTRIBUTES,
    ADDED_OPERATIONS,
    COMPRESSIONS,
    EXPLICIT_ONLY,
    FORMAT_SPECIFIC,
    HOLD_UNTIL,
    JOB_SETTABLE,
    JOB_TEMPLATE,
    OPERATIONS,
    PASSED_FORMATS,
    REPLACED,
    REQUIRED_FORMATS,
    WHICH_JOBS,
)

__all__ = ["COMPRESSIONS", "HOLD_UNTIL", "WHICH_JOBS", "Origin", "QueueView", "is_job_template"]

CACHE_LIMIT = 256
# Printer attributes an operator sets (Set-Printer-Attributes): always the queue's own, in the
# per-request part of the answer.
OPERATOR_SET = ("printer-message-from-operator",)
MOPRIA_VERSION = "1.3"


def is_job_template(name: str) -> bool:
    for suffix in ("-default", "-supported", "-ready", "-database"):
        if name.endswith(suffix):
            return name.removesuffix(suffix) in JOB_TEMPLATE
    return False


@dataclass
class AdminState:
    """What an operator set on a queue over IPP (operations/queue_admin.py keeps and stores
    it): paused (no job starts), not accepting jobs, new jobs held, a message to its users."""

    paused: bool = False
    accepting: bool = True
    hold_new_jobs: bool = False
    message: str = ""  # printer-message-from-operator
    changed_at: float = 0.0  # printer-state-change-time of the last change, 0: never
    held_jobs: list[int] = field(default_factory=list)  # held by Hold-New-Jobs

    def key(self) -> tuple[object, ...]:
        return (self.paused, self.accepting, self.hold_new_jobs, self.message, self.changed_at)


@dataclass(frozen=True)
class Origin:
    """How the client reached us: the URIs we advertise must be ones it can use."""

    host: str  # host[:port] from the Host header
    secure: bool

    @property
    def ipp_scheme(self) -> str:
        return "ipps" if self.secure else "ipp"

    @property
    def http_scheme(self) -> str:
        return "https" if self.secure else "http"


class QueueView:
    """One queue as a printer: its attributes and its state."""

    def __init__(
        self,
        queue: QueueConfig,
        uuid: str,
        printers: list[Printer],
        queued_jobs: Callable[[], int],
        processing: Callable[[], bool],
        started: float,
        max_document_bytes: int,
    ):
        self.queue = queue
        self.uuid = uuid
        self.printers = printers
        self._queued_jobs = queued_jobs
        self._processing = processing
        self.started = started
        self.max_document_bytes = max_document_bytes
        self._cache: dict[tuple[frozenset[str] | None, str | None], tuple[int, bytes]] = {}
        self._static: Group | None = None
        self._static_version = -1
        self._formats: list[str] = []
        self._dynamic_key: tuple[object, ...] = ()
        self._dynamic = b""
        # Replaced by the shared state of the queue's name (operations/queue_admin.py).
        self.admin = AdminState()

    @property
    def name(self) -> str:
        return self.queue.name

    @property
    def primary(self) -> Printer:
        return self.printers[0]

    @property
    def graceful(self) -> bool:
        """With the store or directory down, print as Unknown (else hold): the primary's call."""
        return self.primary.config.graceful_failover

    def upstream(self) -> Group:
        """The attributes of the first member that has answered, else an empty group."""
        for printer in self.printers:
            if printer.attributes is not None:
                return printer.attributes
        return Group(Tag.PRINTER)

    def _version(self) -> int:
        return sum(p.attributes_version * 7919**i for i, p in enumerate(self.printers))

    # --- capabilities ---------------------------------------------------------------------

    def document_formats(self) -> list[str]:
        self.static_group()
        return self._formats

    def _document_formats(self) -> list[str]:
        upstream = self.upstream().get("document-format-supported")
        # A printer never reached yet: take what printgate passes on, the printer decides later.
        theirs = upstream.strings() if upstream else [*REQUIRED_FORMATS, *PASSED_FORMATS]
        formats = [f for f in (*REQUIRED_FORMATS, *PASSED_FORMATS) if f in theirs]
        for required in REQUIRED_FORMATS:
            if required not in formats:
                formats.append(required)
        return [*formats, "application/octet-stream"]

    def static_group(self) -> Group:
        version = self._version()
        if self._static is None or version != self._static_version:
            self._formats = self._document_formats()
            self._static = m.group(Tag.PRINTER, self._build_static())
            self._static_version = version
            self._cache.clear()
        return self._static

    def _build_static(self) -> list[Attribute]:
        upstream = self.upstream()
        # Supplies come from every member, not only the one whose capabilities are shown.
        ours = self._own_attributes(upstream) + member_supply_attributes(self.printers)
        names = {a.name for a in ours} | set(OPERATOR_SET)
        theirs = [a for a in upstream if a.name not in REPLACED and a.name not in names]
        return _unique(theirs) + ours + _fallbacks(upstream)

    def _own_attributes(self, upstream: Group) -> list[Attribute]:
        """The queue's identity, protocol support and accounting attributes."""
        creation = upstream.get("job-creation-attributes-supported")
        creation_names = [
            n for n in (creation.strings() if creation else []) if n not in ("job-hold-until",)
        ]
        for ours in ("job-hold-until", "job-account-id", "job-accounting-user-id", "job-password"):
            if ours not in creation_names:
                creation_names.append(ours)
        q = self.queue
        return [
            m.charset("charset-configured", "utf-8"),
            m.charset("charset-supported", "us-ascii", "utf-8"),
            m.language("natural-language-configured", "en"),
            m.language("generated-natural-language-supported", "en"),
            m.keyword("compression-supported", *COMPRESSIONS),
            m.mime("document-format-default", "application/octet-stream"),
            m.mime("document-format-supported", *self._formats),
            m.keyword("identify-actions-default", "display"),
            m.keyword("identify-actions-supported", "display", "sound"),
            m.keyword("ipp-features-supported", "ipp-everywhere", "job-accounting"),
            m.keyword("ipp-versions-supported", "1.0", "1.1", "2.0", "2.1", "2.2"),
            m.enum("operations-supported", *OPERATIONS, *ADDED_OPERATIONS),
            m.keyword("pdl-override-supported", "attempted"),
            # Documents of a job are joined into one (operations/documents.py).
            m.boolean("multiple-document-jobs-supported", True),
            m.integer("multiple-operation-time-out", 60),
            m.keyword("multiple-operation-time-out-action", "abort-job"),
            m.boolean("job-ids-supported", True),
            m.keyword("which-jobs-supported", *WHICH_JOBS),
            m.keyword("job-hold-until-supported", *HOLD_UNTIL),
            m.keyword("job-hold-until-default", "no-hold"),
            m.boolean("job-account-id-supported", True),
            m.attr("job-account-id-default", Tag.NO_VALUE, None),
            m.boolean("job-accounting-user-id-supported", True),
            m.attr("job-accounting-user-id-default", Tag.NO_VALUE, None),
            m.integer("job-password-supported", 255),
            m.keyword("job-password-encryption-supported", "none"),
            *self._accounting_attributes(),
            m.keyword("job-creation-attributes-supported", *creation_names),
            m.keyword("job-settable-attributes-supported", *JOB_SETTABLE),
            m.keyword("printer-get-attributes-supported", "document-format"),
            m.range_(
                "job-k-octets-supported", Range(0, min(self.max_document_bytes >> 10, 2**31 - 1))
            ),
            m.name_("printer-name", q.name),
            m.text("printer-info", q.info or q.name),
            m.text("printer-location", q.location),
            m.text("printer-organization", ""),
            m.text("printer-organizational-unit", ""),
            m.uri("printer-uuid", self.uuid),
            m.name_("printer-dns-sd-name", q.info or q.name),
            m.attr("printer-geo-location", Tag.UNKNOWN, None),
            m.integer("printer-config-change-time", int(self.started)),
            m.date_time(
                "printer-config-change-date-time", datetime.fromtimestamp(self.started, UTC)
            ),
            m.keyword("printer-kind", "document"),
            m.keyword("overrides-supported", "document-numbers", "pages"),
            *ADDED_ATTRIBUTES,
        ]

    def _accounting_attributes(self) -> list[Attribute]:
        """What a client must send: CUPS builds its queue (and asks its user) from these."""
        needs_password = self.queue.auth in ("password", "list-password", "directory")
        attributes = [
            m.keyword(
                "auth-info-required", *(("username", "password") if needs_password else ("none",))
            )
        ]
        # printer-mandatory-job-attributes would say which accounting attributes are required,
        # but CUPS 2.4 writes it into the queue's PPD with unbalanced quotes and the queue then
        # loses its job-account-id option altogether (fixed only in CUPS 2.5): not advertised.
        return attributes

    # --- state ----------------------------------------------------------------------------

    def state(self) -> tuple[PrinterState, list[str], str]:
        """The members' state, under what an operator set on the queue."""
        state, reasons, message = self._members_state()
        admin = self.admin
        held = ["hold-new-jobs"] if admin.hold_new_jobs else []
        if admin.paused:
            # Pausing lets the job under way finish (the printer has it): until then the queue
            # is still processing, moving to paused.
            if state == PrinterState.PROCESSING:
                return state, ["moving-to-paused", *held], message
            return PrinterState.STOPPED, ["paused", *held], message or "Paused by an operator"
        if held:
            return state, [r for r in reasons if r != "none"] + held, message
        return state, reasons, message

    def _members_state(self) -> tuple[PrinterState, list[str], str]:
        up = [p for p in self.printers if p.up]
        if not up:
            errors = "; ".join(
                f"{p.name}: {p.last_error or 'not reached yet'}" for p in self.printers
            )
            return PrinterState.STOPPED, ["offline-report"], f"No printer reachable ({errors})"
        reasons: list[str] = []
        primary = up[0].attributes
        theirs = primary.get("printer-state-reasons") if primary else None
        if theirs:
            reasons = [r for r in theirs.strings() if r not in ("none", "paused")]
        down = [p.name for p in self.printers if not p.up]
        message = f"Unreachable: {', '.join(down)}" if down else ""
        if self._processing():
            return PrinterState.PROCESSING, reasons or ["none"], message
        return PrinterState.IDLE, reasons or ["none"], message

    def dynamic(
        self, origin: Origin, auth: str, state: tuple[PrinterState, list[str], str] | None = None
    ) -> list[Attribute]:
        state_, reasons, message = state or self.state()
        now = time.time()
        changed = max(self.started, self.admin.changed_at)
        base = f"{origin.http_scheme}://{origin.host}"
        return [
            m.date_time("printer-current-time", datetime.fromtimestamp(now, UTC)),
            m.integer("printer-up-time", int(now)),
            m.enum("printer-state", state_),
            m.keyword("printer-state-reasons", *reasons),
            m.text("printer-state-message", message),
            m.integer("printer-state-change-time", int(changed)),
            m.date_time("printer-state-change-date-time", datetime.fromtimestamp(changed, UTC)),
            m.boolean("printer-is-accepting-jobs", self.admin.accepting),
            m.text("printer-message-from-operator", self.admin.message or self._upstream_message()),
            m.integer("queued-job-count", self._queued_jobs()),
            m.uri(
                "printer-uri-supported",
                f"{origin.ipp_scheme}://{origin.host}/ipp/print/{self.name}",
            ),
            m.keyword("uri-security-supported", "tls" if origin.secure else "none"),
            m.keyword("uri-authentication-supported", auth),
            m.uri("printer-more-info", f"{base}/queues/{self.name}"),
            m.uri("printer-icons", f"{base}/icons/printer-48.png", f"{base}/icons/printer-128.png"),
            m.uri("printer-supply-info-uri", f"{base}/queues/{self.name}"),
            *self._alerts(reasons),
        ]

    def _upstream_message(self) -> str:
        said = self.upstream().get("printer-message-from-operator")
        return (said.text() or "") if said else ""

    def _alerts(self, reasons: list[str]) -> list[Attribute]:
        """printer-alert (PWG 5100.9) with its descriptions: the members' own, else one per
        state reason of the queue, else a single "other" with an empty description."""
        alerts: list[bytes] = []
        descriptions: list[str] = []
        for printer in self.printers:
            theirs = printer.attributes.get("printer-alert") if printer.attributes else None
            if theirs is None or not printer.up:
                continue
            said = (
                printer.attributes.get("printer-alert-description") if printer.attributes else None
            )
            texts = said.strings() if said else []
            for index, value in enumerate(theirs.values):
                if isinstance(value.value, bytes):
                    alerts.append(value.value)
                    text = texts[index] if index < len(texts) else ""
                    descriptions.append(f"{printer.name}: {text}" if text else printer.name)
        if not alerts:
            for reason in reasons:
                if reason != "none":
                    severity = "critical" if reason.endswith("-error") else "warning"
                    alerts.append(f"code=other;severity={severity}".encode())
                    descriptions.append(reason)
        if not alerts:
            alerts, descriptions = [b"code=other"], [""]
        return [
            m.attr("printer-alert", Tag.OCTET_STRING, *alerts),
            m.text("printer-alert-description", *descriptions),
        ]

    # --- Get-Printer-Attributes -----------------------------------------------------------

    def encoded(
        self,
        requested: Iterable[str] | None,
        document_format: str | None,
        origin: Origin,
        auth: str,
    ) -> bytes:
        """The printer group's attributes (without the group tag), encoded."""
        names = frozenset(requested) if requested is not None else None
        static = self.static_group()
        key = (names, document_format)
        cached = self._cache.get(key)
        if cached is None or cached[0] != self._static_version:
            chosen = [
                a for a in static if _wanted(a.name, names) and _for_format(a.name, document_format)
            ]
            cached = (self._static_version, encode_attributes(chosen))
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()  # clients asking for endless variations get no memory
            self._cache[key] = cached
        return cached[1] + self._dynamic_encoded(names, origin, auth)

    def freshness(self, state: tuple[PrinterState, list[str], str] | None = None) -> object:
        """Changes whenever any attribute the queue advertises may have changed: its
        capabilities, its state, its job count, or the clock's second; a queue saved again in
        the console is a new view, with its own start."""
        return (
            self.started,
            self._static_version,
            int(time.time()),
            self._queued_jobs(),
            state or self.state(),
            self.admin.key(),
        )

    def _dynamic_encoded(self, names: frozenset[str] | None, origin: Origin, auth: str) -> bytes:
        # Within one second, for one kind of client, with the queue unchanged, the answer is
        # the same: keep it (a client polling many times a second costs one encoding).
        state = self.state()
        key = (names, origin, auth, self.freshness(state))
        if self._dynamic_key != key:
            self._dynamic = b"".join(
                encode_attribute(a)
                for a in self.dynamic(origin, auth, state)
                if _wanted(a.name, names)
            )
            self._dynamic_key = key
        return self._dynamic


def _fallbacks(upstream: Group) -> list[Attribute]:
    """Attributes IPP 2.0 / Everywhere require that some printers leave out (ippeveprinter has
    no pwg-raster-document-sheet-back, the virtual printer no rendering intents): neutral values
    that promise nothing the printer cannot do."""
    color = upstream.get("color-supported")
    is_color = color is not None and color.value is True
    make = upstream.get("printer-make-and-model")
    model = (make.text() if make else "") or "printgate queue"
    wanted = [
        m.text("printer-make-and-model", "printgate queue"),
        # PWG 5100.12 6.4 (IPP/2.2); Windows' IPP class driver reads the device ID.
        m.text(
            "printer-device-id", f"MFG:printgate;MDL:{_device_id_value(model)};CMD:PDF,JPEG,PWG;"
        ),
        # Windows' IPP class driver and Android's print service look for it; PAPPL's printers
        # say 1.3, the version whose requirements IPP Everywhere queues meet.
        m.text("mopria-certified", MOPRIA_VERSION),
        m.integer("number-up-default", 1),
        m.integer("number-up-supported", 1),
        m.integer("pages-per-minute", 1),
        *([m.integer("pages-per-minute-color", 1)] if is_color else []),
        m.keyword("print-rendering-intent-supported", "auto"),
        m.keyword("print-rendering-intent-default", "auto"),
        m.boolean("preferred-attributes-supported", False),
        m.keyword("pwg-raster-document-sheet-back", "normal"),
    ]
    return [a for a in wanted if upstream.get(a.name) is None]


def _device_id_value(text: str) -> str:
    """IEEE 1284 device ID values hold no ':' or ';'."""
    return text.replace(":", " ").replace(";", " ").strip()[:100]


def _unique(attributes: list[Attribute]) -> list[Attribute]:
    """IPP forbids an attribute twice in a group; printers have been seen to send that."""
    seen: set[str] = set()
    unique = []
    for attribute in attributes:
        if attribute.name not in seen:
            seen.add(attribute.name)
            unique.append(attribute)
    return unique


def _wanted(name: str, requested: frozenset[str] | None) -> bool:
    if requested is None or "all" in requested:
        return name not in EXPLICIT_ONLY or (requested is not None and name in requested)
    if name in requested:
        return True
    if "job-template" in requested and is_job_template(name):
        return name not in EXPLICIT_ONLY
    if "printer-description" in requested and not is_job_template(name):
        return name not in EXPLICIT_ONLY
    return False


def _for_format(name: str, document_format: str | None) -> bool:
    if document_format is None or document_format == "application/octet-stream":
        return True
    for prefix, fmt in FORMAT_SPECIFIC.items():
        if name.startswith(prefix):
            return fmt == document_format
    return True
