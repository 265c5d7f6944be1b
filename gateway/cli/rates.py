"""`printgate settings` and `printgate rates`: the accounting options and the per-model cost and
price tables, as SmartTracker's Options, Costs and Prices tabs keep them. Each change is in the
audit log as made from the CLI."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..accounting.costing import RateError, Settings
from ..accounting.rates import SETTING_KEYS, Rates
from ..config import load
from ..store.audit import Actor
from ..store.store import Store
from .common import CommandError, run


def _in_force(stored: dict[str, str]) -> dict[str, str]:
    """The settings as they apply: stored values, and the defaults of those never set."""
    settings = Settings.parse(stored)
    return {
        "cost_basis": settings.basis,
        "units": settings.units,
        "currency": settings.currency,
        "tax_rate": str(settings.tax_rate),
        "rates_include_tax": "true" if settings.rates_include_tax else "false",
    }


def _settings_show(args: argparse.Namespace) -> int:
    async def action(store: Store) -> dict[str, str]:
        return await Rates(store).settings()

    shown = _in_force(run(load(args.config), action))
    if args.json:
        print(json.dumps(shown, indent=1))
    else:
        for key, value in shown.items():
            print(f"{key} = {value}")
    return 0


def _settings_set(args: argparse.Namespace) -> int:
    async def action(store: Store) -> tuple[dict[str, str], dict[str, str]]:
        rates = Rates(store)
        before = await rates.settings()
        try:
            await rates.set_setting(args.key, args.value, actor=Actor.cli())
        except RateError as exc:
            raise CommandError(str(exc)) from exc
        return before, await rates.settings()

    before, after = run(load(args.config), action)
    was, now = _in_force(before)[args.key], _in_force(after)[args.key]
    print(f"{args.key} = {now}" + ("" if was == now else f" (was {was})"))
    return 0


def _read_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}: not JSON: {exc}") from exc


def _rates_import(args: argparse.Namespace) -> int:
    raw = _read_json(args.file)

    async def action(store: Store) -> int:
        try:
            return await Rates(store).load(raw, replace=args.replace, actor=Actor.cli())
        except RateError as exc:
            raise CommandError(f"{args.file}: {exc}") from exc

    count = run(load(args.config), action)
    print(f"{count} printer model(s) imported; new jobs are charged with these tables")
    return 0


def _rates_export(args: argparse.Namespace) -> int:
    async def action(store: Store) -> dict[str, Any]:
        return await Rates(store).export()

    print(json.dumps(run(load(args.config), action), indent=1, sort_keys=True))
    return 0


def _rates_remove(args: argparse.Namespace) -> int:
    async def action(store: Store) -> bool:
        return await Rates(store).remove(args.model, actor=Actor.cli())

    if not run(load(args.config), action):
        raise CommandError(f"no tables for the model {args.model!r}")
    print(f"the tables of {args.model} are removed")
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    settings = commands.add_parser(
        "settings", parents=[common], help="accounting options: basis, units, currency, tax"
    )
    sub = settings.add_subparsers(dest="settings_command", required=True)
    show = sub.add_parser("show", parents=[common], help="the settings in force")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_settings_show)
    change = sub.add_parser("set", parents=[common], help="change one setting")
    change.add_argument("key", choices=SETTING_KEYS)
    change.add_argument("value")
    change.set_defaults(func=_settings_set)

    rates = commands.add_parser(
        "rates", parents=[common], help="cost and price tables per printer model"
    )
    sub = rates.add_subparsers(dest="rates_command", required=True)
    importer = sub.add_parser(
        "import", parents=[common], help="load settings and tables from a JSON file (- = stdin)"
    )
    importer.add_argument("file")
    importer.add_argument(
        "--replace", action="store_true", help="models not in the file lose their tables"
    )
    importer.set_defaults(func=_rates_import)
    exporter = sub.add_parser("export", parents=[common], help="print settings and tables (JSON)")
    exporter.set_defaults(func=_rates_export)
    remover = sub.add_parser("remove", parents=[common], help="drop one model's tables")
    remover.add_argument("model")
    remover.set_defaults(func=_rates_remove)
