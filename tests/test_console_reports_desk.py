"""The report desk in the console: custom reports (panels added, reordered, deleted, saved
under a name, reopened; each account sees only its own), custom raw data (columns chosen,
renamed, ordered), schedules made from the console, and scopes: a bookkeeper limited by an
administrator (Preferences > Permissions) sees only that scope in every page, chart, export,
mail and schedule."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import timedelta

import openpyxl

from gateway.maintenance.report_schedules import ReportSchedules, schedules
from gateway.maintenance.report_scopes import stored_scope
from gateway.reports.scope import Scope
from gateway.runtime.console_settings import ConsoleSettings
from gateway.store.store import now
from tests import test_reports_fixture as fx
from tests.harness import InProcess
from tests.snmp_peers import SmtpSink
from tests.test_console_reports_fixtures import WHOLE, by_first, download, post, table
from tests.web_client import WebClient

pytest_plugins = ("tests.test_console_reports_fixtures",)
BRIDGE = [s for s in fx.SPECS if s.project == "Bridge"]


async def test_a_custom_report_is_built_reordered_saved_and_reopened(
    admin: WebClient, keeper: WebClient
) -> None:
    made = await post(
        admin, "/reports/custom/", "/reports/custom/", {"name": "Monthly", "dimension": "users"}
    )
    assert made.status == 303, made.text[:300]
    page = made.location
    panels = [
        {"display": "graphic", "family": "fees", "m_total": "on", "fees": "price"},
        {"display": "graphic", "family": "usage", "m_ink_ml": "on", "m_paper_area": "on"},
        {"display": "table", "family": "fees", "m_ink": "on", "m_total": "on"},
    ]
    for panel in panels:
        reply = await post(admin, f"{page}/panels", page, panel)
        assert reply.status == 303, reply.text[:300]
    shown = await admin.get(f"{page}?{WHOLE}")
    assert shown.text.count('class="custom-panel"') == 3
    assert shown.text.count('<svg role="img"') == 2  # a pie and bars; the third is a table
    totals = by_first(table(shown.text, "panel-2"))
    hand = fx.add_up(fx.SPECS, "cost")
    assert totals["Total"] == [fx.money(hand.ink), fx.money(hand.net)]
    # Reorder as the script does (the third first), then move with the no-script buttons.
    assert (await post(admin, f"{page}/order", page, {"order": "2,0,1"})).status == 303
    assert (await post(admin, f"{page}/panels/2/up", page, {})).status == 303
    order = re.findall(r"<h3>([^<]+)</h3>", (await admin.get(page)).text)
    assert order == ["Ink, Total (cost)", "Ink (ml), Paper used", "Total (price)"]
    bad = await post(admin, f"{page}/order", page, {"order": "0,0,1"})
    assert bad.status == 400
    empty = await post(admin, f"{page}/panels", page, {"display": "graphic", "family": "fees"})
    assert empty.status == 400 and 'id="e-measures"' in empty.text
    assert (await post(admin, f"{page}/panels/1/delete", page, {})).status == 303
    saved = await post(
        admin, f"{page}/settings", page, {"name": "Bridge people", "names": "alice, bob"}
    )
    assert saved.status == 303
    reopened = await admin.get(f"{page}?{WHOLE}")
    assert "Bridge people" in reopened.text and reopened.text.count('class="custom-panel"') == 2
    names = [row[0] for row in table(reopened.text, "panel-0")]
    assert names == sorted(names, key=lambda n: n == "Total") and "carol" not in names
    assert "Bridge people" in (await admin.get("/reports/custom/")).text
    # Another account neither sees nor opens it.
    assert "Bridge people" not in (await keeper.get("/reports/custom/")).text
    assert (await keeper.get(page)).status == 404
    assert (await post(admin, f"{page}/delete", page, {})).status == 303
    assert (await admin.get(page)).status == 404


async def test_custom_raw_data_has_the_chosen_columns(admin: WebClient) -> None:
    fields = {"name": "Who and what", "c_user": "on", "l_user": "Person", "p_user": "2"}
    fields |= {"c_price": "on", "l_price": "=Price", "p_price": "3", "c_id": "on", "p_id": "1"}
    reply = await post(admin, "/reports/raw/", "/reports/raw/", fields)
    assert reply.status == 303, reply.text[:300]
    design = reply.location.split("design=")[1].split("&")[0]
    status, body, _ = await download(admin, f"/reports/raw/{design}.csv?{WHOLE}")
    assert status == 200
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["id", "Person", "'=Price"]  # a formula-looking title is neutralised
    assert len(rows) == 1 + len(fx.SPECS)
    assert sorted(r[1] for r in rows[1:]) == sorted(s.user for s in fx.SPECS)
    status, body, _ = await download(admin, f"/reports/raw/{design}.xlsx?{WHOLE}")
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    assert sheet.max_row == 1 + len(fx.SPECS)
    nothing = await post(admin, "/reports/raw/", "/reports/raw/", {"name": "Empty"})
    assert nothing.status == 400 and 'id="e-columns"' in nothing.text


async def test_a_schedule_is_made_in_the_console(admin: WebClient, gw: InProcess) -> None:
    page = "/reports/schedules/"
    form = {"report": "users", "start_date": "2026-12-01", "start_time": "07:30"}
    form |= {"recurrence": "weekly", "recipients": "a@example.org; b@example.org", "pdf": "on"}
    assert (await post(admin, page, page, form)).status == 303
    [made] = await schedules(gw.gateway.jobs.store, None)
    assert (made.owner, made.spec.recurrence, made.spec.formats) == ("admin", "weekly", ("pdf",))
    assert made.next_run.astimezone().weekday() == 1  # 2026-12-01 is a Tuesday
    bad = await post(admin, page, page, form | {"recipients": "nobody", "start_time": "25:00"})
    assert bad.status == 400 and 'id="e-start_time"' in bad.text
    no_format = {k: v for k, v in form.items() if k != "pdf"}
    assert 'id="e-pdf"' in (await post(admin, page, page, no_format)).text
    listed = await admin.get(page)
    assert "a@example.org; b@example.org" in listed.text
    assert (await post(admin, f"{page}{made.id}/delete", page, {})).status == 303
    assert await schedules(gw.gateway.jobs.store, None) == []


# --- scopes -------------------------------------------------------------------------------


async def limit_keeper(admin: WebClient, fields: dict[str, str]) -> None:
    page = "/preferences/permissions/keeper/edit"
    reply = await post(admin, "/preferences/permissions/keeper/scope", page, fields)
    assert reply.status == 303, reply.text[:400]


async def test_an_administrator_limits_a_bookkeeper(admin: WebClient, gw: InProcess) -> None:
    await limit_keeper(admin, {"projects": "Bridge", "queues": "", "departments": ""})
    store = gw.gateway.jobs.store
    assert await stored_scope(store, "keeper") == Scope(projects=frozenset({"Bridge"}))
    page = "/preferences/permissions/keeper/edit"
    bad = await post(admin, "/preferences/permissions/keeper/scope", page, {"queues": "nowhere"})
    assert bad.status == 400 and 'id="e-queues"' in bad.text
    assert await stored_scope(store, "keeper") == Scope(projects=frozenset({"Bridge"}))
    await limit_keeper(admin, {"projects": "", "queues": "", "departments": ""})
    assert await stored_scope(store, "keeper") == Scope()


async def test_a_scoped_bookkeeper_sees_only_the_scope_everywhere(
    admin: WebClient, keeper: WebClient, gw: InProcess, sink: SmtpSink
) -> None:
    await limit_keeper(admin, {"projects": "Bridge"})
    mine = fx.add_up(BRIDGE, "cost")
    everyone = fx.add_up(fx.SPECS, "cost")
    # Pages and their charts.
    summary = await keeper.get(f"/reports/?{WHOLE}")
    assert by_first(table(summary.text, "counts"))["Jobs"] == [str(mine.jobs)]
    assert by_first(table(summary.text, "fees"))["Net"][0] == fx.money(mine.net)
    admin_summary = await admin.get(f"/reports/?{WHOLE}")
    assert by_first(table(admin_summary.text, "counts"))["Jobs"] == [str(everyone.jobs)]
    users = await keeper.get(f"/reports/users?{WHOLE}")
    names = {row[0] for row in table(users.text, "by_name_totals")} - {"Total"}
    assert names == {s.user for s in BRIDGE}
    projects = await keeper.get(f"/reports/projects?{WHOLE}")
    assert {row[0] for row in table(projects.text, "by_name_totals")} == {"Bridge", "Total"}
    assert "Tower" not in projects.text  # neither in the tables nor in the pie
    # Exports.
    _, body, _ = await download(keeper, f"/reports/download/projects.csv?{WHOLE}")
    assert "Tower" not in body.decode("utf-8-sig") and "Bridge" in body.decode("utf-8-sig")
    _, body, _ = await download(keeper, f"/reports/download/raw.csv?{WHOLE}")
    raw = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {r["project"] for r in raw} == {"Bridge"} and len(raw) == len(BRIDGE)
    _, body, _ = await download(keeper, f"/reports/download/projects.xlsx?{WHOLE}")
    cells = {
        c
        for row in openpyxl.load_workbook(io.BytesIO(body))
        .worksheets[0]
        .iter_rows(values_only=True)
        for c in row
    }
    assert "Bridge" in cells and "Tower" not in cells
    # Mail.
    period = {"period": "dates", "from": "2026-01-01", "to": "2026-02-28"}
    sent = await post(
        keeper,
        "/reports/mail/projects",
        f"/reports/projects?{WHOLE}",
        period | {"mail_to": "k@example.org", "xlsx": "on"},
    )
    assert sent.status == 200, sent.text[:300]
    [message] = await asyncio.to_thread(sink.wait, 1, 30)
    [attached] = [p.get_payload(decode=True) for p in message.iter_attachments()]
    assert isinstance(attached, bytes)
    cells = {
        c
        for row in openpyxl.load_workbook(io.BytesIO(attached))
        .worksheets[0]
        .iter_rows(values_only=True)
        for c in row
    }
    assert "Bridge" in cells and "Tower" not in cells
    # Schedule: made from the console, run by the service's desk under the keeper's scope.
    page = "/reports/schedules/"
    start = (now() - timedelta(days=1)).astimezone()
    form = {
        "report": "projects",
        "start_date": start.date().isoformat(),
        "start_time": start.strftime("%H:%M"),
    }
    form |= {"recurrence": "monthly", "recipients": "k@example.org", "xlsx": "on"}
    assert (await post(keeper, page, page, form)).status == 303
    store = gw.gateway.jobs.store
    [made] = await schedules(store, "keeper")
    desk = ReportSchedules(store, ConsoleSettings(store, gw.config), clock=lambda: made.next_run)
    assert await desk.run_due() == 1
    messages = await asyncio.to_thread(sink.wait, 2, 30)
    [attached] = [p.get_payload(decode=True) for p in messages[-1].iter_attachments()]
    assert isinstance(attached, bytes)
    cells = {
        c
        for row in openpyxl.load_workbook(io.BytesIO(attached))
        .worksheets[0]
        .iter_rows(values_only=True)
        for c in row
    }
    assert "Tower" not in cells
    # The admin's schedules page lists it with its owner; the keeper's page only their own.
    assert "keeper" in (await admin.get(page)).text
