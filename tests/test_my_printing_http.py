"""My printing over plain HTTP, as a browser without script uses it: web print through the
gateway's own Print-Job, refused uploads that spool nothing, the throttled claim and sign-in,
the old public list gone, and print sessions kept apart from console sessions."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from pathlib import Path

import aiohttp
from PIL import Image

from gateway.accounting.lists import Lists
from gateway.identity.accounts import Accounts
from gateway.ipp import JobState, Op
from gateway.ipp import model as m
from gateway.jobs.record import Job
from gateway.store.audit import Actor
from tests.harness import InProcess, in_process
from tests.ipp_call import ipp, ipp_http, print_job
from tests.peers import IppEvePrinter, make_pdf
from tests.slapd import BASE_DN, DISABLED_FILTER, READER_DN, READER_PASSWORD, USERS, Slapd
from tests.test_my_printing_support import (
    ALICE_PASSWORD,
    PROJECT_PASSWORD,
    fill_lists,
    phones_queue,
    relay,
)
from tests.web_client import TOKEN_RE, Reply, WebClient
from webui.me.printing import parse_ranges

ADMIN_PASSWORD = "a long admin password"


async def sign_in(web: WebClient, queue: str, name: str, password: str = "") -> Reply:
    page = await web.get(f"/me/signin?queue={queue}")
    token = TOKEN_RE.search(page.text)
    assert token, page.text[:300]
    form = {"csrf_token": token.group(1), "queue": queue, "name": name, "password": password}
    return await web.request("POST", "/me/signin", data=form)


async def page_token(web: WebClient, path: str = "/me/") -> str:
    page = await web.get(path)
    token = TOKEN_RE.search(page.text)
    assert token, page.text[:300]
    return token.group(1)


async def charged(gw: InProcess, job_id: int, seconds: float = 60) -> Job:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        job = await gw.gateway.jobs.get(job_id)
        if job is not None and job.state == JobState.COMPLETED and job.price_gross is not None:
            return job
        assert asyncio.get_running_loop().time() < deadline, f"job {job_id}: {job}"
        await asyncio.sleep(0.2)


def spooled(gw: InProcess) -> list[Path]:
    return [p for p in gw.config.spool_dir.rglob("*") if p.is_file()]


async def upload(web: WebClient, token: str, content: bytes, filename: str, **fields: str) -> Reply:
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    for name, value in {"queue": "office", "copies": "1", **fields}.items():
        form.add_field(name, value)
    form.add_field("document", content, filename=filename, content_type="application/pdf")
    return await web.request("POST", "/me/print", data=form)


async def test_web_print_reaches_the_printer_as_chosen_and_is_charged(
    ippeveprinter_factory: Callable[..., IppEvePrinter], tmp_path: Path, database_url: str
) -> None:
    eve = ippeveprinter_factory("eve", extra_args=["-2"])  # two-sided
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "eve", "uri": eve.uri}],
        queues=[{"name": "office", "printers": ["eve"], "auth": "list-password"}],
        web={"web_print_max_mib": 1},
    ) as gw:
        await fill_lists(gw.gateway.jobs.store, "office", with_password=True)
        async with WebClient(f"http://127.0.0.1:{gw.port}") as web:
            assert (await web.get("/me/print")).location.startswith("/me/signin")
            assert (await sign_in(web, "office", "alice", ALICE_PASSWORD)).status == 303
            form_page = await web.get("/me/print")
            assert form_page.status == 200 and "two-sided-long-edge" in form_page.text
            token = TOKEN_RE.search(form_page.text).group(1)  # type: ignore[union-attr]

            refused = {
                "an executable named .pdf": (b"\x7fELF\x02\x01\x01" + bytes(500), 400),
                "an empty file": (b"", 400),
                "a file over the limit": (b"%PDF-1.4\n" + bytes(1536 << 10), 413),
            }
            messages = {
                "an executable named .pdf": "is not a PDF, JPEG, PNG or PWG Raster document",
                "an empty file": "The file is empty.",
                "a file over the limit": "The file is too large: at most 1 MB.",
            }
            for what, (content, status) in refused.items():
                reply = await upload(web, token, content, "report.pdf")
                assert reply.status == status, (what, reply.status, reply.text[:300])
                assert messages[what] in reply.text, what
                assert 'id="e-document"' in reply.text, what  # beside the file field
            # A real PNG, which this group's printer does not take: refused by the Print-Job
            # itself, before anything is spooled.
            png = io.BytesIO()
            Image.new("RGB", (60, 40), (20, 120, 200)).save(png, "PNG")
            reply = await upload(web, token, png.getvalue(), "photo.png")
            assert reply.status == 400 and "The group refused the job" in reply.text
            assert "image/png is not supported" in reply.text
            assert spooled(gw) == [] and gw.gateway.jobs.active == {}

            pdf = make_pdf(tmp_path / "report.pdf", pages=3).read_bytes()
            reply = await upload(
                web, token, pdf, "report.pdf", copies="2", sides="two-sided-long-edge"
            )
            assert reply.status == 303, reply.text[:500]
            job_id = int(reply.location.rsplit("=", 1)[1])
            job = await charged(gw, job_id)
            assert (job.user, job.copies, job.sides, job.origin_host) == (
                "alice", 2, "two-sided-long-edge", "127.0.0.1"
            )  # fmt: skip
            assert job.document_format == "application/pdf" and job.name == "report.pdf"
            await asyncio.to_thread(eve.wait_documents, 1, 30)
            upstream = await asyncio.to_thread(
                ipp,
                eve.uri,
                Op.GET_JOB_ATTRIBUTES,
                m.integer("job-id", job.upstream_job_id),
                m.keyword("requested-attributes", "copies", "sides", "job-originating-user-name"),
            )
            attributes = upstream.group(0x02)
            assert attributes is not None, upstream
            assert attributes.get("copies").integer() == 2  # type: ignore[union-attr]
            assert attributes.get("sides").text() == "two-sided-long-edge"  # type: ignore[union-attr]

            home = await web.get("/me/")
            assert (
                f"{job_id} · report.pdf" in home.text
                and "This month: 1 printed job, 6 pages," in home.text
            )


async def test_claims_and_sign_ins_are_throttled_and_the_old_list_is_gone(
    tmp_path: Path, database_url: str
) -> None:
    out = tmp_path / "out"
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{out}"}],
        queues=[
            phones_queue("virtual"),
            {"name": "office", "printers": ["virtual"], "auth": "password"},
        ],
    ) as gw:
        store = gw.gateway.jobs.store
        await fill_lists(store)
        await fill_lists(store, "office", with_password=True)
        pdf = make_pdf(tmp_path / "secret.pdf").read_bytes()
        phone_uri = gw.queue_uri("phones")
        async with relay(gw.port, "127.0.0.7") as phone_net:
            job_id = await asyncio.to_thread(
                print_job, phone_uri.replace(str(gw.port), str(phone_net.port)),
                pdf, "salary review", "application/pdf", "Pixel 7",
            )  # fmt: skip
        base = f"http://127.0.0.1:{gw.port}"
        async with WebClient(base) as anonymous:
            for path in ("/me/", "/queues/phones"):
                page = await anonymous.get(path)
                assert page.status == 200
                for secret in ("salary review", "Pixel 7", f"Job {job_id}"):
                    assert secret not in page.text, (path, secret)
            assert (await anonymous.get("/release")).location == "/me/"
            token = await page_token(anonymous, "/me/signin?queue=phones")
            refused = await anonymous.request(
                "POST", f"/me/jobs/{job_id}/release", data={"csrf_token": token}
            )
            assert refused.status == 303 and refused.location.startswith("/me/signin")
            assert (await anonymous.request("POST", f"/release/{job_id}")).status in (403, 404, 405)

        # 20 wrong project passwords on the claim: after a few, refused unheard.
        async with relay(gw.port, "127.0.0.7") as phone_net:
            async with WebClient(phone_net.url()) as phone:
                assert (await sign_in(phone, "phones", "alice")).status == 303
                token = await page_token(phone)
                french = await phone.get("/me/", headers={"Accept-Language": "fr"})
                for text in ("En attente de libération", "Mes travaux", "salary review"):
                    assert text in french.text, text
                forged = {"csrf_token": "forged", "project": "Project146"}
                for path in (f"/me/jobs/{job_id}/release", f"/me/jobs/{job_id}/cancel"):
                    assert (await phone.request("POST", path, data=forged)).status == 403
                assert (await upload(phone, "forged", b"%PDF-1.4", "x.pdf")).status == 403
                claim = {
                    "csrf_token": token,
                    "project": "Project146",
                    "department": "Engineering",
                    "project_password": "guess",
                }
                statuses = []
                for attempt in range(20):
                    claim["project_password"] = f"guess {attempt}"
                    reply = await phone.request("POST", f"/me/jobs/{job_id}/release", data=claim)
                    statuses.append(reply.status)
                    if reply.status == 429:
                        assert "Too many failed attempts" in reply.text
                assert set(statuses) <= {400, 429} and statuses.count(429) >= 10, statuses
                assert statuses[:3] == [400, 400, 400], statuses
                claim["project_password"] = PROJECT_PASSWORD  # right, but still throttled
                assert (
                    await phone.request("POST", f"/me/jobs/{job_id}/release", data=claim)
                ).status == 429
        held = await gw.gateway.jobs.get(job_id)
        assert held is not None and held.state == JobState.PENDING_HELD

        # 20 wrong passwords at sign-in, on a password queue: throttled the same way.
        async with WebClient(base) as guesser:
            statuses = [
                (await sign_in(guesser, "office", "bob", f"guess {n}")).status for n in range(20)
            ]
            assert set(statuses) <= {401, 429} and statuses.count(429) >= 10, statuses
            assert "printgate_print" not in {c.key for c in guesser.session.cookie_jar}


async def test_print_sessions_and_console_sessions_stay_apart(
    tmp_path: Path, database_url: str
) -> None:
    out = tmp_path / "out"
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": f"file://{out}"}],
        queues=[{"name": "office", "printers": ["virtual"], "auth": "password"}],
    ) as gw:
        store = gw.gateway.jobs.store
        await fill_lists(store, "office", with_password=True)
        await Accounts(store).set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        base = f"http://127.0.0.1:{gw.port}"
        async with WebClient(base) as person, WebClient(base) as admin:
            # A print account is not a console account, and its session opens no console page.
            assert (await person.sign_in("alice", ALICE_PASSWORD)).status == 401
            assert (await sign_in(person, "office", "alice", ALICE_PASSWORD)).status == 303
            for path in ("/console/", "/account/", "/preferences/"):
                reply = await person.get(path)
                assert reply.status == 303 and reply.location.startswith("/signin"), path
            assert "alice" in (await person.get("/me/")).text
            # A console session is nobody in My printing.
            assert (await admin.sign_in("admin", ADMIN_PASSWORD)).status == 303
            page = await admin.get("/me/")
            assert "Sign in to see your jobs" in page.text and "Sign out" not in page.text
            assert (await admin.get("/me/print")).location.startswith("/me/signin")
            # Disabled in the console since the sign-in: the session prints no more.
            token = await page_token(person, "/me/print")
            await Lists(store).set_status(
                "user", "office", ["alice"], "disabled", actor=Actor.cli()
            )
            pdf = make_pdf(tmp_path / "late.pdf").read_bytes()
            assert (await upload(person, token, pdf, "late.pdf")).status == 403
            assert spooled(gw) == []
            # Signing out ends the print session for good (the old cookie opens nothing).
            cookie = next(c for c in person.session.cookie_jar if c.key == "printgate_print")
            token = await page_token(person)
            assert (
                await person.request("POST", "/me/signout", data={"csrf_token": token})
            ).status == 303
        async with WebClient(base) as replayed:
            replayed.session.cookie_jar.update_cookies({"printgate_print": cookie.value})
            assert (await replayed.get("/me/print")).location.startswith("/me/signin")
            assert re.search(r"Sign in to see your jobs", (await replayed.get("/me/")).text)


async def test_a_directory_account_signs_in_and_claims_its_own_job_from_anywhere(
    tmp_path: Path, database_url: str
) -> None:
    out = tmp_path / "out"
    secret = tmp_path / "ldap.secret"
    secret.write_text(READER_PASSWORD + "\n")
    alice = USERS["alice"]
    with Slapd(tmp_path / "slapd") as directory:
        async with in_process(
            tmp_path,
            database_url,
            directory={
                "url": directory.url,
                "base_dn": BASE_DN,
                "search_attribute": "uid",
                "filter": DISABLED_FILTER,
                "bind_dn": READER_DN,
                "bind_password_file": str(secret),
                "timeout": 2.0,
            },
            printers=[{"name": "virtual", "uri": f"file://{out}"}],
            queues=[
                {"name": "ad", "printers": ["virtual"], "auth": "directory", "require": ["project"]}
            ],
        ) as gw:
            await fill_lists(gw.gateway.jobs.store, "ad")
            pdf = make_pdf(tmp_path / "plan.pdf").read_bytes()
            status, reply = await asyncio.to_thread(
                ipp_http, gw.queue_uri("ad"), Op.PRINT_JOB,
                m.name_("job-name", "floor plan"), m.mime("document-format", "application/pdf"),
                document=pdf, user=alice.uid, auth=(alice.uid, alice.password),
            )  # fmt: skip
            assert status == 200 and reply is not None and reply.code < 0x100
            [held] = await gw.gateway.desk.held("ad")
            assert held.user == alice.uid
            async with relay(gw.port, "127.0.0.9") as elsewhere:
                async with WebClient(elsewhere.url()) as web:
                    assert "floor plan" not in (await web.get("/me/")).text
                    wrong = await sign_in(web, "ad", alice.uid, "not her password")
                    assert wrong.status == 401 and "wrong" in wrong.text
                    assert (await sign_in(web, "ad", alice.uid, alice.password)).status == 303
                    page = await web.get("/me/")
                    assert "floor plan" in page.text  # hers by name, from another address
                    token = TOKEN_RE.search(page.text).group(1)  # type: ignore[union-attr]
                    reply_ = await web.request(
                        "POST",
                        f"/me/jobs/{held.id}/release",
                        data={
                            "csrf_token": token,
                            "project": "Project146",
                            "project_password": PROJECT_PASSWORD,
                        },
                    )
                    assert reply_.status == 303, reply_.text[:300]
            job = await gw.gateway.jobs.get(held.id)
            assert job is not None and (job.user, job.project) == (alice.uid, "Project146")


def test_page_ranges_read_as_ipp_wants_them() -> None:
    assert parse_ranges("") == ()
    assert parse_ranges(" 5, 1-3 ") == ((1, 3), (5, 5))
    for bad in ("0", "3-1", "1-", "a", "1;2", "-4"):
        assert parse_ranges(bad) is None, bad
