"""GET /metrics: Prometheus text a Prometheus server can scrape, with numbers that follow what
printgate is doing."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from gateway.ipp import Tag
from gateway.ipp import model as m
from tests.ipp_call import print_job
from tests.peers import IppEvePrinter, Printgate, make_pdf, wait_for

SAMPLE = re.compile(r'^([a-z_]+)(\{[a-z]+="[^"]*"\})? (-?[0-9.e+]+|\+Inf)$')


def scrape(gw: Printgate) -> dict[str, float]:
    status, body = gw.get("/metrics")
    assert status == 200
    samples: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ ", line), line
            continue
        found = SAMPLE.match(line)
        assert found, f"not Prometheus text: {line!r}"
        samples[found.group(1) + (found.group(2) or "")] = float(found.group(3))
    return samples


def test_metrics_follow_jobs_printers_and_the_store(
    printgate_factory: Callable[..., Printgate], ippeveprinter: IppEvePrinter, tmp_path: Path
) -> None:
    gw = printgate_factory(
        {
            "jobs": {"printer_refresh_interval": 1.0, "retry_initial_delay": 0.5},
            "printers": [{"name": "eve", "uri": ippeveprinter.uri}],
            "queues": [{"name": "q", "printers": ["eve"]}],
        }
    )
    assert gw.get("/metrics")[0] == 200
    pdf = make_pdf(tmp_path / "a.pdf").read_bytes()
    for i in range(2):
        print_job(gw.queue_uri("q"), pdf, name=f"m{i}")
    print_job(
        gw.queue_uri("q"),
        pdf,
        name="held",
        job=[m.attr("job-hold-until", Tag.KEYWORD, "indefinite")],
    )
    samples = wait_for(
        lambda: (s := scrape(gw))['printgate_jobs{state="completed"}'] == 2 and s,
        60,
        what="2 completed",
    )
    assert samples['printgate_jobs{state="pending-held"}'] == 1
    assert samples["printgate_held_jobs"] == 1
    assert samples["printgate_spooled_bytes"] == len(pdf)
    assert samples["printgate_forward_latency_seconds_count"] == 2
    assert samples['printgate_forward_latency_seconds_bucket{le="+Inf"}'] == 2
    assert samples["printgate_forward_latency_seconds_sum"] > 0
    assert samples['printgate_printer_up{printer="eve"}'] == 1
    assert samples["printgate_store_up"] == 1
    assert "printgate_directory_up" not in samples  # no directory configured

    ippeveprinter.stop()
    wait_for(
        lambda: scrape(gw)['printgate_printer_up{printer="eve"}'] == 0, 30, what="printer down"
    )
