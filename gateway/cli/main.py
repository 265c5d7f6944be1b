"""The `printgate` command. Every subcommand takes --config; errors are one line on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..config import ConfigError, load
from . import analyze as analysis_cli
from . import backup as backup_cli
from . import check as check_cli
from . import lists as store_commands
from . import rates as rates_cli
from . import snmp as snmp_commands
from .lists import CommandError


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
    store_commands.register(commands, common)
    analysis_cli.register(commands, common)
    rates_cli.register(commands, common)
    snmp_commands.register(commands, common)
    backup_cli.register(commands, common)
    check_cli.register(commands, common)
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
