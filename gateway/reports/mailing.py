"""Mail a rendered report: addresses separated by ";" as the guide has them; the files attached
when they fit the mail attachment limit, else a notice saying so and nothing attached (a report
is never cut short)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..runtime.mail import Attachment, Mail, Mailer
from .render import Rendered

ADDRESS = re.compile(r"^[^@\s;,<>\"]+@[^@\s;,<>\"]+\.[^@\s;,<>\"]+$")


class AddressError(ValueError):
    """A destination list with a malformed or no address."""


def addresses(text: str) -> tuple[str, ...]:
    """ "a@x.org; b@y.org" as a tuple; the first malformed address is named in the error."""
    found = tuple(part.strip() for part in text.split(";") if part.strip())
    if not found:
        raise AddressError("no email address given")
    for address in found:
        if not ADDRESS.match(address):
            raise AddressError(f"{address!r} is not an email address")
    return found


@dataclass(frozen=True)
class Sent:
    to: tuple[str, ...]
    attached: bool  # False: the files were over the limit and a notice went instead
    size: int  # the files' bytes together


def compose(
    mailer: Mailer, to: Sequence[str], title: str, files: Sequence[Rendered]
) -> tuple[Mail, bool]:
    size = sum(len(f.body) for f in files)
    limit = mailer.settings.max_attachment_bytes
    names = ", ".join(f.filename for f in files)
    if size > limit:
        body = (
            f"{title}\n\nThe report ({names}, {size:,} bytes) is larger than the mail attachment "
            f"limit ({limit:,} bytes), so it is not attached. Open it in the printgate console "
            "or export it with `printgate report`."
        )
        return Mail(tuple(to), f"{title} (too large to attach)", body), False
    attachments = tuple(
        Attachment(f.filename, f.body, f.content_type.partition(";")[0]) for f in files
    )
    body = f"{title}\n\nAttached: {names}.\n\n-- printgate"
    return Mail(tuple(to), title, body, attachments), True


async def mail_report(
    mailer: Mailer, to: str | Sequence[str], title: str, files: Sequence[Rendered]
) -> Sent:
    """Send the files to `to` ("a@x; b@y" or a sequence); raises mail.MailError if sending
    fails and AddressError for a bad address."""
    recipients = addresses(to) if isinstance(to, str) else addresses(";".join(to))
    mail, attached = compose(mailer, recipients, title, files)
    await mailer.send(mail)
    return Sent(recipients, attached, sum(len(f.body) for f in files))
