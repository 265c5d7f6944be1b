"""`printgate check [PRINTER] [--bundle FILE]` and `printgate printers discover`."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

from ..addons.dnssd import browse
from ..config import ConfigError, config_path, load
from ..maintenance.check import Result, run_checks
from .common import CommandError

# Values that must not leave the machine in a support bundle.
_SECRET_KEY = re.compile(
    r"""^(\s*(?:[A-Za-z_]*(?:password|secret|token|passphrase)[A-Za-z_]*|community|auth_key|"""
    r"""priv_key)\s*=\s*)("[^"]*"|'[^']*')""",
    re.MULTILINE,
)
_INLINE_SECRET = re.compile(
    r"""((?:community|auth_key|priv_key|password)\s*=\s*)("[^"]*"|'[^']*')"""
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s\"']+:)([^@\s\"']+)(@)")
JOURNAL_LINES = "20000"


def redact(text: str) -> str:
    text = _SECRET_KEY.sub(r'\1"<redacted>"', text)
    text = _INLINE_SECRET.sub(r'\1"<redacted>"', text)
    return _URL_PASSWORD.sub(r"\1<redacted>\3", text)


def check(args: argparse.Namespace) -> int:
    try:
        config = load(args.config)
    except ConfigError as exc:
        results = [Result(False, "config", str(exc))]
    else:
        if args.printer and all(p.name != args.printer for p in config.printers):
            raise CommandError(f"no printer {args.printer!r} in {config.source}")
        results = asyncio.run(run_checks(config, args.printer))
    lines = [r.line() for r in results]
    print("\n".join(lines), flush=True)
    if args.bundle:
        _bundle(Path(args.bundle), args.config, lines)
        print(f"support bundle written to {args.bundle}")
    return 0 if all(r.ok for r in results) else 1


def _bundle(target: Path, config_arg: str | None, lines: list[str]) -> None:
    members: dict[str, bytes] = {"check.txt": ("\n".join(lines) + "\n").encode()}
    source = config_path(config_arg)
    if source is not None and source.exists():
        members["printgate-redacted.toml"] = redact(source.read_text()).encode()
    members["journal.txt"] = _journal()
    try:
        with tarfile.open(target, "w:gz") as archive:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(data), int(time.time())
                archive.addfile(info, io.BytesIO(data))
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _journal() -> bytes:
    """printgate's own log lines from the journal (it logs to stdout/stderr under systemd)."""
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        return b"journalctl not available: attach printgate's standard error output instead\n"
    result = subprocess.run(
        [journalctl, "-u", "printgate", "-n", JOURNAL_LINES, "--no-pager", "-o", "short-iso"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return redact((result.stdout or result.stderr).decode(errors="replace")).encode()


def discover(args: argparse.Namespace) -> int:
    found = asyncio.run(browse(args.seconds))
    if not found:
        print(f"no IPP printers answered within {args.seconds:g} s")
        return 0
    for printer in sorted(found, key=lambda f: (f.name, f.service_type)):
        model = printer.txt.get("ty", "")
        print(f"{printer.uri}  {printer.name!r}  {model}".rstrip())
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "check", parents=[common], help="diagnostics: one line per check, non-zero on failure"
    )
    parser.add_argument("printer", nargs="?", help="check only this printer")
    parser.add_argument(
        "--bundle", metavar="FILE", help="also write the checks, logs and redacted config"
    )
    parser.set_defaults(func=check)
    printers = commands.add_parser("printers", parents=[common], help="printers on the network")
    sub = printers.add_subparsers(dest="printers_command", required=True)
    finder = sub.add_parser(
        "discover", parents=[common], help="list IPP printers advertised over DNS-SD"
    )
    finder.add_argument("--seconds", type=float, default=3.0, help="how long to listen")
    finder.set_defaults(func=discover)
