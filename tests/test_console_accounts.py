"""The console's account flows over real HTTP: the forced password change at the first sign-in,
changing one's password (the other sessions end), "forgot password" with the link mailed to a
real SMTP server (aiosmtpd) and followed, the second factor's enrolment and sign-in with codes
computed by pyotp, and the language choice."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.identity.accounts import Accounts
from gateway.store.audit import Actor
from gateway.store.models import PasswordResetRow
from gateway.store.store import now
from tests.harness import InProcess, in_process
from tests.snmp_peers import SmtpSink, body
from tests.web_client import Reply, WebClient

PASSWORD = "a long first password"
NEW_PASSWORD = "another long password"
SECRET_RE = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
LINK_RE = re.compile(r"(http://\S+/reset/\S+)")


@pytest.fixture
async def gw(tmp_path: Path, database_url: str, smtp_sink: SmtpSink) -> AsyncIterator[InProcess]:
    async with running(tmp_path, database_url, smtp_sink) as gw:
        yield gw


def running(tmp_path: Path, database_url: str, smtp_sink: SmtpSink, **web: Any) -> Any:
    return in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
        queues=[{"name": "demo", "printers": ["virtual"]}],
        mail={"host": smtp_sink.host, "port": smtp_sink.port, "security": "none"},
        web=web,
    )


def accounts(gw: InProcess) -> Accounts:
    return Accounts(gw.gateway.jobs.store)


async def add(gw: InProcess, name: str, role: str = "bookkeeper", **kw: Any) -> None:
    await accounts(gw).add(Actor.cli(), name, PASSWORD, role, f"{name}@example.org", **kw)


def client(gw: InProcess) -> WebClient:
    return WebClient(f"http://127.0.0.1:{gw.port}")


async def follow(web: WebClient, reply: Reply) -> Reply:
    """Where a 303 leads (the page a browser would show next)."""
    assert reply.status == 303, (reply.status, reply.text[:300])
    return await web.get(reply.location, allow_redirects=True)


async def mails(sink: SmtpSink, count: int, within: float = 15.0) -> list[Any]:
    """Wait for mail without blocking the loop the in-process server runs in."""
    deadline = time.monotonic() + within
    while len(sink.received()) < count:
        assert time.monotonic() < deadline, f"{count} mails expected, {len(sink.received())} came"
        await asyncio.sleep(0.05)
    return sink.received()


async def test_the_first_sign_in_forces_a_password_change(gw: InProcess) -> None:
    await add(gw, "dana", must_change_password=True)
    async with client(gw) as web:
        signed = await web.sign_in("dana", PASSWORD)
        assert signed.status == 303
        page = await web.get("/console/")
        assert page.status == 303 and page.location == "/account/password"
        assert (await web.get("/account/")).location == "/account/password"
        form = await web.get("/account/password")
        assert form.status == 200 and "choose your own" in form.text
        token = await web.token("/account/password")

        async def change(**fields: str) -> Reply:
            return await web.post("/account/password", fields, token=token)

        wrong = await change(current="not it at all", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
        assert wrong.status == 400 and "not your current password" in wrong.text
        short = await change(current=PASSWORD, password="short", confirm="short")
        assert short.status == 400 and "At least 10 characters" in short.text
        differ = await change(current=PASSWORD, password=NEW_PASSWORD, confirm="something else")
        assert differ.status == 400 and "The two passwords differ" in differ.text
        same = await change(current=PASSWORD, password=PASSWORD, confirm=PASSWORD)
        assert same.status == 400
        assert (await web.get("/console/")).location == "/account/password"

        done = await change(current=PASSWORD, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
        assert done.status == 303 and done.location == "/console/"
        assert (await web.get("/console/")).status == 200  # this session goes on
    account = await accounts(gw).get("dana")
    assert account is not None and not account.must_change_password
    async with client(gw) as web:
        assert (await web.sign_in("dana", PASSWORD)).status == 401
        signed = await web.sign_in("dana", NEW_PASSWORD)
        assert signed.status == 303 and signed.location == "/console/"


async def test_changing_the_password_ends_the_other_sessions(gw: InProcess) -> None:
    await add(gw, "dana")
    async with client(gw) as here, client(gw) as there:
        assert (await here.sign_in("dana", PASSWORD)).status == 303
        assert (await there.sign_in("dana", PASSWORD)).status == 303
        assert (await there.get("/console/")).status == 200
        changed = await here.post(
            "/account/password",
            {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert changed.status == 303 and changed.location == "/account/?saved=password"
        shown = await here.get(changed.location)
        assert shown.status == 200 and "Your password is changed" in shown.text
        assert (await there.get("/console/")).location.startswith("/signin")
        assert (await here.get("/console/")).status == 200


async def test_forgot_password_mails_a_single_use_link(gw: InProcess, smtp_sink: SmtpSink) -> None:
    await add(gw, "dana")
    async with client(gw) as old_session:
        assert (await old_session.sign_in("dana", PASSWORD)).status == 303
        async with client(gw) as web:
            unknown = await web.post("/forgot", {"who": "nobody@example.org"})
            assert unknown.status == 303
            unknown_page = await follow(web, unknown)
            known = await web.post("/forgot", {"who": "dana@example.org"})
            known_page = await follow(web, known)
            # The answer tells nothing about which one has an account.
            assert known.location == unknown.location == "/forgot?sent=1"
            assert known_page.text == unknown_page.text
            assert "If an account matches" in known_page.text

            (mail,) = await mails(smtp_sink, 1)
            assert mail["To"] == "dana@example.org"
            found = LINK_RE.search(body(mail))
            assert found, body(mail)
            link = found.group(1)
            assert link.startswith(f"http://127.0.0.1:{gw.port}/reset/")
            path = link.removeprefix(f"http://127.0.0.1:{gw.port}")

            page = await web.get(path)
            assert page.status == 200 and "dana" in page.text
            token = await web.token(path)
            differ = await web.post(
                path, {"password": NEW_PASSWORD, "confirm": "not the same"}, token=token
            )
            assert differ.status == 400 and "The two passwords differ" in differ.text
            done = await web.post(
                path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token=token
            )
            assert done.status == 303
            assert "Your new password is set" in (await follow(web, done)).text

            # Used once: the link is spent.
            assert (await web.get(path)).status == 410
            again = await web.post(
                path,
                {"password": "a third long password", "confirm": "a third long password"},
                token=token,
            )
            assert again.status == 410
        # Every session of the account ended; the new password opens a new one.
        assert (await old_session.get("/console/")).location.startswith("/signin")
    async with client(gw) as web:
        assert (await web.sign_in("dana", PASSWORD)).status == 401
        assert (await web.sign_in("dana", NEW_PASSWORD)).status == 303
    await asyncio.sleep(0.2)
    assert len(smtp_sink.received()) == 1  # none for the unknown address


async def test_an_expired_reset_link_fails(gw: InProcess, smtp_sink: SmtpSink) -> None:
    await add(gw, "dana")
    async with client(gw) as web:
        assert (await web.post("/forgot", {"who": "dana"})).status == 303
        (mail,) = await mails(smtp_sink, 1)
        found = LINK_RE.search(body(mail))
        assert found and "30 minutes" in body(mail)
        path = found.group(1).removeprefix(f"http://127.0.0.1:{gw.port}")
        assert (await web.get(path)).status == 200
        token = await web.token(path)

        def age(session: Session) -> None:
            session.execute(
                update(PasswordResetRow).values(expires_at=now() - timedelta(seconds=1))
            )

        await gw.gateway.jobs.store.write(age)
        page = await web.get(path)
        assert page.status == 410 and "expired" in page.text
        refused = await web.post(
            path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token=token
        )
        assert refused.status == 410
        assert (await web.get("/reset/made-up-token")).status == 410
    async with client(gw) as web:
        assert (await web.sign_in("dana", PASSWORD)).status == 303


async def test_forgot_password_requests_are_limited_per_address(gw: InProcess) -> None:
    async with client(gw) as web:
        token = await web.token("/forgot")
        answers = [
            (await web.post("/forgot", {"who": f"user{n}"}, token=token)).status for n in range(6)
        ]
        assert answers == [303] * 5 + [429]


async def enrol(web: WebClient) -> tuple[str, str]:
    """Turn the second factor on, as the signed-in account: its secret, and the code that
    confirmed it."""
    page = await web.get("/account/totp")
    assert page.status == 200
    found = SECRET_RE.search(page.text)
    assert found, page.text[:500]
    secret = found.group(1)
    assert "otpauth://totp/printgate:" in page.text and f"secret={secret}" in page.text
    assert 'src="data:image/svg+xml' in page.text
    token = await web.token("/account/totp")
    wrong = await web.post("/account/totp", {"code": "000000"}, token=token)
    if wrong.status != 400:  # 000000 might, once in a million, be right
        pytest.fail("a wrong code turned the second factor on")
    code = pyotp.TOTP(secret).now()
    done = await web.post("/account/totp", {"code": code}, token=token)
    assert done.status == 303, done.text[:300]
    return secret, code


async def test_totp_enrolment_then_sign_in(gw: InProcess) -> None:
    await add(gw, "dana")
    async with client(gw) as web:
        await web.sign_in("dana", PASSWORD)
        secret, enrolment_code = await enrol(web)
        assert "Two-factor sign-in is on" in (await web.get("/account/?saved=totp-on")).text
    account = await accounts(gw).get("dana")
    assert account is not None and account.totp_secret == secret

    totp = pyotp.TOTP(secret)
    async with client(gw) as web:
        half = await web.sign_in("dana", PASSWORD)
        assert half.status == 303 and half.location == "/signin/totp"
        assert (await web.get("/console/")).location.startswith("/signin")  # not signed in yet
        form = await web.get("/signin/totp")
        assert form.status == 200 and 'name="username"' not in form.text
        token = await web.token("/signin/totp")
        wrong = await web.post("/signin/totp", {"code": "12345x"}, token=token)
        assert wrong.status == 401 and "wrong or has been used" in wrong.text
        # The code the enrolment used is spent; the next step's code works.
        replay = await web.post("/signin/totp", {"code": enrolment_code}, token=token)
        assert replay.status == 401
        code = totp.at(time.time() + 30)
        signed = await web.post("/signin/totp", {"code": code}, token=token)
        assert signed.status == 303 and signed.location == "/console/"
        assert (await web.get("/console/")).status == 200
        await web.post("/signout", {})

    async with client(gw) as web:
        assert (await web.sign_in("dana", PASSWORD)).location == "/signin/totp"
        replay = await web.post("/signin/totp", {"code": code})
        assert replay.status == 401  # a code is good once
        assert (await web.get("/console/")).location.startswith("/signin")


async def test_the_half_signed_in_state_is_the_servers(gw: InProcess) -> None:
    await add(gw, "dana")
    await add(gw, "erin")
    async with client(gw) as web:
        await web.sign_in("dana", PASSWORD)
        secret, _code = await enrol(web)
    async with client(gw) as web:
        # Without the cookie of a half sign-in there is nothing to finish.
        reply = await web.post("/signin/totp", {"code": pyotp.TOTP(secret).now()})
        assert reply.status == 303 and reply.location == "/signin"
        # A password of another account does not open dana's second step.
        assert (await web.sign_in("erin", PASSWORD)).location == "/console/"
        assert (await web.get("/signin/totp")).location == "/console/"


async def test_wrong_codes_are_throttled(gw: InProcess) -> None:
    await add(gw, "dana")
    async with client(gw) as web:
        await web.sign_in("dana", PASSWORD)
        secret, _code = await enrol(web)
    async with client(gw) as web:
        await web.sign_in("dana", PASSWORD)
        token = await web.token("/signin/totp")
        for _ in range(3):
            assert (await web.post("/signin/totp", {"code": "000001"}, token=token)).status == 401
        right = pyotp.TOTP(secret).at(time.time() + 30)
        throttled = await web.post("/signin/totp", {"code": right}, token=token)
        assert throttled.status == 429 and "Too many failed attempts" in throttled.text


async def test_turning_the_second_factor_off_asks_for_the_password(gw: InProcess) -> None:
    await add(gw, "dana")
    async with client(gw) as web:
        await web.sign_in("dana", PASSWORD)
        await enrol(web)
        token = await web.token("/account/totp")
        wrong = await web.post("/account/totp/disable", {"password": "not it at all"}, token=token)
        assert wrong.status == 400 and "not your current password" in wrong.text
        done = await web.post("/account/totp/disable", {"password": PASSWORD}, token=token)
        assert done.status == 303 and done.location == "/account/?saved=totp-off"
    account = await accounts(gw).get("dana")
    assert account is not None and account.totp_secret == ""


async def test_administrators_must_enrol_when_the_config_says_so(
    tmp_path: Path, database_url: str, smtp_sink: SmtpSink
) -> None:
    async with running(tmp_path, database_url, smtp_sink, require_totp_for_admins=True) as gw:
        await add(gw, "ada", role="admin", must_change_password=True)
        async with client(gw) as web:
            await web.sign_in("ada", PASSWORD)
            changed = await web.post(
                "/account/password",
                {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                token=await web.token("/account/password"),
            )
            assert changed.location == "/console/"
            assert (await web.get("/console/")).location == "/account/totp"
            page = await web.get("/account/totp")
            assert "must sign in with a second factor" in page.text
            found = SECRET_RE.search(page.text)
            assert found
            token = await web.token("/account/totp")
            done = await web.post(
                "/account/totp", {"code": pyotp.TOTP(found.group(1)).now()}, token=token
            )
            assert done.location == "/console/"
            assert (await web.get("/console/")).status == 200
            refused = await web.post("/account/totp/disable", {"password": NEW_PASSWORD})
            assert refused.status == 400 and "must keep a second factor" in refused.text


async def test_the_language_is_the_accounts_choice(gw: InProcess) -> None:
    await add(gw, "dana")
    async with client(gw) as web:
        await web.sign_in("dana", PASSWORD)
        assert (await web.post("/account/language", {"language": "xx"})).status == 400
        chosen = await web.post("/account/language", {"language": "fr"})
        assert chosen.status == 303
        page = await web.get(chosen.location)
        assert '<html lang="fr">' in page.text and "Mon compte" in page.text
    account = await accounts(gw).get("dana")
    assert account is not None and account.language == "fr"
