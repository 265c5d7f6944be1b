"""DNS-SD as clients see it: ippfind (through avahi-daemon) lists every queue with the TXT keys
IPP Everywhere and AirPrint clients read, ipptool passes against the URI ippfind gives, a cupsd
adds that URI with `lpadmin -m everywhere` and prints through it; the TXT record follows the
printer's capabilities and the adverts go when printgate stops."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from gateway.addons.dnssd_txt import paper_max
from tests.peers import Cupsd, IppEvePrinter, Printgate, find_binary, free_port, wait_for

KEYS = (
    "txtvers", "qtotal", "rp", "ty", "adminurl", "note", "product", "pdl", "URF", "UUID",
    "Color", "Duplex", "TLS", "kind", "PaperMax", "priority", "air",
)  # fmt: skip


# Every DNS-SD wait polls for its condition within this bound: one ippfind of a few seconds can
# miss an advert Avahi is still probing or announcing (it failed once on a fresh clone).
BOUND = 30.0


def ippfind(service: str, port: int, *expression: str, seconds: float = 3) -> list[str]:
    argv = [find_binary("ippfind"), "-T", str(seconds), service, "--port", str(port), *expression]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return [line for line in result.stdout.splitlines() if line.strip()]


def found(service: str, port: int, seconds: float = 3) -> dict[str, dict[str, str]]:
    """Service name -> {"uri": ..., TXT key: value} for every advert on that port."""
    fields = "|".join(["{service_name}", "{service_uri}", *(f"{{txt_{k}}}" for k in KEYS)])
    out: dict[str, dict[str, str]] = {}
    for line in ippfind(service, port, "-x", "echo", fields, ";", seconds=seconds):
        name, uri, *values = line.split("|")
        out[name] = {"uri": uri, **dict(zip(KEYS, values, strict=True))}
    return out


def test_ippfind_lists_each_queue_and_cups_prints_through_the_uri_it_gives(
    printgate_factory: Callable[..., Printgate],
    ippeveprinter: IppEvePrinter,
    cupsd: Cupsd,
    tmp_pdf: Path,
) -> None:
    tag = uuid.uuid4().hex[:6]
    port, tls_port = free_port(), free_port()
    gw = printgate_factory(
        {
            # Listening on every address: ippfind's URIs name this host's mDNS name.
            "server": {
                "listen": [f"0.0.0.0:{port}"],
                "tls": True,
                "tls_listen": [f"0.0.0.0:{tls_port}"],
            },
            "jobs": {"printer_refresh_interval": 1.0},
            "dns_sd": {"advertise": True},
            "printers": [{"name": "eve", "uri": ippeveprinter.uri}],
            "queues": [
                {
                    "name": f"open-{tag}",
                    "printers": ["eve"],
                    "info": f"Open {tag}",
                    "location": "Hall",
                },
                {
                    "name": f"locked-{tag}",
                    "printers": ["eve"],
                    "auth": "password",
                    "info": f"Locked {tag}",
                },
            ],
        }
    )
    names = {f"Open {tag}", f"Locked {tag}"}
    adverts = wait_for(
        lambda: (a := found("_ipp._tcp", port)) and set(a) == names and a,
        BOUND,
        what="both queues",
    )
    open_q, locked = adverts[f"Open {tag}"], adverts[f"Locked {tag}"]
    assert open_q["rp"] == f"ipp/print/open-{tag}" and open_q["note"] == "Hall"
    assert open_q["air"] == "none" and locked["air"] == "username,password"
    assert open_q["txtvers"] == "1" and open_q["qtotal"] == "1" and open_q["priority"] == "0"
    assert "application/pdf" in open_q["pdl"].split(",")
    assert "application/octet-stream" not in open_q["pdl"]
    assert open_q["UUID"] and open_q["UUID"] != locked["UUID"]
    assert open_q["Color"] in "TF" and open_q["Duplex"] in "TF" and open_q["kind"]
    assert open_q["PaperMax"] in ("legal-A4", "tabloid-A3", "isoC-A2", ">isoC-A2")
    assert open_q["product"].startswith("(") and open_q["ty"]
    assert (
        open_q["adminurl"].endswith(f":{port}/queues/open-{tag}") or "https" in open_q["adminurl"]
    )
    assert open_q["TLS"] == ""  # the TLS key belongs to the _ipps record
    assert open_q["uri"].startswith("ipp://") and open_q["uri"].endswith(
        f":{port}/ipp/print/open-{tag}"
    )
    for service in ("_ipp._tcp,_print", "_ipp._tcp,_universal"):
        wait_for(
            lambda s=service: names <= set(ippfind(s, port, "-x", "echo", "{service_name}", ";")),
            BOUND,
            what=f"both queues under {service}",
        )

    secure = wait_for(
        lambda: (a := found("_ipps._tcp", tls_port)) and set(a) == names and a, BOUND, what="ipps"
    )
    assert secure[f"Open {tag}"]["TLS"] == "1.2"
    assert secure[f"Open {tag}"]["uri"].startswith("ipps://")

    # ippfind --exec ipptool passes for each queue, over ipp:// and ipps://.
    for service, on_port in (("_ipp._tcp", port), ("_ipps._tcp", tls_port)):
        wait_for(
            lambda s=service, p=on_port: set(
                ippfind(
                    s, p, "--exec", "ipptool", "-q", "{service_uri}",
                    "get-printer-attributes.test", ";", "-x", "echo", "{service_name}", ";",
                )
            ) == names,
            BOUND,
            what=f"ipptool passing on every queue found under {service}",
        )  # fmt: skip

    # A cupsd (no cups-browsed) adds the URI ippfind gave, driverless, and prints through it.
    cupsd.add_queue("found", open_q["uri"], model="everywhere")
    job = cupsd.lp("found", tmp_pdf)
    assert cupsd.wait_job_done("found", job, timeout=90)["job-state"] == "completed"
    ippeveprinter.wait_documents(1, timeout=60)

    # Capabilities change (the printer now takes PDF only): the TXT record follows.
    ippeveprinter.stop()
    ippeveprinter.formats = ("application/pdf",)
    ippeveprinter.start()
    wait_for(
        lambda: (
            "image/urf"
            not in found("_ipp._tcp", port).get(f"Open {tag}", {}).get("pdl", "image/urf")
        ),
        40,
        interval=0.5,
        what="re-announced pdl",
    )

    gw.stop()
    # Withdrawn: avahi sends the goodbyes at once; a cached copy lives at most a second more.
    wait_for(lambda: found("_ipp._tcp", port, seconds=1) == {}, 10, what="adverts withdrawn")


def test_paper_max_from_media_names() -> None:
    assert paper_max(["iso_a4_210x297mm", "na_letter_8.5x11in"]) == "legal-A4"
    assert paper_max(["iso_a3_297x420mm"]) == "tabloid-A3"
    assert paper_max(["iso_a2_420x594mm"]) == "isoC-A2"
    assert paper_max(["roll_max_36x1200in", "iso_a4_210x297mm"]) == ">isoC-A2"
    assert paper_max([]) == "legal-A4"


def test_without_avahi_zeroconf_advertises_and_printers_discover_finds_it(
    printgate_factory: Callable[..., Printgate], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    gw = printgate_factory(
        {
            "dns_sd": {"backend": "zeroconf"},
            "printers": [{"name": "v", "uri": (tmp_path / "out").as_uri()}],
            "queues": [{"name": f"zc-{tag}", "printers": ["v"], "info": f"Zeroconf {tag}"}],
        }
    )

    def discovered() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "printers", "discover", "--seconds", "3",
             "--config", str(gw.config_path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return next((x for x in result.stdout.splitlines() if f"Zeroconf {tag}" in x), "")

    line = wait_for(discovered, 30, interval=0.5, what="the zeroconf advert")
    assert line.startswith("ipp://") and f":{gw.port}/ipp/print/zc-{tag}" in line
