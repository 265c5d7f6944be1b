"""Issue 15 through a running gateway: a line drawing printed through a queue is recorded with
the ink a printer lays down and charged by it; and a gateway killed with SIGKILL leaves no
analysis process behind (fork server, resource tracker, workers)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.ipp import Op
from gateway.ipp import model as m
from tests.ipp_call import ipp_http, job_value
from tests.peers import Printgate, wait_for
from tests.test_coverage_cad import ISSUE_SHEET, make_sheet
from tests.test_credentials import printgate_cli, recorded

BOUND = 1.5  # percentage points
LETTER_M2 = 0.2159 * 0.2794
ML_PER_M2 = 1000


@pytest.fixture
def gateway(printgate_factory: Callable[..., Printgate], tmp_path: Path) -> Printgate:
    return printgate_factory(
        {
            "printers": [{"name": "virtual", "uri": (tmp_path / "out").as_uri()}],
            "queues": [{"name": "plans", "printers": ["virtual"]}],
            "analysis": {"workers": 1},
        }
    )


def print_sheet(gateway: Printgate, tmp_path: Path) -> int:
    pdf = make_sheet("grid-letter", tmp_path / "grid.pdf").read_bytes()
    status, reply = ipp_http(
        gateway.queue_uri("plans"),
        Op.PRINT_JOB,
        m.mime("document-format", "application/pdf"),
        document=pdf,
    )
    assert status == 200 and reply is not None, status
    job_id = job_value(reply, "job-id")
    assert isinstance(job_id, int)
    return job_id


def settled(gateway: Printgate, job_id: int, key: str) -> dict[str, Any]:
    return wait_for(  # type: ignore[no-any-return]
        lambda: (
            (job := recorded(gateway, job_id))["state"] == "completed"
            and job[key]
            and job[key].get("status") != "pending"
            and job
        ),
        60,
        what=f"job {job_id} with its {key}",
    )


def test_a_line_drawing_is_recorded_and_charged_by_its_ink(
    gateway: Printgate, tmp_path: Path
) -> None:
    lines = ("mono_lines", "color_lines", "low_density", "high_density")
    tables = {
        "settings": {"currency": "EUR", "tax_rate": "0", "units": "metric"},
        "models": {
            "*": {
                "ml_per_m2": {channel: ML_PER_M2 for channel in "cmyk"},
                "cost": {"lines": {n: {"ml": "1.00"} for n in lines}},
                "price": {"lines": {n: {"ml": "2.00"} for n in lines}},
            }
        },
    }
    (tmp_path / "rates.json").write_text(json.dumps(tables))
    printgate_cli(gateway, "rates", "import", str(tmp_path / "rates.json"))

    job = settled(gateway, print_sheet(gateway, tmp_path), "charge")
    coverage = job["analysis"]["coverage"]
    for channel, expected in zip("cmy", ISSUE_SHEET, strict=True):
        assert abs(100 * coverage[channel] - expected) <= BOUND, (channel, coverage)
    assert job["analysis"]["color_impressions"] == 1
    # The charge follows: each channel's ink is its coverage x the sheet x 1000 ml/m².
    ink_ml = job["charge"]["cost"]["breakdown"]["ink_ml"]
    for channel in "cmyk":
        expected_ml = coverage[channel] * LETTER_M2 * ML_PER_M2
        assert float(ink_ml[channel]) == pytest.approx(expected_ml, rel=0.01, abs=2e-3)


def _children() -> dict[int, list[int]]:
    """Each process's children, from /proc (zombies left out: they are gone, waiting to be
    reaped)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def descendants(pid: int) -> set[int]:
    tree = _children()
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_no_analysis_process_outlives_a_killed_gateway(gateway: Printgate, tmp_path: Path) -> None:
    settled(gateway, print_sheet(gateway, tmp_path), "analysis")  # the workers are up
    assert gateway.pid is not None
    left = descendants(gateway.pid)
    commands = " | ".join(command_line(pid) for pid in left)
    assert "forkserver" in commands and "resource_tracker" in commands, commands
    assert len(left) >= 3, commands  # fork server, resource tracker, a worker

    # SIGKILL to the gateway alone, as the OOM killer sends it (gateway.kill() would also kill
    # its process group, which is what this test is not about).
    os.kill(gateway.pid, signal.SIGKILL)
    started = time.monotonic()
    while any(alive(pid) for pid in left) and time.monotonic() - started < 10:
        time.sleep(0.1)
    survivors = {pid: command_line(pid) for pid in left if alive(pid)}
    gateway.kill()  # reaps the gateway, and kills what is left of its group
    assert not survivors, f"left running 10 s after SIGKILL: {survivors}"
