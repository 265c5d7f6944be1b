"""The live set of printers and queues (gateway/server/queues_live.py) through its own API,
against a whole printgate in the test's process: console-made printers and groups are served
at once, kept in the store and served again after a restart with their printer-uuid; the
TOML wins a name; touch points decide which paths ask for credentials; deleting a group
cancels its unfinished jobs; rules refuse what the config would refuse."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.config import PrinterConfig, QueueConfig, SnmpAccess
from gateway.ipp import JobState, Op, Status
from gateway.ipp import model as m
from gateway.server.queues_live import LiveQueues, at
from gateway.server.queues_rules import Invalid, printer_uri
from gateway.store import printer_setup
from gateway.store.audit import Actor, AuditFilter, entries
from tests.harness import InProcess, in_process
from tests.ipp_call import ipp_http

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ADMIN = Actor("admin", "console")


def live_of(gw: InProcess) -> LiveQueues:
    assert gw.gateway.live_queues is not None
    return gw.gateway.live_queues


def virtual(gw: InProcess, name: str) -> PrinterConfig:
    return PrinterConfig(name, (gw.config.server.data_dir / f"out-{name}").as_uri())


def toml(tmp_path: Path, **extra: object) -> dict[str, object]:
    out = (tmp_path / "printgate-data" / "out").as_uri()
    return {
        "printers": [{"name": "virtual", "uri": out}],
        "queues": [{"name": "demo", "printers": ["virtual"]}],
        **extra,
    }


async def submit(gw: InProcess, queue: str, **options: object) -> tuple[int, int | None]:
    status, reply = await asyncio.to_thread(
        ipp_http,
        gw.queue_uri(queue),
        Op.PRINT_JOB,
        m.mime("document-format", "application/pdf"),
        document=PDF,
        **options,  # type: ignore[arg-type]
    )
    return status, reply.code if reply is not None else None


async def test_console_groups_are_served_kept_and_served_again_after_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    async with in_process(tmp_path, database_url, **toml(tmp_path)) as gw:
        live = live_of(gw)
        snmp = SnmpAccess(version="3", user="ops", auth_protocol="SHA", auth_password="secret1")
        await live.add_printer(
            ADMIN, PrinterConfig("second", virtual(gw, "second").uri, False, snmp), new_group="hall"
        )
        assert await submit(gw, "hall") == (200, Status.OK)
        await live.edit_group(
            ADMIN,
            "hall",
            QueueConfig("hall", ("virtual", "second"), info="Hall", allow_comment=True),
            ("ipp",),
        )
        uuid = gw.gateway.queues["hall"].uuid
        assert gw.gateway.dispatcher.queues["hall"].printers == ("virtual", "second")
        assert gw.gateway.desk.queues["hall"].allow_comment
        assert gw.gateway.desk.graceful["hall"] is True  # the primary is now "virtual"
        audit = await entries(gw.gateway.jobs.store, AuditFilter(target="second"))
        assert audit[0].after["snmp"]["auth_password"] == "(set)"  # never the secret itself

    async with in_process(tmp_path, database_url, **toml(tmp_path)) as gw:
        live = live_of(gw)
        assert gw.gateway.queues["hall"].uuid == uuid
        hall = live.group("hall")
        assert hall is not None and not hall.locked and hall.touch_points == ("ipp",)
        assert hall.config.printers == ("virtual", "second") and hall.config.info == "Hall"
        second = live.printer("second")
        assert second is not None and second.printer.config.snmp == snmp
        assert not second.printer.config.graceful_failover and second.groups == ("hall",)
        assert await submit(gw, "hall") == (200, Status.OK)


async def test_the_toml_wins_a_name_the_console_used(tmp_path: Path, database_url: str) -> None:
    async with in_process(tmp_path, database_url, **toml(tmp_path)) as gw:
        await live_of(gw).add_group(ADMIN, QueueConfig("plotters", ("virtual",), auth="password"))
    tables = toml(tmp_path)
    tables["queues"] = [*tables["queues"], {"name": "plotters", "printers": ["virtual"]}]  # type: ignore[misc]
    async with in_process(tmp_path, database_url, **tables) as gw:
        plotters = live_of(gw).group("plotters")
        assert plotters is not None and plotters.locked and plotters.config.auth == "none"
        with pytest.raises(Invalid) as refused:
            await live_of(gw).delete_group(ADMIN, "plotters")
        assert refused.value.problems[0].code == "locked"
    saved = await _saved(tmp_path, database_url)
    assert [g.config.name for g in saved.groups] == []


async def _saved(tmp_path: Path, database_url: str) -> printer_setup.Saved:
    async with in_process(tmp_path, database_url, **toml(tmp_path)) as gw:
        return await printer_setup.load(gw.gateway.jobs.store)


async def test_touch_points_decide_which_paths_ask_for_credentials(
    tmp_path: Path, database_url: str
) -> None:
    async with in_process(tmp_path, database_url, **toml(tmp_path)) as gw:
        live = live_of(gw)
        group = QueueConfig("locked", ("virtual",), auth="password", require=("project",))
        await live.add_group(ADMIN, group, ("ipp", "web", "release"))
        assert (await submit(gw, "locked"))[0] == 401
        await live.edit_group(ADMIN, "locked", group, ("web",))  # IPP clients print freely
        assert await submit(gw, "locked") == (200, Status.OK)
        release = live.for_touch_point("locked", "release")
        assert release is not None and release.auth == "username" and release.require == ()
        assert live.for_touch_point("locked", "web") == group
        assert at(group, ("ipp",), "web").auth == "none"


async def test_deleting_a_group_cancels_its_unfinished_jobs(
    tmp_path: Path, database_url: str
) -> None:
    async with in_process(tmp_path, database_url, **toml(tmp_path)) as gw:
        live = live_of(gw)
        await live.add_group(ADMIN, QueueConfig("held", ("virtual",), auth="username"))
        # No user name at all: held for credentials, waiting on the release page.
        status, reply = await asyncio.to_thread(
            ipp_http, gw.queue_uri("held"), Op.PRINT_JOB, document=PDF, user=""
        )
        assert status == 200 and reply is not None and reply.code < 0x100
        (job,) = [j for j in gw.gateway.jobs.active.values() if j.queue == "held"]
        assert job.state == JobState.PENDING_HELD
        assert await live.delete_group(ADMIN, "held") == 1
        assert job.state == JobState.CANCELED and "held" not in gw.gateway.dispatcher.queues
        assert "held" not in gw.gateway.desk.queues
        assert (await submit(gw, "held"))[1] == Status.NOT_FOUND


async def test_printers_are_renamed_with_their_groups_and_kept_while_in_use(
    tmp_path: Path, database_url: str
) -> None:
    async with in_process(tmp_path, database_url, **toml(tmp_path)) as gw:
        live = live_of(gw)
        await live.add_printer(ADMIN, virtual(gw, "a"), new_group="ga")
        await live.edit_printer(ADMIN, "a", PrinterConfig("b", virtual(gw, "b").uri))
        assert "a" not in gw.gateway.dispatcher.printers
        assert gw.gateway.queues["ga"].printers[0].name == "b"
        assert gw.gateway.dispatcher.queues["ga"].printers == ("b",)
        with pytest.raises(Invalid) as refused:
            await live.remove_printer(ADMIN, "b")
        assert (refused.value.problems[0].code, refused.value.problems[0].detail) == (
            "in-use",
            "ga",
        )
        with pytest.raises(Invalid) as locked:
            await live.edit_printer(ADMIN, "virtual", virtual(gw, "virtual"))
        assert locked.value.problems[0].code == "locked"
        await live.delete_group(ADMIN, "ga")
        await live.remove_printer(ADMIN, "b")
        assert "b" not in gw.gateway.dispatcher.printers
        assert [e.printer.name for e in live.printer_entries()] == ["virtual"]


async def test_rules_refuse_what_the_config_refuses(tmp_path: Path, database_url: str) -> None:
    assert printer_uri("10.0.0.5") == "ipp://10.0.0.5/ipp/print"
    assert printer_uri("ipps://p:8443/ipp/print") == "ipps://p:8443/ipp/print"
    async with in_process(tmp_path, database_url, **toml(tmp_path)) as gw:
        live = live_of(gw)
        bad = [
            (PrinterConfig("x y", "ipp://h/"), {"name": "name-format"}),
            (PrinterConfig("Guest", "ipp://h/"), {"name": "name-reserved"}),
            (PrinterConfig("virtual", "ipp://h/"), {"name": "name-taken"}),
            (PrinterConfig("p", "lpd://h/"), {"uri": "uri-scheme"}),
            (PrinterConfig("p", "ipp:///x"), {"uri": "uri-host"}),
            (PrinterConfig("p", "file:///tmp/elsewhere"), {"uri": "uri-file"}),
            (PrinterConfig("p", "ipp://h/", snmp=SnmpAccess(version="3")), {"snmp_user": ""}),
        ]
        for printer, expected in bad:
            with pytest.raises(Invalid) as refused:
                await live.add_printer(ADMIN, printer)
            codes = {f: p.code for f, p in refused.value.by_field().items()}
            assert set(expected) <= set(codes), (printer, codes)
            assert all(not code or codes[f] == code for f, code in expected.items()), codes
        for group, field in [
            (QueueConfig("g", ()), "printers"),
            (QueueConfig("g", ("nope",)), "printers"),
            (QueueConfig("g", ("virtual", "virtual")), "printers"),
            (QueueConfig("g", ("virtual",), auth="magic"), "auth"),
            (QueueConfig("g", ("virtual",), require=("cost-centre",)), "require"),
            (QueueConfig("g", ("virtual",), info="a\x00b"), "info"),
        ]:
            with pytest.raises(Invalid) as refused:
                await live.add_group(ADMIN, group)
            assert field in refused.value.by_field(), (group, refused.value)
        assert set(gw.gateway.queues) == {"demo"} and set(live.printers) == {"virtual"}
