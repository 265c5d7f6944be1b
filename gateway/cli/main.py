"""The `printgate` command. Every subcommand takes --config; errors are one line on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..config import ConfigError, load
from . import admin, analyze, backup, check, jobs, lists, rates, snmp
from .common import CommandError


def _serve(args: argparse.Namespace) -> int:
    from ..service import serve

    return serve(load(args.config))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="printgate", description=__doc__)
    parser.add_argument("--version", action="version", version=f"printgate {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $PRINTGATE_CONFIG, /etc/printgate/printgate.toml, "
        "else the embedded default in ./printgate-data)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", parents=[common], help="run the gateway in the foreground")
    serve.set_defaults(func=_serve)
    # One group a module, in the order `printgate --help` lists them.
    admin.register(commands, common)
    lists.register(commands, common)
    jobs.register(commands, common)
    analyze.register(commands, common)
    rates.register(commands, common)
    snmp.register(commands, common)
    backup.register(commands, common)
    check.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (ConfigError, CommandError) as exc:
        print(f"printgate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
