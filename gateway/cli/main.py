"""The `printgate` command. Every subcommand takes --config; errors are one line on stderr."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..config import ConfigError, load
from .errors import CommandError

# Each command group's module, in the order `printgate --help` lists them, and the commands
# each defines. Running a command imports its module alone: importing them all (aiohttp,
# SQLAlchemy, LDAP, SNMP, the analysers) takes seconds, and a CLI should answer at once.
GROUPS = {
    "admin": ("admin",),
    "lists": ("user", "project", "department"),
    "jobs": ("jobs",),
    "analyze": ("analyze",),
    "rates": ("settings", "rates"),
    "snmp": ("snmp", "mail"),
    "backup": ("backup", "restore"),
    "check": ("check", "printers"),
    "report": ("report",),
}
MODULE_OF = {command: module for module, commands in GROUPS.items() for command in commands}


def _serve(args: argparse.Namespace) -> int:
    from ..service import serve

    return serve(load(args.config))


def _modules_for(argv: Sequence[str]) -> Sequence[str]:
    """The command modules the parser needs for these arguments: the named command's alone,
    none for `serve`, every one for --help or a command it does not know."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command == "serve":
        return ()
    if command in MODULE_OF:
        return (MODULE_OF[command],)
    return tuple(GROUPS)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
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
    for name in _modules_for(argv):
        importlib.import_module(f"{__package__}.{name}").register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(arguments).parse_args(arguments)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        code = func(args)
        sys.stdout.flush()  # here, where a closed pipe can still be caught
        return code
    except (ConfigError, CommandError) as exc:
        print(f"printgate: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        return 130


def _reader_gone() -> int:
    """The reader of our output left (`printgate analyze FILE | head`): end quietly, as tools
    killed by SIGPIPE do. Standard output now points at /dev/null, so that Python's own flush
    at exit does not fail again and print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141  # 128 + SIGPIPE, what the shell reports for such a tool
