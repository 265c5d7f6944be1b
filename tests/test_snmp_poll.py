"""`printgate snmp poll` and `printgate snmp discover` against snmpsim serving printer
recordings: what comes back is what the recording says (acceptance 1)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from tests.peers import REPO_ROOT
from tests.snmp_peers import SnmpSim, free_udp_port, hp_printer


def printgate(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
    )


def poll_json(*args: str) -> dict[str, Any]:
    result = printgate("snmp", "poll", *args, "--json")
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_poll_returns_what_the_recording_says(snmpsim_factory: Callable[..., SnmpSim]) -> None:
    # Door open (bit 4) and input tray missing (bit 8): octets 0x08 0x80.
    sim = snmpsim_factory(hp_printer(errors="0880", black="450", black_max="9000"))
    found = poll_json(sim.address)
    assert found["model"] == "HP Color LaserJet MFP M480f"
    assert found["serial"] == "CNB1234567"
    assert (found["total"], found["mono"], found["color"]) == (12000, 9000, 3000)
    assert found["unit"] == "impressions"
    assert found["status"] == "idle"
    assert found["errors"] == ["doorOpen", "inputTrayMissing"]
    assert found["location"] == "Room 204"
    supplies = {s["description"]: s for s in found["supplies"]}
    assert supplies["Black Cartridge HP 212X"] == {
        "description": "Black Cartridge HP 212X",
        "type": "tonerCartridge",
        "class": "consumed",
        "level": 450,
        "max": 9000,
        "percent": 5,
        "state": "ok",
    }
    # -3: "some remaining", no percentage; -2 capacity: unknown; the waste toner is a
    # receptacle.
    assert supplies["Cyan Cartridge HP 212X"]["percent"] is None
    assert supplies["Cyan Cartridge HP 212X"]["state"] == "some-remaining"
    assert supplies["Toner Collection Unit"]["class"] == "receptacle"
    assert supplies["Fuser Kit"]["type"] == "fuser"
    assert supplies["Fuser Kit"]["percent"] == 85
    assert found["alerts"][0]["description"] == "Black cartridge low"
    assert found["alerts"][0]["severity"] == "warning"


def test_poll_over_v1_and_v3_reads_the_same(snmpsim_factory: Callable[..., SnmpSim]) -> None:
    sim = snmpsim_factory(hp_printer())
    v2c = poll_json(sim.address)
    v1 = poll_json(sim.address, "--version", "1")
    v3 = poll_json(
        sim.address,
        "--v3",
        "--user",
        sim.v3_user,
        "--auth-protocol",
        "SHA",
        "--auth-password",
        sim.v3_auth_key,
        "--priv-protocol",
        "AES",
        "--priv-password",
        sim.v3_priv_key,
        "--context",
        "public",
    )
    by_name = poll_json(f"localhost:{sim.port}")  # a host name, resolved for each poll
    for found in (v1, v3, by_name):
        assert found["serial"] == v2c["serial"]
        assert found["supplies"] == v2c["supplies"]
        assert (found["mono"], found["color"]) == (9000, 3000)


def test_wrong_v3_password_and_silent_host_are_one_line_errors(
    snmpsim_factory: Callable[..., SnmpSim],
) -> None:
    sim = snmpsim_factory(hp_printer())
    wrong = printgate(
        "snmp",
        "poll",
        sim.address,
        "--v3",
        "--user",
        sim.v3_user,
        "--auth-protocol",
        "SHA",
        "--auth-password",
        "not-the-secret",
        "--timeout",
        "0.5",
    )
    assert wrong.returncode != 0
    assert len(wrong.stderr.strip().splitlines()) == 1
    silent = printgate("snmp", "poll", f"127.0.0.1:{free_udp_port()}", "--timeout", "0.3")
    assert silent.returncode != 0
    assert silent.stderr.strip() == silent.stderr.strip().splitlines()[0]
    assert "no answer" in silent.stderr


def test_rising_counter_is_read_as_it_rises(snmpsim_factory: Callable[..., SnmpSim]) -> None:
    sim = snmpsim_factory(hp_printer(life="65:numeric|initial=5000,rate=100"))
    first = poll_json(sim.address)["total"]
    time.sleep(1.5)
    second = poll_json(sim.address)["total"]
    assert 5000 <= first < second


ROUTER = "1.3.6.1.2.1.1.1.0|4|Linux router 6.1\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10\n"


def test_discover_tells_printers_from_other_agents(
    snmpsim_factory: Callable[..., SnmpSim],
) -> None:
    port = free_udp_port("127.0.1.2")
    printer_a = snmpsim_factory(hp_printer(), host="127.0.1.2", port=port)
    printer_b = snmpsim_factory(hp_printer(serial="B2"), host="127.0.1.3", port=port)
    router = snmpsim_factory(ROUTER, host="127.0.1.4", port=port)
    result = printgate("snmp", "discover", "127.0.1.0/28", "--port", str(port), "--json", "--all")
    assert result.returncode == 0, result.stderr
    found = {d["address"]: d["printer"] for d in json.loads(result.stdout)}
    assert found == {printer_a.address: True, printer_b.address: True, router.address: False}
    printers_only = printgate("snmp", "discover", "127.0.1.0/28", "--port", str(port), "--json")
    assert [d["address"] for d in json.loads(printers_only.stdout)] == [
        printer_a.address,
        printer_b.address,
    ]
    bad = printgate("snmp", "discover", "10.0.0.0/8")
    assert bad.returncode != 0 and "more than" in bad.stderr


PWG_PRINTER = """\
1.3.6.1.2.1.1.1.0|4|Xerox VersaLink C405
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.253.8.62.1.24.2.13.1
1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5
1.3.6.1.2.1.25.3.2.1.3.1|4|Xerox VersaLink C405 MFP
1.3.6.1.2.1.25.3.5.1.1.1|2|4
1.3.6.1.2.1.25.3.5.1.2.1|4x|0000
1.3.6.1.2.1.43.5.1.1.17.1|4|XRX3923
1.3.6.1.2.1.43.10.2.1.3.1.1|2|7
1.3.6.1.2.1.43.10.2.1.4.1.1|65|5000
1.3.6.1.4.1.253.8.53.13.2.1.6.1.20.33|65|1
1.3.6.1.4.1.2699.1.3.1.8.1.1.4.1.3.3|2|5000
1.3.6.1.4.1.2699.1.3.1.8.1.1.4.1.4.3|2|40
1.3.6.1.4.1.2699.1.3.1.8.1.1.5.1.3.3|2|3800
1.3.6.1.4.1.2699.1.3.1.8.1.1.7.1.3.3|2|1200
"""


def test_mono_and_colour_from_the_pwg_counter_mib_before_the_vendor_one(
    snmpsim_factory: Callable[..., SnmpSim],
) -> None:
    found = poll_json(snmpsim_factory(PWG_PRINTER).address)
    assert (found["total"], found["mono"], found["color"]) == (5000, 3800, 1200)
    assert found["counter_source"] == "PWG-IMAGING-COUNTER-MIB"
    assert found["model"] == "Xerox VersaLink C405 MFP" and found["status"] == "printing"
    assert found["supplies"] == [] and found["errors"] == []
