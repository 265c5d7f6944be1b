"""A job printed through a queue to ippeveprinter comes out with its measurement, cost and price
on its record, from the tables in force when it printed; a document that cannot be measured
prints anyway and its record says why."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import text

from gateway.ipp import Op, Tag
from gateway.ipp import model as m
from tests.ipp_call import ipp, ipp_http, job_value
from tests.peers import IppEvePrinter, Printgate, find_binary, wait_for
from tests.test_credentials import printgate_cli, recorded
from tests.web_client import SyncWebClient

A4_M2 = (210 / 1000) * (297 / 1000)


def text_and_photo_pdf(path: Path) -> Path:
    """Page 1: black text (DeviceGray); page 2: a full-bleed colour fill."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setFillGray(0)
    pdf.setFont("Helvetica", 10)
    for line in range(40):
        pdf.drawString(60, 780 - line * 16, f"Accounting gateway test page, line {line}")
    pdf.showPage()
    pdf.setFillColorRGB(0.1, 0.4, 0.8)
    pdf.rect(0, 0, A4[0], A4[1], fill=1, stroke=0)
    pdf.showPage()
    pdf.save()
    return path


def rates(model: str, price_per_m2: str) -> dict[str, Any]:
    lines = ("mono_lines", "color_lines", "low_density", "high_density")
    return {
        "settings": {"currency": "EUR", "tax_rate": "21", "units": "metric"},
        "models": {
            model: {
                "ml_per_m2": {"c": 10, "m": 10, "y": 10, "k": 10},
                "cost": {
                    "lines": {
                        "mono_lines": {"ml": "0.50"},
                        "high_density": {"area_printed": "2.00"},
                    },
                    "media": {"stationery": "0.40"},
                    "service": "0.10",
                },
                "price": {"lines": {n: {"area_printed": price_per_m2} for n in lines}},
            },
            "*": {"price": {"lines": {n: {"area_printed": "100"} for n in lines}}},
        },
    }


def import_rates(gw: Printgate, tmp_path: Path, body: dict[str, Any]) -> None:
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(body))
    printgate_cli(gw, "rates", "import", str(path))


def submit(gw: Printgate, document: bytes, mime: str, *job: m.Attribute) -> int:
    status, reply = ipp_http(
        gw.queue_uri("office"),
        Op.PRINT_JOB,
        m.mime("document-format", mime),
        job=job,
        document=document,
    )
    assert status == 200 and reply is not None, status
    job_id = job_value(reply, "job-id")
    assert isinstance(job_id, int)
    return job_id


def settled(gw: Printgate, job_id: int, key: str) -> dict[str, Any]:
    """The job's record once it has printed and `key` ("charge" or "analysis") is filled."""
    return wait_for(
        lambda: (
            (job := recorded(gw, job_id))["state"] == "completed"
            and job[key]
            and job[key].get("status") != "pending"
            and job
        ),
        60,
        what=f"job {job_id} printed with its {key}",
    )


@pytest.fixture
def gateway(printgate_factory: Callable[..., Printgate], ippeveprinter: IppEvePrinter) -> Printgate:
    return printgate_factory(
        {
            "printers": [{"name": "eve", "uri": ippeveprinter.uri}],
            "queues": [{"name": "office", "printers": ["eve"]}],
        }
    )


def test_a_printed_job_carries_measurement_cost_and_price(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_path: Path
) -> None:
    attributes = ipp(gateway.queue_uri("office"), Op.GET_PRINTER_ATTRIBUTES).group(Tag.PRINTER)
    assert attributes is not None
    model = attributes.get("printer-make-and-model")
    assert model is not None and model.text()
    import_rates(gateway, tmp_path, rates(model.text() or "", price_per_m2="3.00"))

    pdf = text_and_photo_pdf(tmp_path / "job.pdf").read_bytes()
    first = submit(gateway, pdf, "application/pdf", m.integer("copies", 2))
    job = settled(gateway, first, "charge")
    assert ippeveprinter.documents(), "the job reached the printer"

    measured = job["analysis"]
    assert (measured["pages"], measured["impressions"], measured["sheets"]) == (2, 4, 4)
    assert (measured["color_impressions"], measured["mono_impressions"]) == (2, 2)
    assert {name: c["impressions"] for name, c in measured["categories"].items()} == {
        "mono_lines": 2,
        "high_density": 2,
    }
    # The text page is black ink only; the colour fill is C and M, no K or little.
    coverage = measured["coverage"]
    assert 0.3 < coverage["c"] < 0.6 and coverage["y"] == 0
    assert measured["area_printed_m2"] == pytest.approx(4 * A4_M2, rel=1e-3)
    assert measured["area_used_m2"] == pytest.approx(4 * A4_M2, rel=1e-3)

    charge = job["charge"]
    assert charge["printer_model"] == model.text() and charge["currency"] == "EUR"
    # Cost: the colour sides 2 x 0.06237 m² x 2.00 = 0.25; the text sides' ink (K coverage x
    # area x 10 ml/m² x 0.50) from the measured coverage; paper 4 x 0.06237 m² x 0.40 = 0.10;
    # service 0.10; 21 % tax on top.
    cost = charge["cost"]["breakdown"]
    mono_ml = 2 * coverage["k"] * 2 * A4_M2 * 10  # both pages' mean K, over 4 sides
    assert cost["lines"]["high_density"]["amount"] == "0.25"
    assert float(cost["ink_ml"]["k"]) == pytest.approx(mono_ml, rel=0.01)
    assert (cost["paper"], cost["service"]) == ("0.10", "0.10")
    net = sum(float(cost[k]) for k in ("ink", "paper", "service"))
    assert float(charge["cost"]["net"]) == pytest.approx(net)
    assert float(charge["cost"]["gross"]) == pytest.approx(round(net * 1.21, 2))
    # Price, the model's own table (not "*"): each line rounded, 2 x 0.06237 m² x 3.00 = 0.3742
    # -> 0.37 for the text sides and the same for the colour ones; 21 % tax on 0.74 = 0.16.
    assert charge["price"]["net"] == "0.74" and charge["price"]["gross"] == "0.90"

    printgate_cli(
        gateway, "admin", "add", "book", "--role", "bookkeeper", "--email", "b@example.org",
        "--password-stdin", password="a long bookkeeper password",
    )  # fmt: skip
    web = SyncWebClient(gateway.base_url)
    web.sign_in("book", "a long bookkeeper password")
    _status, page = web.get("/console/queues/office")
    assert "0.90 EUR" in page and "4 (2)" in page  # the queue page shows the job's charge

    # New tables price new jobs only.
    import_rates(gateway, tmp_path, rates(model.text() or "", price_per_m2="6.00"))
    second = submit(gateway, pdf, "application/pdf", m.integer("copies", 2))
    assert settled(gateway, second, "charge")["charge"]["price"]["net"] == "1.50"
    assert recorded(gateway, first)["charge"]["price"]["net"] == "0.74"


def test_a_truncated_pdf_prints_and_its_record_says_why(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_path: Path
) -> None:
    pdf = text_and_photo_pdf(tmp_path / "whole.pdf").read_bytes()
    job_id = submit(gateway, pdf[: len(pdf) // 2], "application/pdf")
    job = settled(gateway, job_id, "analysis")
    assert job["state"] == "completed" and ippeveprinter.documents()
    assert job["analysis"]["status"] == "failed"
    assert "truncated PDF" in job["analysis"]["error"]
    assert job["charge"] is None


def pwg_raster(pdf: Path, out: Path) -> bytes:
    """8-bit sRGB PWG raster (Ghostscript's default is 1-bit black)."""
    subprocess.run(
        [find_binary("gs"), "-q", "-dBATCH", "-dNOPAUSE", "-dSAFER", "-sDEVICE=pwgraster",
         "-dcupsColorSpace=19", "-dcupsBitsPerColor=8", "-r50", f"-sOutputFile={out}", str(pdf)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return out.read_bytes()


def test_a_corrupt_raster_prints_and_its_record_says_why(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_path: Path
) -> None:
    raster = pwg_raster(text_and_photo_pdf(tmp_path / "doc.pdf"), tmp_path / "doc.pwg")
    job_id = submit(gateway, raster[: len(raster) * 2 // 3], "image/pwg-raster")
    job = settled(gateway, job_id, "analysis")
    assert job["state"] == "completed" and ippeveprinter.documents()
    assert job["analysis"]["status"] == "failed" and job["analysis"]["error"]


def test_a_gzip_compressed_raster_is_measured(
    gateway: Printgate, ippeveprinter: IppEvePrinter, tmp_path: Path
) -> None:
    raster = pwg_raster(text_and_photo_pdf(tmp_path / "doc.pdf"), tmp_path / "doc.pwg")
    status, reply = ipp_http(
        gateway.queue_uri("office"),
        Op.PRINT_JOB,
        m.mime("document-format", "image/pwg-raster"),
        m.keyword("compression", "gzip"),
        document=gzip.compress(raster),
    )
    assert status == 200 and reply is not None
    job = settled(gateway, job_value(reply, "job-id"), "analysis")  # type: ignore[arg-type]
    assert job["analysis"]["status"] == "done", job["analysis"]
    assert (job["analysis"]["pages"], job["analysis"]["color_impressions"]) == (2, 1)


def forget_charge(gw: Printgate, job_id: int) -> None:
    """As if printgate had stopped between recording the job printed and charging it."""
    from gateway.config import load
    from gateway.store.db import create_engine

    async def run() -> None:
        engine = create_engine(load(str(gw.config_path)).database_url)
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE jobs SET costed_at = NULL, price = NULL WHERE id = :id"),
                {"id": job_id},
            )
        await engine.dispose()

    asyncio.run(run())


def test_a_charge_cut_short_by_a_stop_is_made_at_the_next_start(
    gateway: Printgate, tmp_path: Path
) -> None:
    # The printer's model has no tables here: the "*" ones, 100 a m², price its two A4 sides
    # 6.24 each.
    import_rates(gateway, tmp_path, rates("no such model", price_per_m2="1.00"))
    job_id = submit(gateway, text_and_photo_pdf(tmp_path / "a.pdf").read_bytes(), "application/pdf")
    assert settled(gateway, job_id, "charge")["charge"]["price"]["net"] == "12.48"
    gateway.stop()
    forget_charge(gateway, job_id)
    assert recorded(gateway, job_id)["charge"] is None
    gateway.start()
    assert settled(gateway, job_id, "charge")["charge"]["price"]["net"] == "12.48"


def test_the_printer_models_conversion_is_the_one_used(gateway: Printgate, tmp_path: Path) -> None:
    """The first test's model converts through ICC (no yellow in that blue); with "fast",
    Ghostscript's plain complement, the blue fill (0.1, 0.4, 0.8) takes Y = 0.2."""
    attributes = ipp(gateway.queue_uri("office"), Op.GET_PRINTER_ATTRIBUTES).group(Tag.PRINTER)
    assert attributes is not None
    model = (attributes.get("printer-make-and-model") or m.text("x", "")).text() or ""
    body = rates(model, price_per_m2="1.00")
    body["models"][model]["conversion"] = "fast"
    import_rates(gateway, tmp_path, body)
    pdf = text_and_photo_pdf(tmp_path / "job.pdf").read_bytes()
    job = settled(gateway, submit(gateway, pdf, "application/pdf"), "analysis")
    coverage = job["analysis"]["coverage"]  # the mean of the text page and the blue one
    assert coverage["y"] == pytest.approx(0.1, abs=0.005)
    assert coverage["c"] == pytest.approx(0.45, abs=0.005)
