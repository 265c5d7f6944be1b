"""`printgate snmp ...` and `printgate mail test`: read one device, scan a network, list the
fleet, make the meter report, check the mail settings."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import SNMP_AUTH, SNMP_PRIV, load
from ..snmp.types import Credentials, SnmpError, Target
from .common import CommandError, run

if TYPE_CHECKING:
    from ..snmp import discovery

# The SNMP, report and mail modules are imported by the commands that use them (only the plain
# types above are not): pysnmp and openpyxl (with numpy) would add most of a second to every
# other printgate command.


def _credentials(args: argparse.Namespace) -> Credentials:
    if args.v3:
        if not args.user:
            raise CommandError("--v3 needs --user")
        if args.priv_protocol and not args.auth_protocol:
            raise CommandError("--priv-protocol needs --auth-protocol")
        return Credentials(
            version="3",
            user=args.user,
            auth_protocol=args.auth_protocol,
            auth_password=args.auth_password,
            priv_protocol=args.priv_protocol,
            priv_password=args.priv_password,
            context=args.context,
        )
    return Credentials(version=args.version, community=args.community)


def poll(args: argparse.Namespace) -> int:
    from ..snmp.client import SnmpClient, split_host_port
    from ..snmp.poller import read_device

    host, port = split_host_port(args.target, args.port)
    target = Target(host, port, _credentials(args))

    async def main() -> dict[str, Any]:
        client = SnmpClient(args.timeout, args.retries)
        try:
            return (await read_device(client, target)).to_json()
        except SnmpError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            client.close()

    found = asyncio.run(main())
    if args.json:
        print(json.dumps(found, indent=1))
        return 0
    print(f"{found['model']}  serial {found['serial']}  at {found['address']}")
    print(f"total {found['total']}  mono {found['mono']}  color {found['color']} {found['unit']}")
    print(f"status {found['status']}  errors {', '.join(found['errors']) or 'none'}")
    for supply in found["supplies"]:
        level = f"{supply['percent']}%" if supply["percent"] is not None else supply["state"]
        print(f"  {supply['description']}: {level}")
    return 0


def discover(args: argparse.Namespace) -> int:
    from ..snmp import discovery, records
    from ..snmp.client import SnmpClient

    try:
        discovery.hosts(args.cidr)
    except ValueError as exc:
        raise CommandError(f"{args.cidr}: {exc}") from exc
    credentials = Credentials(version=args.version, community=args.community)

    async def scan() -> list[discovery.Found]:
        client = SnmpClient(args.timeout, 1)
        try:
            return await discovery.scan(
                client, [args.cidr], args.port, credentials, args.timeout, args.concurrency
            )
        finally:
            client.close()

    found = asyncio.run(scan())
    printers = [f for f in found if f.is_printer or args.all]
    if args.add:
        config = load(args.config)

        async def add(store: Any) -> int:
            entries = [records.DeviceEntry(f.address, "discovered") for f in printers]
            return len(await records.ensure_devices(store, entries))

        added = run(config, add)
        print(f"{added} new devices recorded", file=sys.stderr)
    if args.json:
        print(json.dumps([_found_json(f) for f in printers], indent=1))
        return 0
    for item in printers:
        kind = "printer" if item.is_printer else "other"
        print(f"{item.address:<22} {kind:<8} {item.sys_descr}")
    return 0


def _found_json(found: discovery.Found) -> dict[str, Any]:
    return {
        "address": found.address,
        "host": found.host,
        "port": found.port,
        "sys_descr": found.sys_descr,
        "sys_object_id": found.sys_object_id,
        "printer": found.is_printer,
    }


def add(args: argparse.Namespace) -> int:
    """Manual add by host name or address."""
    from ..snmp import records
    from ..snmp.client import split_host_port

    config = load(args.config)
    host, port = split_host_port(args.target, config.snmp.port)

    async def action(store: Any) -> int:
        entry = records.DeviceEntry(f"{host}:{port}", "manual")
        return len(await records.ensure_devices(store, [entry]))

    added = run(config, action)
    print(f"{host}:{port} {'added' if added else 'is known already'}")
    return 0


def devices(args: argparse.Namespace) -> int:
    from ..snmp import report

    config = load(args.config)

    async def action(store: Any) -> list[dict[str, Any]]:
        rows = await report.rows_from_store(store, config.snmp)
        return [dict(zip(report.COLUMNS, r.values(), strict=True)) for r in rows]

    found = run(config, action)
    print(json.dumps(found, indent=1, default=str))
    return 0


def alerts(args: argparse.Namespace) -> int:
    """Alert episodes: the open ones, or all with --all."""
    from ..snmp import records

    config = load(args.config)

    async def action(store: Any) -> list[dict[str, Any]]:
        rows = await (records.all_alerts(store) if args.all else records.open_alerts(store))
        addresses = {d.id: d.address for d in await records.devices(store)}
        return [
            {
                "id": row.id,
                "device": addresses.get(row.device_id, ""),
                "kind": row.kind,
                "subject": row.subject,
                "message": row.message,
                "opened": row.opened_at.isoformat(timespec="seconds"),
                "closed": row.closed_at.isoformat(timespec="seconds") if row.closed_at else None,
                "mailed": row.mailed_at.isoformat(timespec="seconds") if row.mailed_at else None,
            }
            for row in rows
        ]

    found = run(config, action)
    if args.json:
        print(json.dumps(found, indent=1))
        return 0
    for alert in found:
        state = "closed" if alert["closed"] else "open"
        print(f"{alert['opened']}  {state:<6} {alert['message']}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    from ..runtime.mail import Mailer
    from ..snmp import report
    from ..snmp.client import SnmpClient
    from ..snmp.monitor import FleetMonitor

    config = load(args.config)

    async def action(store: Any) -> bytes:
        if args.poll:
            client = SnmpClient(config.snmp.timeout, config.snmp.retries)
            try:
                monitor = FleetMonitor(config, store, client, Mailer(config.mail))
                await monitor.sync_devices()
                await monitor.poll_all()
            finally:
                client.close()
        rows = await report.rows_from_store(store, config.snmp)
        return report.to_csv(rows) if args.format == "csv" else report.to_xlsx(rows)

    content = run(config, action)
    if args.output:
        Path(args.output).write_bytes(content)
    elif args.format == "xlsx" and sys.stdout.isatty():
        raise CommandError("an .xlsx report is binary: give --output FILE")
    else:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    return 0


def mail_test(args: argparse.Namespace) -> int:
    from ..runtime.mail import Mailer, MailError

    mailer = Mailer(load(args.config).mail)
    try:
        asyncio.run(mailer.test(args.to))
    except MailError as exc:
        raise CommandError(str(exc)) from exc
    print(f"test message sent to {args.to}")
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    snmp = commands.add_parser("snmp", parents=[common], help="printer fleet over SNMP")
    sub = snmp.add_subparsers(dest="snmp_command", required=True)

    access = argparse.ArgumentParser(add_help=False)
    access.add_argument("--version", choices=("1", "2c"), default="2c", help="SNMP v1 or v2c")
    access.add_argument("--community", default="public")
    access.add_argument("--timeout", type=float, default=2.0, help="seconds per try")

    one = sub.add_parser("poll", parents=[common, access], help="read one device now")
    one.add_argument("target", metavar="HOST[:PORT]")
    one.add_argument("--port", type=int, default=161, help="when HOST has no :PORT")
    one.add_argument("--retries", type=int, default=1)
    one.add_argument("--v3", action="store_true", help="SNMPv3 (with --user ...)")
    one.add_argument("--user", default="")
    one.add_argument("--auth-protocol", default="", type=str.upper, choices=SNMP_AUTH)
    one.add_argument("--auth-password", default="")
    one.add_argument("--priv-protocol", default="", type=str.upper, choices=SNMP_PRIV)
    one.add_argument("--priv-password", default="")
    one.add_argument("--context", default="", help="SNMPv3 context name")
    one.add_argument("--json", action="store_true")
    one.set_defaults(func=poll, timeout=2.0)

    scan = sub.add_parser("discover", parents=[common, access], help="scan a network")
    scan.add_argument("cidr", metavar="CIDR")
    scan.add_argument("--port", type=int, default=161)
    scan.add_argument("--concurrency", type=int, default=256)
    scan.add_argument("--all", action="store_true", help="list devices that are not printers")
    scan.add_argument("--add", action="store_true", help="record the printers found")
    scan.add_argument("--json", action="store_true")
    scan.set_defaults(func=discover, timeout=1.0)

    manual = sub.add_parser("add", parents=[common], help="add a device by name or address")
    manual.add_argument("target", metavar="HOST[:PORT]")
    manual.set_defaults(func=add)

    listing = sub.add_parser("devices", parents=[common], help="the fleet as JSON")
    listing.set_defaults(func=devices)

    shown = sub.add_parser("alerts", parents=[common], help="alert episodes (open ones)")
    shown.add_argument("--all", action="store_true", help="closed ones too")
    shown.add_argument("--json", action="store_true")
    shown.set_defaults(func=alerts)

    meters = sub.add_parser("report", parents=[common], help="the meter report")
    meters.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    meters.add_argument("--output", metavar="FILE")
    meters.add_argument("--poll", action="store_true", help="read every device first")
    meters.set_defaults(func=report_command)

    mail = commands.add_parser("mail", parents=[common], help="outgoing mail")
    mail_sub = mail.add_subparsers(dest="mail_command", required=True)
    test = mail_sub.add_parser("test", parents=[common], help="send a test message")
    test.add_argument("to", metavar="ADDRESS")
    test.set_defaults(func=mail_test)
