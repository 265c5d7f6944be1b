"""The console's reports (/reports/) over the fixture of jobs with known figures
(tests/test_reports_fixture.py): the Summary's and the reports by name's figures equal the
hand computation on the page; a bad period is told beside its field; downloads and mail
(aiosmtpd) carry the same figures."""

from __future__ import annotations

import asyncio
import csv
import html
import io

import openpyxl

from gateway.runtime.console_settings import ConsoleSettings
from gateway.store.audit import Actor
from tests import test_reports_fixture as fx
from tests.harness import InProcess
from tests.snmp_peers import SmtpSink
from tests.test_console_reports_fixtures import WHOLE, by_first, download, post, table
from tests.web_client import WebClient

pytest_plugins = ("tests.test_console_reports_fixtures",)

# --- the pages equal the hand computation -------------------------------------------------


CASES = (
    (WHOLE, lambda s: True),
    ("period=dates&from=2026-01-01&to=2026-01-31", lambda s: s.day.month == 1),
    (WHOLE + "&target=group:plotters", lambda s: s.queue == "plotters"),
    (WHOLE + "&target=printer:laser", lambda s: s.printer == "laser"),
)


async def test_the_summary_page_shows_the_hand_figures(admin: WebClient) -> None:
    for query, where in CASES:
        reply = await admin.get(f"/reports/?{query}")
        assert reply.status == 200, reply.text[:500]
        specs = fx.selected(where=where)
        cost, price = fx.add_up(specs, "cost"), fx.add_up(specs, "price")
        counts = by_first(table(reply.text, "counts"))
        assert counts["Jobs"] == [f"{cost.jobs:,}"], query
        assert counts["Impressions"] == [f"{cost.impressions:,}"], query
        fees = by_first(table(reply.text, "fees"))
        assert fees["Net"] == [fx.money(cost.net), fx.money(price.net)], query
        assert fees["Tax"] == [fx.money(cost.tax), fx.money(price.tax)], query
        assert fees["Gross"] == [fx.money(cost.gross), fx.money(price.gross)], query
        assert fees["Total without tax"] == [fx.money(cost.net), fx.money(price.net)], query
        assert fees["Ink"] == [fx.money(cost.ink), fx.money(price.ink)], query
        # The pies of pages, area and ink, the coverage wheel, cost against price; their
        # colours as SVG attributes (the console's CSP refuses inline styles).
        assert reply.text.count('<svg role="img"') == 5
        assert ' style="' not in reply.text

    # "Include taxes" on.
    reply = await admin.get(f"/reports/?{WHOLE}&with_tax=on")
    cost, price = fx.add_up(fx.SPECS, "cost"), fx.add_up(fx.SPECS, "price")
    fees = by_first(table(reply.text, "fees"))
    assert fees["Total with tax"] == [fx.money(cost.gross), fx.money(price.gross)]


async def test_the_reports_by_name_show_the_hand_figures(admin: WebClient) -> None:
    for kind, attribute in (
        ("users", "user"),
        ("projects", "project"),
        ("departments", "department"),
    ):
        await _by_name(admin, kind, attribute)


async def _by_name(admin: WebClient, kind: str, attribute: str) -> None:
    reply = await admin.get(f"/reports/{kind}?{WHOLE}&fees=price&billable=billable")
    assert reply.status == 200, reply.text[:500]
    totals = by_first(table(reply.text, "by_name_totals"))
    billable = [s for s in fx.SPECS if s.billable]
    names = {getattr(s, attribute) for s in billable}
    for name in names:
        hand = fx.add_up([s for s in billable if getattr(s, attribute) == name], "price")
        label = name or "(none)"
        row = totals[label]
        assert row[0] == f"{hand.jobs:,}", name
        assert row[1] == f"{hand.impressions:,}", name
        assert row[-1] == fx.money(hand.net), name
    overall = fx.add_up(billable, "price")
    assert totals["Total"][-1] == fx.money(overall.net)
    assert "/console/jobs?" + attribute + "=" in reply.text  # each name opens its jobs
    assert table(reply.text, "by_name_print")  # the second table of the guide
    assert 'aria-label="By name' in reply.text  # the pie


async def test_a_bad_period_is_told_beside_its_field(admin: WebClient) -> None:
    reply = await admin.get("/reports/users?period=dates&from=2026-02-01&to=2026-01-01")
    assert reply.status == 400
    assert 'id="e-to"' in reply.text
    reply = await admin.get("/reports/?period=dates&from=yesterday")
    assert reply.status == 400 and 'id="e-to"' in reply.text


# --- files and mail -----------------------------------------------------------------------


async def test_downloads_carry_the_page_figures(admin: WebClient) -> None:
    hand = fx.add_up(fx.SPECS, "cost")
    status, body, kind = await download(admin, f"/reports/download/users.csv?{WHOLE}")
    assert status == 200 and kind.startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert next(r for r in rows if r and r[0] == "Total")[-1] == str(hand.net)
    status, body, kind = await download(admin, f"/reports/download/summary.xlsx?{WHOLE}")
    assert status == 200 and "spreadsheetml" in kind
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames
    status, body, kind = await download(admin, f"/reports/download/summary.pdf?{WHOLE}")
    assert status == 200 and body.startswith(b"%PDF") and kind == "application/pdf"
    status, body, _ = await download(admin, f"/reports/download/raw.csv?{WHOLE}")
    raw = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(raw) == len(fx.SPECS)
    status, _, _ = await download(admin, f"/reports/download/nothing.csv?{WHOLE}")
    assert status == 404


async def test_a_report_is_mailed_now(admin: WebClient, sink: SmtpSink, gw: InProcess) -> None:
    page = f"/reports/users?{WHOLE}"
    period = {"period": "dates", "from": "2026-01-01", "to": "2026-02-28"}
    fields = {"mail_to": "a@example.org; b@example.org", "pdf": "on", "xlsx": "on"}
    reply = await post(admin, "/reports/mail/users", page, period | fields)
    assert reply.status == 200, reply.text[:500]
    [message] = await asyncio.to_thread(sink.wait, 1, 30)
    assert message["To"] == "a@example.org, b@example.org"
    files = {str(p.get_filename()): p.get_payload(decode=True) for p in message.iter_attachments()}
    assert sorted(name.rsplit(".", 1)[1] for name in files) == ["pdf", "xlsx"]
    xlsx = next(body for name, body in files.items() if name.endswith(".xlsx"))
    assert isinstance(xlsx, bytes)
    cells = {
        c
        for row in openpyxl.load_workbook(io.BytesIO(xlsx))
        .worksheets[0]
        .iter_rows(values_only=True)
        for c in row
    }
    assert {"alice", "bob", "carol"} <= cells
    bad = await post(
        admin, "/reports/mail/users", page, period | {"mail_to": "nobody", "pdf": "on"}
    )
    assert bad.status == 400 and "nobody" in html.unescape(bad.text)
    assert len(sink.received()) == 1
    # Over the attachment limit: a notice goes, without the files (never a cut report).
    settings = ConsoleSettings(gw.gateway.jobs.store, gw.config)
    await settings.save(Actor.cli(), "settings.mail", "mail", {"mail.max_attachment_bytes": "1000"})
    reply = await post(admin, "/reports/mail/users", page, period | fields)
    assert reply.status == 200 and "larger than the mail attachment limit" in reply.text
    notices = await asyncio.to_thread(sink.wait, 2, 30)
    assert "too large to attach" in notices[-1]["Subject"]
    assert list(notices[-1].iter_attachments()) == []
