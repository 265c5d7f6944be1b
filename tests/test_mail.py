"""gateway/runtime/mail.py against aiosmtpd: messages with attachments arrive whole, authentication,
the attachment size limit, STARTTLS required before a password, one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import MailConfig
from gateway.runtime.mail import Attachment, Mail, Mailer, MailError
from tests.peers import free_port
from tests.snmp_peers import SmtpSink, attachments, body


@pytest.fixture
def auth_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(users={"printgate": "s3cret"}).start()
    try:
        yield sink
    finally:
        sink.stop()


def _mailer(sink: SmtpSink, **settings: object) -> Mailer:
    values: dict[str, object] = {"host": sink.host, "port": sink.port, "security": "none"}
    values.update(settings)
    return Mailer(MailConfig(**values))  # type: ignore[arg-type]


async def test_a_message_with_attachments_arrives_whole(smtp_sink: SmtpSink) -> None:
    mailer = _mailer(smtp_sink, sender="meters@example.org")
    blob = bytes(range(256)) * 100
    await mailer.send(
        Mail(
            ("a@example.org", "b@example.org"),
            "Meter report",
            "See attached.\n",
            (Attachment("meters.csv", b"a,b\n1,2\n", "text/csv"), Attachment("x.bin", blob)),
        )
    )
    (message,) = smtp_sink.wait(1)
    assert message["From"] == "meters@example.org"
    assert message["To"] == "a@example.org, b@example.org"
    assert body(message).rstrip() == "See attached."
    assert attachments(message) == {"meters.csv": b"a,b\n1,2\n", "x.bin": blob}


async def test_attachments_over_the_limit_are_refused_before_sending(smtp_sink: SmtpSink) -> None:
    mailer = _mailer(smtp_sink, max_attachment_bytes=1000)
    with pytest.raises(MailError, match="exceed"):
        await mailer.send(Mail(("a@example.org",), "big", "", (Attachment("a", b"x" * 1001),)))
    assert smtp_sink.received() == []


async def test_authentication(auth_sink: SmtpSink, tmp_path: Path) -> None:
    secret = tmp_path / "smtp.secret"
    secret.write_text("s3cret\n")
    await _mailer(auth_sink, username="printgate", password_file=str(secret)).test(
        "admin@example.org"
    )
    assert auth_sink.wait(1)[0]["Subject"] == "printgate test message"
    secret.write_text("wrong\n")
    # aiosmtpd answers smtplib's fallback from PLAIN to LOGIN by waiting: a short timeout.
    wrong = _mailer(auth_sink, username="printgate", password_file=str(secret), timeout=2.0)
    with pytest.raises(MailError, match="cannot send mail"):
        await wrong.test("admin@example.org")
    assert len(auth_sink.received()) == 1


async def test_no_password_without_starttls(auth_sink: SmtpSink, tmp_path: Path) -> None:
    secret = tmp_path / "smtp.secret"
    secret.write_text("s3cret\n")
    mailer = _mailer(
        auth_sink, security="starttls", username="printgate", password_file=str(secret)
    )
    with pytest.raises(MailError, match="does not offer STARTTLS"):
        await mailer.test("admin@example.org")
    assert auth_sink.received() == []


async def test_unreachable_server_and_missing_settings_are_one_line_errors() -> None:
    with pytest.raises(MailError) as caught:
        await Mailer(MailConfig(host="127.0.0.1", port=free_port(), timeout=2.0)).test("a@b.c")
    assert "\n" not in str(caught.value)
    with pytest.raises(MailError, match="not configured"):
        await Mailer(MailConfig()).test("a@b.c")
