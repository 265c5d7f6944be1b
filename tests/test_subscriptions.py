"""IPP event notifications (RFC 3995, ippget pull of RFC 3996) and Set-Job-Attributes, driven
with ipptool (test files in tests/data/ipptool/ and CUPS' own in /usr/share/cups/ipptool)
against a printgate queue whose printer is a real ippeveprinter."""

from __future__ import annotations

import plistlib
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.peers import Printgate, find_binary, ipptool

TESTS = Path(__file__).parent / "data" / "ipptool"
GET = TESTS / "get-notifications.test"


def _run(
    uri: str, test: str | Path, document: Path | None = None, **variables: object
) -> list[dict[str, Any]]:
    """ipptool -X: each test's result (Successful, StatusCode, ResponseAttributes groups)."""
    argv = [find_binary("ipptool"), "-X"]
    if document is not None:
        argv += ["-f", str(document)]
    for name, value in variables.items():
        argv += ["-d", f"{name}={value}"]
    result = subprocess.run(
        [*argv, uri, str(test)],
        capture_output=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    # ipptool 2.4 prints what it could not expect after the plist: kept for the messages.
    plist, _, after = result.stdout.partition(b"</plist>")
    tests: list[dict[str, Any]] = plistlib.loads(plist + b"</plist>")["Tests"]
    for test in tests:
        test["After"] = after.decode(errors="replace")
    return tests


def _passed(tests: list[dict[str, Any]]) -> None:
    failed = [
        (t["Name"], t.get("StatusCode"), t.get("Errors")) for t in tests if not t["Successful"]
    ]
    assert not failed, failed


def _value(test: dict[str, Any], name: str) -> Any:
    for group in test["ResponseAttributes"]:
        if name in group:
            return group[name]
    raise AssertionError(f"{name} not in {test['Name']}: {test['ResponseAttributes']}")


def _events(test: dict[str, Any]) -> list[dict[str, Any]]:
    return [g for g in test["ResponseAttributes"] if "notify-subscribed-event" in g]


def _notifications_until(uri: str, who: str, sid: int, event: str) -> list[dict[str, Any]]:
    """Get-Notifications with notify-wait, each time from the next sequence number on, until
    `event` is among them (bounded: the server waits at most 30 s a call, ten calls at most,
    and each call without a new event comes back only after that wait)."""
    events: list[dict[str, Any]] = []
    for _ in range(10):
        sequence = events[-1]["notify-sequence-number"] + 1 if events else 1
        (test,) = _run(uri, GET, who=who, id=sid, seq=sequence, wait="true")
        assert test["Successful"], test
        events += _events(test)
        if any(e["notify-subscribed-event"] == event for e in events):
            return events
    raise AssertionError(f"no {event} for subscription {sid}: {events}")


def test_printer_subscription_hears_job_created_and_completed(
    printgate: Printgate, tmp_pdf: Path
) -> None:
    uri = printgate.queue_uri("office")
    created, printed = _run(uri, TESTS / "printer-subscription.test", tmp_pdf, who="alice")
    _passed([created, printed])
    sid, job_id = _value(created, "notify-subscription-id"), _value(printed, "job-id")
    events = _notifications_until(uri, "alice", sid, "job-completed")
    names = [e["notify-subscribed-event"] for e in events]
    assert names.index("job-created") < names.index("job-completed"), names
    completed = next(e for e in events if e["notify-subscribed-event"] == "job-completed")
    assert completed["notify-job-id"] == job_id
    assert completed["job-state"] == 9  # completed
    assert completed["notify-user-data"] == b"printgate-test"
    assert completed["job-name"] == "subscribed"
    assert completed["notify-printer-uri"] == uri
    sequences = [e["notify-sequence-number"] for e in events]
    assert sequences == sorted(sequences) and sequences[0] == 1
    # Asking from the last sequence number on returns only what came after it.
    (again,) = _run(uri, GET, who="alice", id=sid, seq=sequences[-1] + 1, wait="false")
    assert again["Successful"] and _value(again, "notify-get-interval") > 0, again
    assert all(e["notify-sequence-number"] > sequences[-1] for e in _events(again))
    # Another user may not read them.
    (other,) = _run(uri, GET, who="mallory", id=sid, seq=1, wait="false")
    assert other["StatusCode"] == "client-error-not-authorized", other
    # CUPS' own files (its get-notifications.test expects an attribute RFC 3995 does not
    # name, "notify-event", so cupsd fails it too).
    for suite in ("create-printer-subscription.test", "get-subscriptions.test"):
        result = ipptool(uri, suite)
        assert result.returncode == 0 and "[PASS]" in result.stdout, result.stdout


def test_subscription_template_in_print_job_and_events_complete(
    printgate: Printgate, tmp_pdf: Path
) -> None:
    uri = printgate.queue_uri("office")
    (printed,) = _run(uri, TESTS / "print-job-subscribed.test", tmp_pdf, who="dana")
    _passed([printed])
    sid = _value(printed, "notify-subscription-id")
    events = _notifications_until(uri, "dana", sid, "job-completed")
    assert [e["notify-subscribed-event"] for e in events] == ["job-created", "job-completed"]
    # The job has ended: nothing more will come, and the client is told so.
    (last,) = _run(uri, GET, who="dana", id=sid, seq=3, wait="true")
    assert last["StatusCode"] == "successful-ok-events-complete", last


def test_renew_cancel_and_lease_expiry(printgate: Printgate, tmp_pdf: Path) -> None:
    uri = printgate.queue_uri("office")
    created, _ = _run(uri, TESTS / "printer-subscription.test", tmp_pdf, who="erin")
    sid = _value(created, "notify-subscription-id")
    _passed(_run(uri, TESTS / "subscription-lifecycle.test", who="erin", id=sid))
    # A one-second lease ends by itself.
    short = TESTS / "short-lease.test"
    (made,) = _run(uri, short, who="erin")
    _passed([made])
    assert _value(made, "notify-lease-duration") == 1
    expiring = _value(made, "notify-subscription-id")
    deadline = time.monotonic() + 10
    while True:
        (read,) = _run(uri, GET, who="erin", id=expiring, seq=1, wait="false")
        if read["StatusCode"] == "client-error-not-found" or time.monotonic() > deadline:
            break
    assert read["StatusCode"] == "client-error-not-found", read


def test_set_job_attributes_on_a_held_job(printgate: Printgate, tmp_pdf: Path) -> None:
    uri = printgate.queue_uri("office")
    _passed(_run(uri, TESTS / "set-job-attributes.test", tmp_pdf, who="frank"))


def test_queue_advertises_ipp_2_1_notifications(printgate: Printgate) -> None:
    (answer,) = _run(printgate.queue_uri("office"), TESTS / "notify-attributes.test")
    _passed([answer])
