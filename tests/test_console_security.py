"""The console's guards over real HTTP: CSRF, sign-in throttling, sessions that end for good,
security headers on every response, /metrics closed to strangers, and names shown as text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.identity.accounts import Accounts, SessionPolicy
from gateway.store.audit import Actor
from tests.harness import InProcess, in_process
from tests.ipp_call import print_job
from tests.peers import make_pdf
from tests.web_client import WebClient

ADMIN_PASSWORD = "a long admin password"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
async def gw(tmp_path: Path, database_url: str) -> AsyncIterator[InProcess]:
    token_file = tmp_path / "metrics-token"
    token_file.write_text("scrape-me\n")
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{tmp_path / 'out'}"}],
        queues=[{"name": "demo", "printers": ["virtual"]}],
        web={"metrics_allow": [], "metrics_token_file": str(token_file)},
    ) as running:
        await Accounts(running.gateway.jobs.store).set_password(
            Actor.cli(), "admin", ADMIN_PASSWORD
        )
        yield running


def base(gw: InProcess) -> str:
    return f"http://127.0.0.1:{gw.port}"


async def test_a_state_change_without_the_right_csrf_token_is_refused(gw: InProcess) -> None:
    async with WebClient(base(gw)) as client:
        assert (await client.sign_in("admin", ADMIN_PASSWORD)).status == 303
        assert (await client.get("/console/")).status == 200
        for data in ({}, {"csrf_token": "forged"}):
            reply = await client.request("POST", "/signout", data=data)
            assert reply.status == 403, data
            assert (await client.get("/console/")).status == 200  # still signed in
        # Another session's token is not this one's.
        async with WebClient(base(gw)) as other:
            await other.sign_in("admin", ADMIN_PASSWORD)
            foreign = await other.token_for()
        reply = await client.request("POST", "/signout", data={"csrf_token": foreign})
        assert reply.status == 403
        # The header works as the form field does, and the right token signs out.
        own = await client.token_for()
        reply = await client.request("POST", "/signout", headers={"X-CSRF-Token": own})
        assert reply.status == 303
        assert (await client.get("/console/")).status == 303


async def test_an_anonymous_form_needs_its_cookie_token(gw: InProcess) -> None:
    async with WebClient(base(gw)) as client:
        reply = await client.request(
            "POST", "/signin", data={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert reply.status == 403
        assert "printgate_session" not in client.session.cookie_jar.filter_cookies(client.base_url)


async def test_sign_in_is_throttled_and_never_says_which_half_was_wrong(
    gw: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with WebClient(base(gw)) as client:
        token = await client.token("/signin")

        async def attempt(username: str, password: str) -> tuple[int, str]:
            reply = await client.post(
                "/signin", {"username": username, "password": password}, token=token
            )
            return reply.status, reply.text

        unknown = await attempt("nobody", "whatever it is")
        wrong = await attempt("admin", "not the password")
        assert unknown[0] == wrong[0] == 401
        message = "The user name or the password is wrong."
        assert message in unknown[1] and message in wrong[1]
        for _ in range(2):
            assert (await attempt("admin", "not the password"))[0] == 401
        # Three failures for the account: the next attempt waits, even with the password.
        status, page = await attempt("admin", ADMIN_PASSWORD)
        assert status == 429 and "Try again in" in page
        assert "sign-in throttled" in caplog.text
        status, _ = await attempt("admin", ADMIN_PASSWORD)
        assert status == 429


async def test_sign_out_and_password_or_role_changes_end_sessions(gw: InProcess) -> None:
    accounts = Accounts(gw.gateway.jobs.store)
    await accounts.add(Actor.cli(), "book", "a long bookkeeper password", "bookkeeper", "b@x.org")
    async with (
        WebClient(base(gw)) as first,
        WebClient(base(gw)) as second,
        WebClient(base(gw)) as book,
    ):
        await first.sign_in("admin", ADMIN_PASSWORD)
        await second.sign_in("admin", ADMIN_PASSWORD)
        await book.sign_in("book", "a long bookkeeper password")
        stolen = first.session.cookie_jar.filter_cookies(first.base_url)["printgate_session"]
        assert (await first.post("/signout")).status == 303
        # The old cookie, replayed, opens nothing: the session is gone from the store.
        async with WebClient(base(gw)) as replay:
            replay.session.cookie_jar.update_cookies({"printgate_session": stolen.value})
            assert (await replay.get("/console/")).status == 303
        assert (await second.get("/console/")).status == 200
        await accounts.set_password(Actor.cli(), "admin", "another long password")
        assert (await second.get("/console/")).status == 303
        assert (await book.get("/console/")).status == 200
        await accounts.set_role(Actor.cli(), "book", "admin")
        assert (await book.get("/console/")).status == 303


async def test_idle_and_old_sessions_end(gw: InProcess) -> None:
    accounts = Accounts(gw.gateway.jobs.store)
    admin = await accounts.get("admin")
    assert admin is not None
    token, _ = await accounts.open_session(admin, "127.0.0.1")
    day = timedelta(days=1)
    assert await accounts.session(token, SessionPolicy(idle=day, lifetime=day)) is not None
    assert await accounts.session(token, SessionPolicy(idle=timedelta(0), lifetime=day)) is None
    # Expired is ended: even a lenient policy no longer finds it.
    assert await accounts.session(token, SessionPolicy(idle=day, lifetime=day)) is None
    token, _ = await accounts.open_session(admin, "127.0.0.1")
    assert await accounts.session(token, SessionPolicy(idle=day, lifetime=timedelta(0))) is None


async def test_every_response_carries_the_security_headers(gw: InProcess) -> None:
    async with WebClient(base(gw)) as client:
        await client.sign_in("admin", ADMIN_PASSWORD)
        for path in ("/signin", "/console/", "/static/style.css", "/no-such-page", "/healthz"):
            reply = await client.get(path)
            headers = reply.headers
            policy = headers.get("Content-Security-Policy", "")
            assert "frame-ancestors 'none'" in policy, path
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
            assert headers.get("X-Content-Type-Options") == "nosniff", path
            assert headers.get("Referrer-Policy") == "no-referrer", path
        cookie = (await client.sign_in("admin", ADMIN_PASSWORD)).headers.getall("Set-Cookie")
        session_cookie = next(c for c in cookie if c.startswith("printgate_session="))
        assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


async def test_metrics_need_the_token_or_an_allowed_address(gw: InProcess) -> None:
    async with WebClient(base(gw)) as client:
        assert (await client.get("/metrics")).status == 403
        wrong = {"Authorization": "Bearer guess"}
        assert (await client.get("/metrics", headers=wrong)).status == 403
        right = {"Authorization": "Bearer scrape-me"}
        reply = await client.get("/metrics", headers=right)
        assert reply.status == 200 and "printgate_" in reply.text


async def test_names_show_as_text(gw: InProcess, tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    make_pdf(pdf)
    # The IPP client blocks: off the loop the in-process printgate runs on.
    await asyncio.to_thread(
        print_job, gw.queue_uri("demo"), pdf.read_bytes(), name=SCRIPT, user=SCRIPT
    )
    accounts = Accounts(gw.gateway.jobs.store)
    await accounts.add(
        Actor.cli(), "book", "a long bookkeeper password", "bookkeeper", "b@x.org", SCRIPT
    )
    async with WebClient(base(gw)) as client:
        await client.sign_in("admin", ADMIN_PASSWORD)
        page = (await client.get("/console/queues/demo")).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert SCRIPT not in page
