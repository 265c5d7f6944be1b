"""`printgate report summary|users|projects|departments|raw|reconciliation`: a report over a
period as PDF, XLSX, CSV or JSON, to a file, standard output or mail; `printgate report
rebuild`: the roll-ups recomputed from the recorded jobs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO

from ..accounting import rollups
from ..config import Config, load
from ..reports.by_name import ByNameOptions
from ..reports.mailing import AddressError, addresses, mail_report
from ..reports.period import PRESETS, Period, PeriodError, between, preset
from ..reports.render import FORMATS, REPORT_KINDS, ReportRequest, render_many, write_report
from ..reports.scope import ALL_PRINTERS, Target
from ..runtime.console_settings import ConsoleSettings
from ..runtime.mail import MailError
from ..store.store import Store
from .common import CommandError, run

BINARY = ("pdf", "xlsx")


def _period(args: argparse.Namespace) -> Period:
    try:
        if args.period:
            if args.since or args.until:
                raise CommandError("give --period or --from/--to, not both")
            return preset(args.period)
        if not (args.since and args.until):
            raise CommandError("give --from and --to (dates such as 2026-03-31), or --period")
        return between(args.since, args.until)
    except PeriodError as exc:
        raise CommandError(str(exc)) from exc


def _target(args: argparse.Namespace) -> Target:
    if args.queue and args.printer:
        raise CommandError("give --queue or --printer, not both")
    if args.queue:
        return Target("group", args.queue)
    if args.printer:
        return Target("printer", args.printer)
    return ALL_PRINTERS


def _request(args: argparse.Namespace) -> ReportRequest:
    names = frozenset(args.name) if args.name else None
    if names is not None and args.report not in ("users", "projects", "departments"):
        raise CommandError("--name goes with users, projects or departments")
    return ReportRequest(
        kind=args.report,
        period=_period(args),
        target=_target(args),
        options=ByNameOptions(billable=args.billable, fees=args.fees, with_tax=args.tax),
        names=names,
    )


def report(args: argparse.Namespace) -> int:
    config = load(args.config)
    request = _request(args)
    fmt = args.format or ("pdf" if args.mail else "csv")
    recipients: tuple[str, ...] = ()
    if args.mail:
        try:
            recipients = addresses(args.mail)
        except AddressError as exc:
            raise CommandError(f"--mail: {exc}") from exc
    if not args.output and not args.mail and fmt in BINARY and sys.stdout.isatty():
        raise CommandError(f"a {fmt.upper()} file is binary: give --output FILE")

    async def action(store: Store) -> str:
        settings = ConsoleSettings(store, config)
        logo = await settings.logo()
        if args.output:
            with _open(args.output) as out:
                await write_report(store, request, fmt, out, logo)
        elif not args.mail:
            await write_report(store, request, fmt, sys.stdout.buffer, logo)
        if recipients:
            return await _mail(settings, store, request, fmt, recipients, logo)
        return ""

    message = run(config, action)
    if message:
        print(message, file=sys.stderr)
    return 0


def _open(path: str) -> IO[bytes]:
    try:
        return Path(path).open("wb")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from exc


async def _mail(
    settings: ConsoleSettings,
    store: Store,
    request: ReportRequest,
    fmt: str,
    recipients: tuple[str, ...],
    logo: bytes | None,
) -> str:
    files = await render_many(store, request, [fmt], logo)
    title = f"printgate {request.kind} report, {request.period.label}"
    try:
        sent = await mail_report(await settings.mailer(), recipients, title, files)
    except MailError as exc:
        raise CommandError(f"the report could not be mailed: {exc}") from exc
    if not sent.attached:
        return (
            f"mailed a notice to {', '.join(sent.to)}: the report ({sent.size} bytes) is over "
            "the mail attachment limit"
        )
    return f"mailed to {', '.join(sent.to)}"


def rebuild(args: argparse.Namespace) -> int:
    config: Config = load(args.config)

    async def action(store: Store) -> int:
        return await store.write(rollups.rebuild)

    counted = run(config, action)
    print(f"report roll-ups rebuilt from {counted} printed jobs")
    return 0


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    group = commands.add_parser("report", parents=[common], help="reports over a period")
    kinds = group.add_subparsers(dest="report", required=True)
    for kind in REPORT_KINDS:
        parser = kinds.add_parser(kind, parents=[common], help=f"the {kind} report")
        parser.add_argument("--from", dest="since", metavar="DATE", help="first day, 2026-03-01")
        parser.add_argument("--to", dest="until", metavar="DATE", help="last day, included")
        parser.add_argument("--period", choices=PRESETS, help="a named period instead of dates")
        parser.add_argument("--queue", help="one printer group (queue) only")
        parser.add_argument("--printer", help="one printer only")
        parser.add_argument("--format", choices=FORMATS, help="default: csv (pdf with --mail)")
        parser.add_argument("--output", metavar="FILE", help="write here (default: stdout)")
        parser.add_argument("--mail", metavar="ADDRS", help='mail to "a@x.org; b@y.org"')
        parser.add_argument(
            "--billable", choices=("billable", "non-billable", "both"), default="both"
        )
        parser.add_argument("--fees", choices=("cost", "price"), default="cost")
        parser.add_argument("--tax", action="store_true", help="amounts with tax")
        parser.add_argument("--name", action="append", help="only this name (repeatable)")
        parser.set_defaults(func=report)
    again = kinds.add_parser("rebuild", parents=[common], help="recompute the roll-ups")
    again.set_defaults(func=rebuild)
