"""Printers and queues (printer groups) as the store keeps them: those provisioned from the
TOML (origin "config") and those made in the web console (origin "console"). Every change here
writes its audit entry in its own transaction: a change is never without its entry.

Validation is not done here (gateway/server/queues_rules.py does it against the live set);
these functions only write what they are given."""

from __future__ import annotations

import json
import uuid as uuidlib
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..config import PrinterConfig, QueueConfig, SnmpAccess
from .audit import Actor, record
from .models import (
    DepartmentRow,
    JobRow,
    PrinterRow,
    ProjectRow,
    QueueMemberRow,
    QueueRow,
    QueueUserRow,
    SnmpDeviceRow,
)
from .store import Store, now

CONFIG = "config"
CONSOLE = "console"
# The submission paths where a queue can ask for authentication (SmartTracker's touch
# points): IPP clients, web print, and the release page where held jobs are claimed.
TOUCH_POINTS = ("ipp", "web", "release")
SECRET = "(set)"  # what the audit log says of a password


@dataclass(frozen=True)
class SavedPrinter:
    config: PrinterConfig
    origin: str = CONSOLE


@dataclass(frozen=True)
class SavedGroup:
    config: QueueConfig
    uuid: str
    origin: str = CONSOLE
    touch_points: tuple[str, ...] = TOUCH_POINTS


@dataclass(frozen=True)
class Saved:
    """The console-made printers and groups, as the store has them."""

    printers: list[SavedPrinter]
    groups: list[SavedGroup]


# --- reading --------------------------------------------------------------------------------


async def load(store: Store) -> Saved:
    """The printers and groups made in the console, groups with their members in order."""

    async def fn(session: AsyncSession) -> Saved:
        printer_rows = await session.scalars(
            select(PrinterRow).where(PrinterRow.origin == CONSOLE).order_by(PrinterRow.name)
        )
        printers = [SavedPrinter(_printer_config(row), CONSOLE) for row in printer_rows]
        queue_rows = list(
            await session.scalars(
                select(QueueRow).where(QueueRow.origin == CONSOLE).order_by(QueueRow.name)
            )
        )
        members: dict[str, list[str]] = {}
        for member in await session.scalars(
            select(QueueMemberRow).order_by(QueueMemberRow.queue, QueueMemberRow.position)
        ):
            members.setdefault(member.queue, []).append(member.printer)
        groups = [
            SavedGroup(
                _queue_config(row, tuple(members.get(row.name, ()))),
                row.uuid,
                CONSOLE,
                split(row.touch_points),
            )
            for row in queue_rows
        ]
        return Saved(printers, groups)

    return await store.read(fn)


def split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def _printer_config(row: PrinterRow) -> PrinterConfig:
    return PrinterConfig(
        name=row.name,
        uri=row.uri,
        graceful_failover=row.graceful_failover,
        snmp=snmp_from_json(row.snmp),
    )


def _queue_config(row: QueueRow, printers: tuple[str, ...]) -> QueueConfig:
    return QueueConfig(
        name=row.name,
        printers=printers,
        auth=row.auth,
        require=split(row.require),
        allow_billable=row.allow_billable,
        allow_comment=row.allow_comment,
        info=row.info,
        location=row.location,
    )


def snmp_to_json(access: SnmpAccess | None) -> str:
    return "" if access is None else json.dumps(asdict(access), sort_keys=True)


def snmp_from_json(text: str) -> SnmpAccess | None:
    if not text:
        return None
    known = {f.name for f in fields(SnmpAccess)}
    data = {k: v for k, v in json.loads(text).items() if k in known}
    return SnmpAccess(**data)


# --- what the audit log shows -------------------------------------------------------------


def printer_audit(printer: PrinterConfig) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "name": printer.name,
        "uri": printer.uri,
        "graceful_failover": printer.graceful_failover,
    }
    if printer.snmp is not None:
        snmp = printer.snmp
        masked = replace(
            snmp,
            community=SECRET if snmp.community else "",
            auth_password=SECRET if snmp.auth_password else "",
            priv_password=SECRET if snmp.priv_password else "",
        )
        shown["snmp"] = asdict(masked)
    return shown


def group_audit(group: QueueConfig, touch_points: tuple[str, ...]) -> dict[str, Any]:
    return {**asdict(group), "touch_points": list(touch_points)}


# --- writing (each inside a Store.write, with its audit entry) -----------------------------


def _put_printer(session: Session, printer: PrinterConfig, origin: str) -> None:
    session.merge(
        PrinterRow(
            name=printer.name,
            uri=printer.uri,
            graceful_failover=printer.graceful_failover,
            origin=origin,
            snmp=snmp_to_json(printer.snmp),
        )
    )


def _put_members(session: Session, group: QueueConfig) -> None:
    session.execute(delete(QueueMemberRow).where(QueueMemberRow.queue == group.name))
    for position, printer in enumerate(group.printers):
        session.add(QueueMemberRow(queue=group.name, printer=printer, position=position))


def _apply_group(row: QueueRow, group: QueueConfig, touch_points: tuple[str, ...]) -> None:
    row.auth = group.auth
    row.require = ",".join(group.require)
    row.allow_billable = group.allow_billable
    row.allow_comment = group.allow_comment
    row.info = group.info
    row.location = group.location
    row.touch_points = ",".join(touch_points)
    row.origin = CONSOLE


def add_printer(session: Session, actor: Actor, printer: PrinterConfig) -> None:
    """A row left by a printer since removed from the TOML is taken over."""
    _put_printer(session, printer, CONSOLE)
    record(session, actor, "printer.add", printer.name, after=printer_audit(printer))


def edit_printer(
    session: Session, actor: Actor, before: PrinterConfig, after: PrinterConfig
) -> None:
    """A rename carries the printer's group memberships, its SNMP device and its jobs' record
    along, so its history stays its own."""
    if after.name != before.name:
        session.execute(delete(PrinterRow).where(PrinterRow.name == after.name))  # a stale row
        session.execute(delete(PrinterRow).where(PrinterRow.name == before.name))
        session.flush()
        session.execute(
            update(QueueMemberRow)
            .where(QueueMemberRow.printer == before.name)
            .values(printer=after.name)
        )
        session.execute(
            update(SnmpDeviceRow)
            .where(SnmpDeviceRow.printer == before.name)
            .values(printer=after.name)
        )
        session.execute(
            update(JobRow).where(JobRow.printer == before.name).values(printer=after.name)
        )
    _put_printer(session, after, CONSOLE)
    record(
        session,
        actor,
        "printer.edit",
        before.name,
        before=printer_audit(before),
        after=printer_audit(after),
    )


def remove_printer(session: Session, actor: Actor, printer: PrinterConfig) -> None:
    session.execute(delete(QueueMemberRow).where(QueueMemberRow.printer == printer.name))
    session.execute(delete(PrinterRow).where(PrinterRow.name == printer.name))
    record(session, actor, "printer.remove", printer.name, before=printer_audit(printer))


def add_group(
    session: Session, actor: Actor, group: QueueConfig, touch_points: tuple[str, ...]
) -> str:
    """The new group's printer-uuid. A row left by a queue since removed from the TOML is
    taken over, its uuid with it (clients that knew the queue know it again)."""
    row = session.get(QueueRow, group.name)
    if row is None:
        row = QueueRow(name=group.name, uuid=f"urn:uuid:{uuidlib.uuid4()}", created_at=now())
        session.add(row)
    _apply_group(row, group, touch_points)
    _put_members(session, group)
    record(session, actor, "group.add", group.name, after=group_audit(group, touch_points))
    return row.uuid


def edit_group(
    session: Session,
    actor: Actor,
    before: QueueConfig,
    before_touch: tuple[str, ...],
    after: QueueConfig,
    after_touch: tuple[str, ...],
) -> str:
    """The group's printer-uuid, which a rename keeps. A rename carries the queue's lists
    (users, projects, departments) and its jobs' record along."""
    row = session.get(QueueRow, before.name)
    if row is None:
        raise LookupError(before.name)
    if after.name != before.name:
        stale = session.get(QueueRow, after.name)
        if stale is not None:
            session.delete(stale)
        session.execute(delete(QueueMemberRow).where(QueueMemberRow.queue == before.name))
        session.flush()
        row.name = after.name
        for table in (QueueUserRow, ProjectRow, DepartmentRow):
            session.execute(
                update(table).where(table.queue == before.name).values(queue=after.name)
            )
        session.execute(update(JobRow).where(JobRow.queue == before.name).values(queue=after.name))
    _apply_group(row, after, after_touch)
    _put_members(session, after)
    record(
        session,
        actor,
        "group.edit",
        before.name,
        before=group_audit(before, before_touch),
        after=group_audit(after, after_touch),
    )
    return row.uuid


def delete_group(
    session: Session, actor: Actor, group: QueueConfig, touch_points: tuple[str, ...]
) -> None:
    """The queue's lists and its jobs' record stay (the Database panel's clean-up removes
    what is no longer wanted)."""
    session.execute(delete(QueueMemberRow).where(QueueMemberRow.queue == group.name))
    session.execute(delete(QueueRow).where(QueueRow.name == group.name))
    record(session, actor, "group.delete", group.name, before=group_audit(group, touch_points))


__all__ = [
    "CONFIG",
    "CONSOLE",
    "TOUCH_POINTS",
    "Saved",
    "SavedGroup",
    "SavedPrinter",
    "add_group",
    "add_printer",
    "delete_group",
    "edit_group",
    "edit_printer",
    "load",
    "remove_printer",
]
