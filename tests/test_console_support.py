"""Preferences, Support and about: the version, database revision and uptime; `printgate check`
run from the console against a real printer (ippeveprinter) and against an address where
nothing answers, each result shown; and the diagnostic bundle, without the config's secrets."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway import __version__
from gateway.identity.accounts import Accounts
from gateway.maintenance.restore import head_revision
from gateway.store.audit import Actor
from tests.browser import Console, axe_check
from tests.harness import InProcess, in_process
from tests.peers import IppEvePrinter, free_port
from tests.web_client import WebClient

ADMIN_PASSWORD = "a long admin password"
PAGE = "/preferences/support"
COMMUNITY = "s3cret-community"


@pytest.fixture
async def web(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[InProcess, WebClient]]:
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": (tmp_path / "out").as_uri()}],
        snmp={"community": COMMUNITY},  # a secret the bundle must leave out
        queues=[{"name": "office", "printers": ["virtual"]}],
    ) as gw:
        await Accounts(gw.gateway.jobs.store).set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        async with WebClient(f"http://127.0.0.1:{gw.port}") as client:
            assert (await client.sign_in("admin", ADMIN_PASSWORD)).status == 303
            yield gw, client


def result_rows(page: str) -> dict[str, tuple[str, str]]:
    """check name -> (ok | failed, details) from the results table."""
    table = page.split('id="check-results"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<tr><td class="(?:ok|error)">([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>', table
    )
    return {name: (verdict, detail) for verdict, name, detail in rows}


async def test_about_shows_version_revision_and_uptime(
    web: tuple[InProcess, WebClient],
) -> None:
    _gw, client = web
    page = await client.get(PAGE)
    assert page.status == 200
    assert f"printgate {__version__}" in page.text
    revision = page.text.split('id="about-revision">', 1)[1].split("<", 1)[0]
    assert revision == head_revision()
    assert re.search(r'id="about-uptime">0:00:\d\d', page.text)

    # The three panels of this engineer speak French to a French browser.
    french = {"Accept-Language": "fr"}
    for path, title in (
        (PAGE, "Assistance et à propos"),
        ("/preferences/database", "Sauvegardes planifiées"),
        ("/preferences/rates", "Modèles d'imprimante"),
        ("/preferences/rates/model", "Barème de prix"),
    ):
        reply = await client.get(path, headers=french)
        assert reply.status == 200 and title in reply.text.replace("&#39;", "'"), path


async def test_the_check_runs_against_a_printer_address(
    web: tuple[InProcess, WebClient], ippeveprinter: IppEvePrinter
) -> None:
    _gw, client = web
    token = await client.token_for()
    reply = await client.post(f"{PAGE}/check", {"address": ippeveprinter.uri}, token=token)
    assert reply.status == 200
    results = result_rows(reply.text)
    assert results["versions"][0] == "ok" and __version__ in results["versions"][1]
    assert results["store"][0] == "ok" and head_revision() in results["store"][1]
    assert results["printer checked ipp"][0] == "ok"
    assert ippeveprinter.uri in results["printer checked ipp"][1]
    assert results["printer checked snmp"] == ("ok", "not configured")

    # Nothing answers there: the IPP check fails, and says so.
    closed = f"127.0.0.1:{free_port()}"
    reply = await client.post(f"{PAGE}/check", {"address": closed}, token=token)
    assert reply.status == 200
    assert result_rows(reply.text)["printer checked ipp"][0] == "failed"

    # Never a file on the server.
    reply = await client.post(f"{PAGE}/check", {"address": "file:///etc/passwd"}, token=token)
    assert reply.status == 400 and 'id="e-address"' in reply.text
    assert 'id="check-results"' not in reply.text


async def test_the_diagnostic_bundle_has_no_secret(web: tuple[InProcess, WebClient]) -> None:
    gw, client = web
    token = await client.token_for()
    async with client.session.post(
        client.base_url + f"{PAGE}/bundle", data={"csrf_token": token}
    ) as reply:
        assert reply.status == 200
        assert "attachment" in reply.headers["Content-Disposition"]
        data = await reply.read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = {
            info.name: archive.extractfile(info).read().decode()  # type: ignore[union-attr]
            for info in archive
        }
    assert set(members) == {"about.txt", "check.txt", "printgate-redacted.toml", "log.txt"}
    assert f"revision: {head_revision()}" in members["about.txt"]
    assert f"version: {__version__}" in members["about.txt"]
    assert "printer virtual ipp" in members["check.txt"]
    assert "<redacted>" in members["printgate-redacted.toml"]
    assert Path(gw.config.source).read_text().count(COMMUNITY) == 1
    for text in members.values():
        assert COMMUNITY not in text
    assert members["log.txt"].strip()


async def test_in_a_browser_check_a_printer_and_download_the_bundle(
    console: Console, ippeveprinter: IppEvePrinter
) -> None:
    page = await console.signed_in_page()
    await console.visit(page, "/preferences/support")
    await page.get_by_label("Printer address").fill(ippeveprinter.uri)
    await page.get_by_role("button", name="Run the check").click()
    await page.wait_for_selector("#check-results")
    await console.keep(page)
    await axe_check(page)
    row = page.get_by_role("row").filter(has_text="printer checked ipp")
    assert await row.get_by_role("cell").first.inner_text() == "ok"
    async with page.expect_download() as bundle:
        await page.get_by_role("button", name="Download the diagnostic bundle").click()
    with tarfile.open(await (await bundle.value).path(), "r:gz") as archive:
        assert "check.txt" in archive.getnames()
