"""Preferences, Costs and prices: a model's tables go through the form and come back as they
were saved (with an audit entry); a wrong field is refused beside itself with nothing saved;
the JSON import and export are those of `printgate rates`; and the preview of a printed job
under edited tables is exactly what the next job printed after saving them is charged."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from gateway.accounting.rate_preview import printed_job
from gateway.accounting.rates import Rates
from gateway.identity.accounts import Accounts
from gateway.jobs.record import Job
from gateway.store.audit import Actor, AuditFilter, entries
from gateway.store.store import Store
from tests.browser import Console, axe_check
from tests.harness import InProcess, in_process
from tests.ipp_call import print_job
from tests.peers import make_pdf
from tests.web_client import WebClient

ADMIN_PASSWORD = "a long admin password"
MODEL = "printgate virtual printer"  # the printer-make-and-model of file:// printers
PAGE = "/preferences/rates"


@pytest.fixture
async def web(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[InProcess, WebClient]]:
    async with in_process(
        tmp_path,
        database_url,
        printers=[{"name": "virtual", "uri": (tmp_path / "out").as_uri()}],
        queues=[{"name": "office", "printers": ["virtual"]}],
    ) as gw:
        await Accounts(gw.gateway.jobs.store).set_password(Actor.cli(), "admin", ADMIN_PASSWORD)
        async with WebClient(f"http://127.0.0.1:{gw.port}") as client:
            assert (await client.sign_in("admin", ADMIN_PASSWORD)).status == 303
            yield gw, client


def model_form(**changes: str) -> dict[str, str]:
    """The form of MODEL: a hybrid mono line, ink per ml, two media types (one unchecked)."""
    form = {
        "original": "",
        "name": MODEL,
        "conversion": "icc",
        "ml_c": "9",
        "ml_m": "9",
        "ml_y": "9",
        "ml_k": "8",
        "cost_on": "on",
        "cost_mono_lines_metric1": "ml",
        "cost_mono_lines_rate1": "0.12",
        "cost_high_density_metric1": "area_printed",
        "cost_high_density_rate1": "2.5",
        "cost_media_0_name": "stationery",
        "cost_media_0_checked": "on",
        "cost_media_0_rate": "0.35",
        "cost_media_1_name": "photographic-glossy",
        "cost_media_1_rate": "1.9",
        "cost_service": "0.20",
        "price_on": "on",
        "price_mono_lines_metric1": "area_printed",
        "price_mono_lines_rate1": "1.50",
        "price_mono_lines_metric2": "area_used",
        "price_mono_lines_rate2": "0.75",
        "price_color_lines_metric1": "area_printed",
        "price_color_lines_rate1": "3",
        "price_low_density_metric1": "area_printed",
        "price_low_density_rate1": "6",
        "price_high_density_metric1": "area_printed",
        "price_high_density_rate1": "12",
        "price_media_0_name": "stationery",
        "price_media_0_checked": "on",
        "price_media_0_rate": "0.50",
        "price_service": "1.00",
        "action": "save",
    }
    form.update(changes)
    return form


EXPECTED = {
    "conversion": "icc",
    "ml_per_m2": {"c": "9", "m": "9", "y": "9", "k": "8"},
    "cost": {
        "lines": {"mono_lines": {"ml": "0.12"}, "high_density": {"area_printed": "2.5"}},
        "media": {
            "stationery": {"checked": True, "rate": "0.35"},
            "photographic-glossy": {"checked": False, "rate": "1.9"},
        },
        "service": "0.20",
    },
    "price": {
        "lines": {
            "mono_lines": {"area_printed": "1.50", "area_used": "0.75"},
            "color_lines": {"area_printed": "3"},
            "low_density": {"area_printed": "6"},
            "high_density": {"area_printed": "12"},
        },
        "media": {"stationery": {"checked": True, "rate": "0.50"}},
        "service": "1.00",
    },
}


def field_value(page: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    return found.group(1) if found else ""


async def test_a_model_round_trips_through_the_form_with_its_audit_entry(
    web: tuple[InProcess, WebClient],
) -> None:
    gw, client = web
    store = gw.gateway.jobs.store
    assert (await client.get(PAGE)).status == 200
    reply = await client.post(f"{PAGE}/model", model_form())
    assert reply.status == 303, reply.text[:2000]
    assert (await Rates(store).models()) == {MODEL: EXPECTED}

    page = (await client.get(f"{PAGE}/model?model={MODEL.replace(' ', '%20')}")).text
    assert field_value(page, "price_mono_lines_rate2") == "0.75"
    assert 'value="area_used" selected' in page
    assert field_value(page, "cost_media_1_name") == "photographic-glossy"
    assert 'name="cost_media_1_checked" type="checkbox"' in page  # shown, unchecked
    assert 'name="cost_media_0_checked" type="checkbox" aria-label' in page
    # Saved again unchanged, the tables are the same: the form is a faithful round trip.
    values = {k: v for k, v in model_form().items() if k not in ("action", "original")}
    for name in values:
        if name.endswith("_checked") or name.endswith("_on"):
            continue
        shown = field_value(page, name) == values[name]
        assert shown or f'value="{values[name]}" selected' in page, name
    reply = await client.post(f"{PAGE}/model", model_form(original=MODEL))
    assert reply.status == 303
    assert (await Rates(store).models()) == {MODEL: EXPECTED}
    shown = (await client.get(f"{PAGE}?saved=%3Cscript%3Ealert(1)%3C/script%3E")).text
    assert "<script>alert(1)" not in shown and "&lt;script&gt;alert(1)" in shown
    logged = await entries(store, AuditFilter(action="rates.model"))
    assert [e.actor for e in logged] == ["admin", "admin"] and logged[-1].after == EXPECTED


async def test_wrong_fields_are_refused_beside_themselves_and_nothing_is_saved(
    web: tuple[InProcess, WebClient],
) -> None:
    gw, client = web
    store = gw.gateway.jobs.store
    reply = await client.post(
        f"{PAGE}/model",
        model_form(
            price_color_lines_rate1="three",  # not a number
            price_low_density_rate1="",  # a metric without its rate
            cost_color_lines_rate1="4",  # a rate without its metric
            price_high_density_metric2="area_printed",  # the same metric twice
            price_high_density_rate2="1",
            ml_k="",  # three inks of four
        ),
    )
    assert reply.status == 400
    page = reply.text
    for field in (
        "price_color_lines_rate1",
        "price_low_density_rate1",
        "cost_color_lines_metric1",
        "price_high_density_metric2",
        "ml_k",
    ):
        assert f'id="e-{field}"' in page, field
    assert field_value(page, "price_color_lines_rate1") == "three"  # what was typed, kept
    assert await Rates(store).models() == {}
    assert not await entries(store, AuditFilter(action="rates"))

    # Rates per ml on a model without its ink per m²: refused beside the metric.
    inkless = model_form(ml_c="", ml_m="", ml_y="", ml_k="")
    reply = await client.post(f"{PAGE}/model", inkless)
    assert reply.status == 400 and 'id="e-cost_mono_lines_metric1"' in reply.text
    assert await Rates(store).models() == {}


async def upload(client: WebClient, path: str, field: str, data: bytes, **fields: str) -> int:
    form = aiohttp.FormData()
    form.add_field("csrf_token", await client.token_for())
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field(field, data, filename="upload.bin", content_type="application/octet-stream")
    return (await client.request("POST", path, data=form)).status


async def test_json_import_and_export_are_those_of_the_cli(
    web: tuple[InProcess, WebClient],
) -> None:
    gw, client = web
    store = gw.gateway.jobs.store
    rate_file = {
        "settings": {"currency": "CHF", "tax_rate": "8.1"},
        "models": {MODEL: EXPECTED, "*": {"price": {"lines": {"mono_lines": {"linear": "2"}}}}},
    }
    status = await upload(client, f"{PAGE}/import", "file", json.dumps(rate_file).encode())
    assert status == 303
    exported = await client.get(f"{PAGE}/export")
    assert exported.status == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    assert json.loads(exported.text) == await Rates(store).export()
    assert json.loads(exported.text)["settings"]["currency"] == "CHF"
    assert json.loads(exported.text)["models"][MODEL] == EXPECTED

    # Refused whole: not JSON, and JSON the CLI's validation refuses (a line of no basis).
    assert await upload(client, f"{PAGE}/import", "file", b"\x89PNG not json") == 400
    bad = {"models": {"X": {"price": {"lines": {"nonsense": {"ml": "1"}}}}}}
    assert await upload(client, f"{PAGE}/import", "file", json.dumps(bad).encode()) == 400
    assert json.loads((await client.get(f"{PAGE}/export")).text) == json.loads(exported.text)
    assert len(await entries(store, AuditFilter(action="rates.import"))) == 1

    # Remove a model, with its confirmation.
    token = await client.token_for()
    reply = await client.post(f"{PAGE}/remove", {"model": "*"}, token=token)
    assert reply.status == 400 and "*" in await Rates(store).models()
    reply = await client.post(f"{PAGE}/remove", {"model": "*", "confirm": "on"}, token=token)
    assert reply.status == 303 and "*" not in await Rates(store).models()


async def charged(store: Store, job_id: int) -> Job:
    """The job's record once it has printed and its cost and price are recorded."""
    async with asyncio.timeout(60):
        while True:
            job = await printed_job(store, job_id)
            if job is not None and job.costed_at is not None:
                return job
            await asyncio.sleep(0.2)


def shown_amount(page: str, element: str) -> str:
    found = re.search(rf'<output id="{element}">([^<]*)</output>', page)
    assert found, f"no {element} in the page"
    return found.group(1).strip()


async def test_the_preview_is_the_charge_of_the_next_job_printed(
    web: tuple[InProcess, WebClient], tmp_path: Path
) -> None:
    gw, client = web
    store = gw.gateway.jobs.store
    uri = gw.queue_uri("office")
    document = make_pdf(tmp_path / "doc.pdf", pages=2, color=True).read_bytes()
    first = await asyncio.to_thread(print_job, uri, document, name="before")
    before = await charged(store, first)
    assert before.price_gross is None  # no tables yet

    reply = await client.post(f"{PAGE}/model", model_form(action="preview", preview_job=str(first)))
    assert reply.status == 200, reply.text[:3000]
    assert await Rates(store).models() == {}  # a preview saves nothing
    preview_price = shown_amount(reply.text, "preview-price")
    preview_cost = shown_amount(reply.text, "preview-cost")
    assert preview_price.endswith(" EUR") and Decimal(preview_price.split()[0]) > 0

    assert (await client.post(f"{PAGE}/model", model_form())).status == 303
    second = await asyncio.to_thread(print_job, uri, document, name="after")
    after = await charged(store, second)
    assert after.price_gross is not None and after.cost_gross is not None
    assert f"{after.price_gross.quantize(Decimal('0.01'))} EUR" == preview_price
    assert f"{after.cost_gross.quantize(Decimal('0.01'))} EUR" == preview_cost


# --- in a browser ---------------------------------------------------------------------------


async def test_in_a_browser_edited_rates_preview_the_charge_of_the_next_job(
    console: Console, tmp_path: Path
) -> None:
    gw = console.gw
    store = gw.gateway.jobs.store
    uri = gw.queue_uri("demo")
    document = make_pdf(tmp_path / "doc.pdf", pages=2, color=True).read_bytes()
    first = await asyncio.to_thread(print_job, uri, document, name="before")
    await charged(store, first)

    page = await console.signed_in_page()
    await console.visit(page, "/preferences/")
    await page.get_by_role("link", name="Costs and prices").click()
    await console.keep(page)
    await axe_check(page)
    await page.get_by_role("link", name="Add a printer model").click()
    await page.locator("#f-name").fill(MODEL)
    await page.get_by_label("Service, per job", exact=True).fill("0.25")
    await page.get_by_label("This model has a price table").check()
    lines = {"Mono lines": "1.50", "Colour lines": "3", "Low density image": "6"}
    lines["High density image"] = "12"
    for line, rate in lines.items():
        await page.get_by_label(f"Price, {line}: metric", exact=True).select_option("area_printed")
        await page.get_by_label(f"Price, {line}: rate", exact=True).fill(rate)
    await page.get_by_label("Price, Mono lines: second metric", exact=True).select_option(
        "area_used"
    )
    await page.get_by_label("Price, Mono lines: second rate", exact=True).fill("0.75")
    await page.get_by_label("Recent printed job").select_option(str(first))
    await page.get_by_role("button", name="Preview", exact=True).click()
    await page.wait_for_selector("#preview-price")
    await console.keep(page)
    await axe_check(page)
    preview_price = (await page.locator("#preview-price").inner_text()).strip()
    preview_cost = (await page.locator("#preview-cost").inner_text()).strip()
    assert await Rates(store).models() == {}

    await page.get_by_role("button", name="Save", exact=True).click()
    await page.wait_for_url("**/preferences/rates?saved=*")
    await console.keep(page)
    second = await asyncio.to_thread(print_job, uri, document, name="after")
    after = await charged(store, second)
    assert after.price_gross is not None and after.cost_gross is not None
    assert f"{after.price_gross.quantize(Decimal('0.01'))} EUR" == preview_price
    assert f"{after.cost_gross.quantize(Decimal('0.01'))} EUR" == preview_cost
