"""Web print: a PDF, JPEG, PNG or PWG Raster uploaded by a signed-in person, with the group,
copies, colour, sides, medium and page ranges they chose, printed through the gateway's own
Print-Job (gateway.server.operations.web_print) and charged to them.

The file is judged by its first bytes, never its name or declared type; a file refused here
(empty, over `[web] web_print_max_mib`, not one of the formats) never reaches the spool."""

from __future__ import annotations

import re

from aiohttp import web

from gateway.analysis.sniff import sniff_format
from gateway.server.operations.web_print import WebPrint, web_print
from gateway.server.queue_attrs import Origin, QueueView

from ..forms import Form
from ..i18n import gettext
from ..security import uploads
from ..security.guard import accepts_upload, see_other
from ..security.sessions import source_address
from .common import HOME, context, render_page, still_listed
from .people import Person, signed_person

FORMATS = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/pwg-raster": "PWG Raster",
}
MAX_COPIES = 999
RANGES_RE = re.compile(r"^\s*\d+\s*(-\s*\d+\s*)?(,\s*\d+\s*(-\s*\d+\s*)?)*$")
HEAD = 16


def _person(request: web.Request) -> Person:
    person = signed_person(request)
    if person is None:
        raise web.HTTPSeeOther("/me/signin?next=/me/print")
    return person


def _groups(request: web.Request, person: Person) -> list[QueueView]:
    queues = context(request).queues
    return [queues[name] for name in sorted(person.queues) if name in queues]


def supported(view: QueueView, name: str) -> list[str]:
    """The group's first printer's supported values of a keyword attribute."""
    attribute = view.static_group().get(f"{name}-supported")
    return attribute.strings() if attribute is not None else []


def _limit(request: web.Request) -> int:
    return context(request).config.web.web_print_max_mib << 20


async def print_page(
    request: web.Request, form: Form | None = None, status: int = 200, message: str = ""
) -> web.Response:
    person = _person(request)
    groups = _groups(request, person)
    chosen_name = (form.values.get("queue") if form else request.query.get("queue")) or ""
    chosen = next((g for g in groups if g.name == chosen_name), groups[0] if groups else None)
    return render_page(
        request,
        "me/print.html",
        status,
        person=person,
        form=form,
        message=message,
        groups=groups,
        chosen=chosen,
        media=supported(chosen, "media") if chosen else [],
        sides=supported(chosen, "sides") if chosen else [],
        colors=supported(chosen, "print-color-mode") if chosen else [],
        max_mib=context(request).config.web.web_print_max_mib,
        formats=", ".join(FORMATS.values()),
    )


def parse_ranges(text: str) -> tuple[tuple[int, int], ...] | None:
    """ "1-3, 5" as ((1, 3), (5, 5)); None when it does not read, or a range runs backwards."""
    if not text.strip():
        return ()
    if not RANGES_RE.match(text):
        return None
    ranges = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if not 1 <= first <= last:
            return None
        ranges.append((first, last))
    return tuple(sorted(ranges))


@accepts_upload
async def submit(request: web.Request) -> web.StreamResponse:
    person = _person(request)
    handle = context(request).handle_ipp
    assert handle is not None
    try:
        async with uploads.read_form(request, _limit(request)) as upload:
            form = Form(upload.fields)
            order = _order(request, person, form, upload.files.get("document"))
            if order is None:
                return await print_page(request, form, 400)
            if not await still_listed(request, person, context(request).queues[order.queue].queue):
                raise web.HTTPForbidden(text=gettext("You may no longer print to this group."))
            origin = Origin(host=request.host, secure=request.secure)
            printed = await web_print(handle, order, origin, source_address(request))
    except web.HTTPRequestEntityTooLarge:
        form = Form()
        limit = context(request).config.web.web_print_max_mib
        form.error("document", gettext("The file is too large: at most %(n)s MB.", n=limit))
        return await print_page(request, form, 413)
    if not printed.ok or printed.job_id is None:
        form.error("document", gettext("The group refused the job: %(why)s", why=printed.message))
        return await print_page(request, form, 400)
    return see_other(f"{HOME}?printed={printed.job_id}")


def _order(
    request: web.Request, person: Person, form: Form, document: uploads.UploadedFile | None
) -> WebPrint | None:
    """The order the form describes; None, with errors beside the fields, if it has any."""
    groups = {g.name: g for g in _groups(request, person)}
    queue = form.choice("queue", groups)
    view = groups.get(queue)
    copies = form.integer("copies", minimum=1, maximum=MAX_COPIES) or 1
    options = {
        name: form.choice(field, supported(view, name), required=False) if view else ""
        for field, name in (("color", "print-color-mode"), ("sides", "sides"), ("media", "media"))
    }
    ranges = parse_ranges(form.raw("pages"))
    if ranges is None:
        form.error("pages", gettext("Pages as in 1-3, 5 (from page 1 on)."))
    project = form.text("project", max_length=100)
    department = form.text("department", max_length=100)
    if "/" in project + department:
        form.error("project", gettext("A project or department has no slash in its name."))
    detected = _judge(form, document)
    if not form.ok or view is None or document is None or detected is None:
        return None
    return WebPrint(
        queue=view.name,
        user=person.name,
        document=document.path,
        document_format=detected,
        name=document.filename[:255],
        copies=copies,
        color_mode=options["print-color-mode"],
        sides=options["sides"],
        media=options["media"],
        page_ranges=ranges or (),
        account_id="/".join(x for x in (project, department) if x) if project else "",
    )


def _judge(form: Form, document: uploads.UploadedFile | None) -> str | None:
    """The document's format by its content; an error beside the file field otherwise."""
    if document is None or not document.filename:
        form.error("document", gettext("Choose a file to print."))
        return None
    if document.size == 0:
        form.error("document", gettext("The file is empty."))
        return None
    with document.path.open("rb") as source:
        detected = sniff_format(source.read(HEAD))
    if detected not in FORMATS:
        form.error(
            "document",
            gettext("This file is not a PDF, JPEG, PNG or PWG Raster document, whatever its name."),
        )
        return None
    return detected
