"""Outgoing mail for everything that notifies or reports (supply alerts, meter reports,
backups): SMTP with STARTTLS or implicit TLS, optional authentication, an attachment size limit.

smtplib is blocking; each message is sent in a worker thread so the event loop never waits on
a mail server."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from ..config import MailConfig


class MailError(RuntimeError):
    """The message could not be sent; the text says why, in one line."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


class Mailer:
    """Sends with `settings`. The SMTP password is `password` when given (one an administrator
    saved in the console), else the contents of settings.password_file (the TOML's way)."""

    def __init__(self, settings: MailConfig, password: str | None = None):
        self.settings = settings
        self.password = password

    @property
    def configured(self) -> bool:
        return bool(self.settings.host)

    def recipients(self, fallback: Sequence[str] = ()) -> tuple[str, ...]:
        """[mail] to, else the given addresses (the administrators' own)."""
        return self.settings.to or tuple(a for a in fallback if "@" in a)

    async def send(self, mail: Mail) -> None:
        message = self.compose(mail)
        await asyncio.to_thread(self._deliver, message)

    async def test(self, to: str) -> None:
        """Send a short test message: checks host, security, credentials and sender at once."""
        await self.send(
            Mail((to,), "printgate test message", "printgate can send mail with these settings.")
        )

    def compose(self, mail: Mail) -> EmailMessage:
        if not self.configured:
            raise MailError("mail is not configured: set [mail] host")
        if not mail.to:
            raise MailError("no recipients: set [mail] to, or give administrators an email")
        size = sum(len(a.content) for a in mail.attachments)
        if size > self.settings.max_attachment_bytes:
            raise MailError(
                f"attachments of {size} bytes exceed [mail] max_attachment_bytes "
                f"({self.settings.max_attachment_bytes})"
            )
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = ", ".join(mail.to)
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.settings.sender.partition("@")[2] or None)
        message.set_content(mail.body)
        for attachment in mail.attachments:
            main, _, sub = attachment.mime_type.partition("/")
            message.add_attachment(
                attachment.content, maintype=main, subtype=sub, filename=attachment.filename
            )
        return message

    def _password(self) -> str:
        if self.password is not None:
            return self.password
        if not self.settings.password_file:
            return ""
        try:
            return Path(self.settings.password_file).read_text().strip()
        except OSError as exc:
            raise MailError(f"cannot read [mail] password_file: {exc.strerror}") from exc

    def _deliver(self, message: EmailMessage) -> None:
        settings = self.settings
        context = ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if settings.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            with smtp:
                if settings.security == "starttls":
                    smtp.ehlo()
                    if smtp.has_extn("starttls"):
                        smtp.starttls(context=context)
                    elif settings.username:
                        # Never send a password in the clear because a server forgot STARTTLS.
                        raise MailError(f"{settings.host} does not offer STARTTLS")
                if settings.username:
                    smtp.login(settings.username, self._password())
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"cannot send mail via {settings.host}:{settings.port}: {exc}") from exc
