"""IPP clients printgate's authors did not write, each printing a PDF through a printgate queue
in front of a real ippeveprinter and reading Get-Jobs: Home Assistant's pyipp (which also shows
the queue's state and its members' supply levels, CUPS' marker-* attributes), npm's `ipp` on
Node (its request bodies are chunked) and a Go client on OpenPrinting's goipp.

A missing interpreter, compiler or library fails these tests with the install command; none is
ever skipped. The pure mapping of supplies to markers (gateway/server/member_markers.py) is
checked at the end against the cases ippeveprinter does not produce.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyipp import IPP
from pyipp.enums import IppOperation

from gateway.config import PrinterConfig
from gateway.ipp import Tag
from gateway.ipp import model as m
from gateway.printers.state import Printer
from gateway.printers.virtual import FilePrinter
from gateway.server.member_markers import Marker, markers_of, member_supply_attributes
from tests.peers import REPO_ROOT, IppEvePrinter, PeerError, Printgate, make_pdf

CLIENTS = REPO_ROOT / "tests" / "clients"
NODE_CLIENT = CLIENTS / "node" / "print_and_list.js"
GO_CLIENT = CLIENTS / "go" / "main.go"
GOPATH = Path("/usr/share/gocode")  # where Debian's golang-*-dev packages put their sources
JOB_SECONDS = 60.0  # bound on a job's way through printgate to ippeveprinter and back
COMPLETED = 9


@dataclass
class Site:
    gw: Printgate
    eve: IppEvePrinter
    eve2: IppEvePrinter
    base: Path

    @property
    def office(self) -> str:
        """A queue of one printer, `eve`."""
        return self.gw.queue_uri("office")

    @property
    def pair(self) -> str:
        """A queue of two printers, `eve` then `eve2`."""
        return self.gw.queue_uri("pair")

    def pdf(self, client: str) -> Path:
        """A PDF of its own for each client, so the document ippeveprinter got tells who sent it."""
        return make_pdf(self.base / f"{client}.pdf", pages=1, text=f"printed by {client}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, dns_sd: None) -> Iterator[Site]:
    """One printgate for the module (its start takes seconds), with two ippeveprinters. The
    database does not matter here: the PostgreSQL pass leaves these tests to the SQLite one."""
    base = tmp_path_factory.mktemp("independent")
    tag = uuid.uuid4().hex[:6]
    eve = IppEvePrinter(f"indep-{tag}", base_dir=base / "eve").start()
    eve2 = IppEvePrinter(f"indep2-{tag}", base_dir=base / "eve2").start()
    config = {
        "printers": [{"name": "eve", "uri": eve.uri}, {"name": "eve2", "uri": eve2.uri}],
        "queues": [
            {"name": "office", "printers": ["eve"], "auth": "none"},
            {"name": "pair", "printers": ["eve", "eve2"], "auth": "none"},
        ],
    }
    gw = Printgate(config, base / "printgate")
    try:
        gw.start()
        yield Site(gw, eve, eve2, base)
    finally:
        gw.stop()
        eve.stop()
        eve2.stop()


def _program(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PeerError(
            f"'{name}' is not installed: apt-get install -y {package} "
            "(bash scripts/test.sh installs every package the tests need)"
        )
    return path


# --- what ippeveprinter itself says, for comparison ---------------------------------------


def _supplies_of(printer: IppEvePrinter) -> list[dict[str, str]]:
    """The printer's own printer-supply values (PWG 5100.13) with their descriptions."""
    answer = printer.get_printer_attributes().group("printer")
    values = answer.get("printer-supply", [])
    names = answer.get("printer-supply-description", [])
    assert values and len(values) == len(names), f"ippeveprinter reports no supplies: {answer}"
    supplies = []
    for raw, name in zip(values, names, strict=True):
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        fields = dict(item.split("=", 1) for item in text.split(";") if "=" in item)
        supplies.append({**fields, "name": name})
    return supplies


def _expected_marker(supply: dict[str, str], prefix: str = "") -> dict[str, Any]:
    """What CUPS would show for this supply: percent left, a waste tank by the room it has."""
    percent = int(supply["level"]) * 100 // int(supply["maxcapacity"])
    if supply["class"] == "receptacleThatIsFilled":
        percent = 100 - percent
    kinds = {"toner": "toner", "wasteToner": "waste-toner", "ink": "ink"}
    colors = {"black": "#000000", "cyan": "#00FFFF", "magenta": "#FF00FF", "yellow": "#FFFF00"}
    return {
        "name": prefix + supply["name"],
        "level": percent,
        "marker_type": kinds[supply["type"]],
        "color": colors.get(supply["colorantname"], "none"),
        "low_level": 10,
        "high_level": 100,
    }


def _marker_view(marker: Any) -> dict[str, Any]:
    keys = ("name", "level", "marker_type", "color", "low_level", "high_level")
    return {key: getattr(marker, key) for key in keys}


def _documents_after(printer: IppEvePrinter, before: int) -> list[bytes]:
    return [path.read_bytes() for path in printer.wait_documents(before + 1, JOB_SECONDS)[before:]]


def _check_listed(answer: dict[str, Any], job_id: int, name: str, user: str) -> None:
    """Get-Jobs (which-jobs=completed) as the client decoded it shows our job, completed."""
    jobs = {int(job["job-id"]): job for job in answer["jobs"]}
    assert job_id in jobs, f"job {job_id} missing from Get-Jobs: {answer}"
    job = jobs[job_id]
    assert job["job-name"] == name
    assert job["job-state"] in (COMPLETED, "completed")
    assert job["job-originating-user-name"] == user


# --- pyipp (Home Assistant) ---------------------------------------------------------------


async def test_pyipp_sees_the_queue_state_and_its_printers_supplies(site: Site) -> None:
    async with IPP(site.office) as client:
        printer = await client.printer()
    assert printer.state.printer_state == "idle"
    assert printer.info.printer_name == "office"
    assert site.office in printer.info.printer_uri_supported
    expected = sorted(
        (_expected_marker(s) for s in _supplies_of(site.eve)), key=lambda k: str(k["name"])
    )
    assert [_marker_view(k) for k in printer.markers] == expected

    # A queue of two printers shows the supplies of both, each named after its printer.
    async with IPP(site.pair) as client:
        pair = await client.printer()
    both = [_expected_marker(s, "eve: ") for s in _supplies_of(site.eve)]
    both += [_expected_marker(s, "eve2: ") for s in _supplies_of(site.eve2)]
    assert [_marker_view(k) for k in pair.markers] == sorted(both, key=lambda k: str(k["name"]))


async def test_pyipp_prints_a_pdf_and_finds_it_in_get_jobs(site: Site) -> None:
    pdf = site.pdf("pyipp").read_bytes()
    before = len(site.eve.documents())
    user, name = "ha user", "Home Assistant page"
    async with IPP(site.office) as client:
        printed = await client.execute(
            IppOperation.PRINT_JOB,
            {
                "operation-attributes-tag": {
                    "requesting-user-name": user,
                    "job-name": name,
                    "document-format": "application/pdf",
                },
                "data": pdf,
            },
        )
        assert printed["status-code"] == 0, printed
        job_id = int(printed["jobs"][0]["job-id"])

        async def state() -> int:
            answer = await client.execute(
                IppOperation.GET_JOB_ATTRIBUTES,
                {
                    "operation-attributes-tag": {
                        "requesting-user-name": user,
                        "job-id": job_id,
                        "requested-attributes": ["job-state"],
                    }
                },
            )
            return int(answer["jobs"][0]["job-state"])

        async with asyncio.timeout(JOB_SECONDS):
            while True:
                if await state() == COMPLETED:
                    break
                await asyncio.sleep(0.1)

        listed = await client.execute(
            IppOperation.GET_JOBS,
            {
                "operation-attributes-tag": {
                    "requesting-user-name": user,
                    "which-jobs": "completed",
                    "requested-attributes": [
                        "job-id",
                        "job-name",
                        "job-state",
                        "job-originating-user-name",
                    ],
                }
            },
        )
    assert listed["status-code"] == 0, listed
    _check_listed(listed, job_id, name, user)
    assert await asyncio.to_thread(_documents_after, site.eve, before) == [pdf]


# --- npm ipp (Node) -----------------------------------------------------------------------


def _node_client() -> list[str]:
    node = _program("node", "nodejs")
    if not (CLIENTS / "node" / "node_modules" / "ipp" / "package.json").exists():
        raise PeerError(
            "npm's ipp is not installed for tests/clients/node: "
            "npm ci --prefix tests/clients/node (Debian packages nodejs npm)"
        )
    return [node, str(NODE_CLIENT)]


def test_node_ipp_prints_a_chunked_pdf_and_finds_it_in_get_jobs(site: Site) -> None:
    command = _node_client()
    pdf = site.pdf("node")
    before = len(site.eve.documents())
    answer = _run_client([*command, site.office, str(pdf), "node user", "node page"])
    assert answer["framing"] == "chunked", answer  # what this client is here to prove
    assert answer["print"]["status"] == "successful-ok", answer
    assert answer["final-state"] == "completed", answer
    assert answer["get-jobs"]["status"] == "successful-ok", answer
    _check_listed(answer["get-jobs"], answer["print"]["job-id"], "node page", "node user")
    assert _documents_after(site.eve, before) == [pdf.read_bytes()]


# --- goipp (Go) ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def go_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go client, built once per session, offline: GOPATH mode on Debian's sources."""
    go = _program("go", "golang-go")
    if not (GOPATH / "src" / "github.com" / "OpenPrinting" / "goipp").is_dir():
        raise PeerError(
            "goipp is not installed: apt-get install -y golang-github-openprinting-goipp-dev"
        )
    out = tmp_path_factory.mktemp("go-client")
    binary = out / "printgate-go-client"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(out / "cache"),
        "GOPROXY": "off",
        "GOFLAGS": "",
    }
    built = subprocess.run(
        [go, "build", "-o", str(binary), str(GO_CLIENT)],
        cwd=GO_CLIENT.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, f"go build failed:\n{built.stderr}"
    return binary


def test_go_goipp_prints_a_pdf_and_finds_it_in_get_jobs(site: Site, go_client: Path) -> None:
    pdf = site.pdf("go")
    before = len(site.eve.documents())
    answer = _run_client([str(go_client), site.office, str(pdf), "gopher", "go page"])
    assert answer["print"]["status"] == 0, answer
    assert answer["final-state"] == COMPLETED, answer
    assert answer["get-jobs"]["status"] == 0, answer
    _check_listed(answer["get-jobs"], answer["print"]["job-id"], "go page", "gopher")
    assert _documents_after(site.eve, before) == [pdf.read_bytes()]


def _run_client(argv: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [*argv, str(JOB_SECONDS)],
        capture_output=True,
        text=True,
        timeout=JOB_SECONDS + 30,
        check=False,
    )
    assert done.returncode == 0, f"{argv[0]} failed ({done.returncode}):\n{done.stderr}"
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


# --- the mapping itself, on what ippeveprinter does not send ------------------------------


def _member(name: str, *attributes: m.Attribute) -> Printer:
    """A member printer that has answered with `attributes` (none: not reached yet)."""
    uri = "file:///nonexistent/printgate-test"
    printer = Printer(PrinterConfig(name=name, uri=uri), FilePrinter(uri))
    printer.attributes = m.group(Tag.PRINTER, attributes) if attributes else None
    return printer


def _supply(*values: str) -> m.Attribute:
    return m.attr("printer-supply", Tag.OCTET_STRING, *(v.encode() for v in values))


def test_supplies_become_markers_with_special_levels_and_colours() -> None:
    group = m.group(
        Tag.PRINTER,
        [
            _supply(
                "index=1;class=supplyThatIsConsumed;type=inkCartridge;unit=percent;"
                "maxcapacity=-2;level=40;colorantname=cyan magenta yellow;",
                "index=2;class=supplyThatIsConsumed;type=tonerCartridge;unit=impressions;"
                "maxcapacity=12000;level=-3;colorantname=black;",
                "index=3;class=other;type=opc;unit=impressions;maxcapacity=-2;level=500;",
            ),
            m.text("printer-supply-description", "Colour", "Black", ""),
        ],
    )
    assert markers_of(group) == [
        Marker("Colour", "#00FFFF#FF00FF#FFFF00", 40, "ink-cartridge"),
        Marker("Black", "#000000", -3, "toner-cartridge"),
        Marker("opc", "none", -2, "opc"),
    ]


def test_a_printers_own_markers_win_and_members_are_merged() -> None:
    own = _member(
        "cups",
        m.name_("marker-names", "Black"),
        m.name_("marker-colors", "#000000"),
        m.integer("marker-levels", 55),
        m.keyword("marker-types", "toner"),
        m.integer("marker-low-levels", 15),
        _supply("index=1;class=supplyThatIsConsumed;type=toner;maxcapacity=100;level=99;"),
        m.text("printer-supply-description", "Black"),
    )
    other = _member(
        "eve",
        _supply("index=1;class=receptacleThatIsFilled;type=wasteToner;maxcapacity=200;level=50;"),
        m.text("printer-supply-description", "Waste"),
    )
    attributes = {a.name: a.python_values() for a in member_supply_attributes([own, other])}
    assert attributes["marker-names"] == ["cups: Black", "eve: Waste"]
    assert attributes["marker-levels"] == [55, 75]
    assert attributes["marker-low-levels"] == [15, 10]
    assert attributes["marker-high-levels"] == [100, 100]
    assert attributes["marker-types"] == ["toner", "waste-toner"]
    assert attributes["printer-supply-description"] == ["cups: Black", "eve: Waste"]
    assert [v[:8] for v in attributes["printer-supply"]] == [b"index=1;", b"index=2;"]
    # A queue whose members have said nothing about supplies advertises none.
    quiet = _member("quiet", m.keyword("printer-state-reasons", "none"))
    assert member_supply_attributes([quiet, _member("new")]) == []
