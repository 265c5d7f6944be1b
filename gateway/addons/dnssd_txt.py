"""What a queue says about itself over DNS-SD: the TXT keys of the Bonjour Printing
Specification and IPP Everywhere that clients read before they ever send an IPP request
(CUPS' `lpadmin -m everywhere`, ippfind, AirPrint and Mopria devices). Pure: built from the
queue's own attributes, no IO."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..ipp import Group
from ..server.queue_attrs import QueueView

PASSWORD_MODES = ("password", "list-password", "directory")
# Largest media a queue takes, by short x long side in millimetres (Bonjour Printing 1.2).
PAPER_MAX = ((216.0, 356.0, "legal-A4"), (297.0, 432.0, "tabloid-A3"), (458.0, 648.0, "isoC-A2"))
TXT_STRING_MAX = 255
_MEDIA_SIZE = re.compile(r"_(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)(mm|in)$")


def air(auth: str) -> str:
    """How CUPS and AirPrint clients authenticate: with a password where the queue asks for
    one (they then prompt for it before the first job), none otherwise."""
    return "username,password" if auth in PASSWORD_MODES else "none"


def paper_max(media: Iterable[str]) -> str:
    sizes = [_size_mm(name) for name in media]
    known = [size for size in sizes if size is not None]
    if not known:
        return "legal-A4"
    short, long = max(known, key=lambda s: (s[0], s[1]))
    for max_short, max_long, label in PAPER_MAX:
        if short <= max_short and long <= max_long:
            return label
    return ">isoC-A2"


def _size_mm(name: str) -> tuple[float, float] | None:
    found = _MEDIA_SIZE.search(name)
    if not found:
        return None
    scale = 25.4 if found.group(3) == "in" else 1.0
    a, b = float(found.group(1)) * scale, float(found.group(2)) * scale
    return (min(a, b), max(a, b))


def _strings(group: Group, name: str) -> list[str]:
    attribute = group.get(name)
    return attribute.strings() if attribute else []


def _flag(value: bool) -> str:
    return "T" if value else "F"


def txt_record(
    view: QueueView, admin_url: str, secure: bool, tls_version: str = "1.2"
) -> dict[str, str]:
    attributes = view.static_group()
    upstream = view.upstream()
    model = (_strings(attributes, "printer-make-and-model") or ["printgate queue"])[0]
    color = attributes.get("color-supported")
    formats = [f for f in view.document_formats() if f != "application/octet-stream"]
    urf = _strings(upstream, "urf-supported")
    txt = {
        "txtvers": "1",
        "qtotal": "1",
        "rp": f"ipp/print/{view.name}",
        "ty": model,
        "adminurl": admin_url,
        "note": view.queue.location,
        "product": f"({model})",
        "pdl": ",".join(formats),
        "URF": ",".join(urf) if urf else "none",
        "UUID": view.uuid.removeprefix("urn:uuid:"),
        "Color": _flag(color is not None and color.value is True),
        "Duplex": _flag(
            any(s.startswith("two-sided") for s in _strings(attributes, "sides-supported"))
        ),
        "kind": ",".join(_strings(upstream, "printer-kind") or ["document"]),
        "PaperMax": paper_max(_strings(attributes, "media-supported")),
        "priority": "0",
        "air": air(view.queue.auth),
    }
    if secure:
        txt["TLS"] = tls_version
    # Windows and Android look for it: the queue's own attribute (the printer's, else 1.3).
    mopria = _strings(attributes, "mopria-certified")
    if mopria:
        txt["mopria-certified"] = mopria[0]
    return {key: _clip(key, value) for key, value in txt.items()}


def _clip(key: str, value: str) -> str:
    """A TXT string ("key=value") holds at most 255 bytes: cut long values (a long location
    or make and model) at a character boundary."""
    room = TXT_STRING_MAX - len(key.encode()) - 1
    return value.encode()[:room].decode(errors="ignore")
