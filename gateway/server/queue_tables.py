"""The fixed tables behind a queue's printer attributes: what printgate itself supports, which
of the printer's own attributes it replaces, which change per request, which are job template
attributes. Parts of the server that add operations or printer attributes (the subscription
operations) register them here with `add_support`, before any queue is built."""

from __future__ import annotations

from collections.abc import Iterable

from ..ipp import Attribute, Op

OPERATIONS = (
    Op.PRINT_JOB,
    Op.VALIDATE_JOB,
    Op.CREATE_JOB,
    Op.SEND_DOCUMENT,
    Op.CANCEL_JOB,
    Op.GET_JOB_ATTRIBUTES,
    Op.GET_JOBS,
    Op.GET_PRINTER_ATTRIBUTES,
    Op.HOLD_JOB,
    Op.RELEASE_JOB,
    Op.CANCEL_MY_JOBS,
    Op.CLOSE_JOB,
    Op.IDENTIFY_PRINTER,
    Op.SET_JOB_ATTRIBUTES,
)
COMPRESSIONS = ("none", "deflate", "gzip")
WHICH_JOBS = (
    "completed",
    "not-completed",
    "all",
    "aborted",
    "canceled",
    "pending",
    "pending-held",
    "processing",
    "processing-stopped",
    "proof-print",  # printgate makes no proof prints: always an empty list
)
# What Set-Job-Attributes takes (operations/set_job.py), as job-settable-attributes-supported.
JOB_SETTABLE = (
    "copies",
    "job-hold-until",
    "job-name",
    "job-priority",
    "job-account-id",
    "job-accounting-user-id",
    "job-password",
)
HOLD_UNTIL = ("no-hold", "indefinite")
# IPP Everywhere's minimum set of formats, then the ones printgate passes on where the printer
# takes them; application/octet-stream means "detect it", which printgate does itself.
REQUIRED_FORMATS = ("image/pwg-raster", "image/jpeg")
PASSED_FORMATS = ("application/pdf", "image/urf", "application/postscript")

# Upstream attributes that describe the printer itself, not what it can print: the queue
# replaces them with its own.
REPLACED = frozenset(
    {
        "charset-configured",
        "charset-supported",
        "compression-supported",
        "document-format-default",
        "document-format-supported",
        "generated-natural-language-supported",
        "identify-actions-default",
        "identify-actions-supported",
        "ipp-features-supported",
        "ipp-versions-supported",
        "job-account-id-default",
        "job-account-id-supported",
        "job-accounting-user-id-default",
        "job-accounting-user-id-supported",
        "job-creation-attributes-supported",
        "job-hold-until-default",
        "job-hold-until-supported",
        "job-ids-supported",
        "job-password-encryption-supported",
        "job-password-supported",
        "multiple-document-jobs-supported",
        "multiple-operation-time-out",
        "multiple-operation-time-out-action",
        "natural-language-configured",
        "operations-supported",
        "pdl-override-supported",
        "printer-config-change-date-time",
        "printer-config-change-time",
        "printer-current-time",
        "printer-dns-sd-name",
        "printer-geo-location",
        "printer-get-attributes-supported",
        "printer-icons",
        "printer-info",
        "printer-is-accepting-jobs",
        "printer-location",
        "printer-more-info",
        "printer-name",
        "printer-organization",
        "printer-organizational-unit",
        "printer-state",
        "printer-state-change-date-time",
        "printer-state-change-time",
        "overrides-supported",
        "printer-state-message",
        "printer-state-reasons",
        "printer-supply-info-uri",
        "printer-up-time",
        "printer-uri-supported",
        "printer-uuid",
        "printer-strings-uri",
        "printer-strings-languages-supported",
        "printer-static-resource-directory-uri",
        "printer-xri-supported",
        "auth-info-required",
        "printer-mandatory-job-attributes",
        "queued-job-count",
        "uri-authentication-supported",
        "uri-security-supported",
        "which-jobs-supported",
        "job-settable-attributes-supported",
        "printer-settable-attributes-supported",
        "notify-events-supported",
        "notify-pull-method-supported",
        "notify-lease-duration-supported",
        "notify-max-events-supported",
        "ippget-event-life",
        "printer-alert",
        "printer-alert-description",
    }
)
# Attributes that depend on the moment or on the client, encoded for each request.
DYNAMIC = (
    "printer-current-time",
    "printer-up-time",
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-state-change-time",
    "printer-state-change-date-time",
    "printer-is-accepting-jobs",
    "queued-job-count",
    "printer-uri-supported",
    "uri-security-supported",
    "uri-authentication-supported",
    "printer-more-info",
    "printer-icons",
    "printer-supply-info-uri",
    "printer-alert",
    "printer-alert-description",
)
# Only sent when asked for by name (large, and "all" does not include it).
EXPLICIT_ONLY = frozenset({"media-col-database"})
JOB_TEMPLATE = frozenset(
    {
        "copies",
        "finishings",
        "finishings-col",
        "job-hold-until",
        "job-priority",
        "job-sheets",
        "media",
        "media-col",
        # media-col's members: clients asking for the job-template group build their media
        # choices from these.
        "media-size",
        "media-source",
        "media-type",
        "media-color",
        "media-bottom-margin",
        "media-left-margin",
        "media-right-margin",
        "media-top-margin",
        "multiple-document-handling",
        "number-up",
        "orientation-requested",
        "output-bin",
        "page-ranges",
        "print-color-mode",
        "print-content-optimize",
        "print-quality",
        "print-rendering-intent",
        "print-scaling",
        "printer-resolution",
        "sides",
        "job-account-id",
        "job-accounting-user-id",
        "job-password",
        "job-password-encryption",
        "overrides",
        "presentation-direction-number-up",
        "page-delivery",
        "job-error-action",
        "job-delay-output-until",
        "job-retain-until",
        "print-accuracy",
        "x-image-position",
        "y-image-position",
        "x-image-shift",
        "y-image-shift",
        "x-side1-image-shift",
        "x-side2-image-shift",
        "y-side1-image-shift",
        "y-side2-image-shift",
    }
)
FORMAT_SPECIFIC = {
    "pwg-raster-": "image/pwg-raster",
    "urf-": "image/urf",
    "pdf-": "application/pdf",
    "jpeg-": "image/jpeg",
}
# Added by other parts of the server (add_support): operation codes and printer attributes.
ADDED_OPERATIONS: list[int] = []
ADDED_ATTRIBUTES: list[Attribute] = []


def add_support(operations: Iterable[int] = (), attributes: Iterable[Attribute] = ()) -> None:
    """Advertise more operations and printer attributes on every queue (their names are then
    the queue's own: a printer's attributes of the same name are not passed on)."""
    ADDED_OPERATIONS.extend(op for op in operations if op not in (*OPERATIONS, *ADDED_OPERATIONS))
    known = {a.name for a in ADDED_ATTRIBUTES}
    ADDED_ATTRIBUTES.extend(a for a in attributes if a.name not in known)
