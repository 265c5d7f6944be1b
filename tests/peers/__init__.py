"""Real peers on loopback: ippeveprinter, a private cupsd, printgate itself, and helpers.

Every peer runs on a free port in its own temporary directory and is stopped by PID. The API is
synchronous so pytest fixtures (tests/conftest.py) and benchmark scripts (bench/) can both use
it; nothing here imports pytest.

A missing program is never a reason to skip: `PeerError` names the Debian package to install
(scripts/test.sh installs them all).

One module per concern: `process` (errors, programs, ports, child processes), `ipp_wire` (a
minimal IPP client), `dns_sd` (D-Bus and Avahi), `ippeveprinter`, `cupsd`, `printgate`,
`toml_writer`, and `tools` (ipptool, PDFs, `started`). Import from `tests.peers` itself.
"""

from tests.peers.cupsd import Cupsd
from tests.peers.dns_sd import ensure_dns_sd
from tests.peers.ipp_wire import JOB_STATES, OPERATIONS, IppResponse, ipp_request
from tests.peers.ippeveprinter import DEFAULT_FORMATS, IppEvePrinter
from tests.peers.printgate import Printgate
from tests.peers.process import (
    DEBIAN_PACKAGE,
    REPO_ROOT,
    PeerError,
    _Process,
    find_binary,
    free_port,
    wait_for,
)
from tests.peers.toml_writer import toml_dumps
from tests.peers.tools import ipptool, make_pdf, started

__all__ = [
    "DEBIAN_PACKAGE",
    "DEFAULT_FORMATS",
    "JOB_STATES",
    "OPERATIONS",
    "REPO_ROOT",
    "Cupsd",
    "IppEvePrinter",
    "IppResponse",
    "PeerError",
    "Printgate",
    "_Process",
    "ensure_dns_sd",
    "find_binary",
    "free_port",
    "ipp_request",
    "ipptool",
    "make_pdf",
    "started",
    "toml_dumps",
    "wait_for",
]
