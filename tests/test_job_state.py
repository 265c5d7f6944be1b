"""The job state table, walked whole without a database: every row takes its state where IPP
says, carries its reasons and message, and every (state, event) pair it does not hold raises."""

from __future__ import annotations

import itertools

import pytest

from gateway.ipp import JobState
from gateway.jobs import state as table
from gateway.jobs.state import (
    NEW,
    TABLE,
    TERMINAL_STATES,
    Aborted,
    AbortedByPrinter,
    AwaitingDocument,
    Canceled,
    CanceledAtDevice,
    Event,
    ForwardStarted,
    HeldBySubmitter,
    HeldForCredentials,
    IllegalTransition,
    JobAlreadyEnded,
    LostByPrinter,
    Printed,
    PrinterStopped,
    Printing,
    Queued,
    next_state,
    ready,
)

H, P, R, S = (
    JobState.PENDING_HELD,
    JobState.PENDING,
    JobState.PROCESSING,
    JobState.PROCESSING_STOPPED,
)
C, X, A = JobState.COMPLETED, JobState.CANCELED, JobState.ABORTED

# One example of each event, with what it must say.
EXAMPLES: dict[type[Event], tuple[Event, tuple[str, ...], str]] = {
    Queued: (Queued(), ("none",), "Waiting to print"),
    HeldBySubmitter: (HeldBySubmitter(), ("job-hold-until-specified",), "Held until released"),
    HeldForCredentials: (
        HeldForCredentials("account-info-needed", "Who are you?"),
        ("account-info-needed",),
        "Who are you?",
    ),
    AwaitingDocument: (
        AwaitingDocument("account-authorization-failed", "Wrong password"),
        ("job-incoming", "account-authorization-failed"),
        "Wrong password",
    ),
    ForwardStarted: (ForwardStarted("eve"), ("job-transforming",), "Sending to eve"),
    Printing: (Printing("eve"), ("job-printing",), "Printing on eve"),
    PrinterStopped: (PrinterStopped("Waiting for eve"), ("printer-stopped",), "Waiting for eve"),
    Printed: (Printed("eve"), ("job-completed-successfully",), "Printed on eve"),
    CanceledAtDevice: (CanceledAtDevice("eve"), ("job-canceled-at-device",), "Canceled at eve"),
    AbortedByPrinter: (
        AbortedByPrinter("eve", "jammed"),
        ("job-aborted-by-system",),
        "eve aborted the job: jammed",
    ),
    LostByPrinter: (
        LostByPrinter("eve"),
        ("job-aborted-by-system",),
        "eve no longer knows the job: whether it printed is unknown, so it is not charged",
    ),
    Canceled: (
        Canceled("job-canceled-by-user", "Canceled by bob"),
        ("job-canceled-by-user",),
        "Canceled by bob",
    ),
    Aborted: (
        Aborted("Not printed: no printer"),
        ("job-aborted-by-system",),
        "Not printed: no printer",
    ),
}

# The whole table as IPP's job model has it, written out by hand.
EXPECTED = {
    (NEW, Queued): P,
    (H, Queued): P,
    (NEW, HeldBySubmitter): H,
    (P, HeldBySubmitter): H,
    (H, HeldBySubmitter): H,
    (NEW, HeldForCredentials): H,
    (H, HeldForCredentials): H,
    (NEW, AwaitingDocument): H,
    (H, AwaitingDocument): H,
    (P, ForwardStarted): R,
    (R, ForwardStarted): R,
    (S, ForwardStarted): R,
    (R, Printing): R,
    (S, Printing): R,
    (P, PrinterStopped): S,
    (R, PrinterStopped): S,
    (S, PrinterStopped): S,
    (R, Printed): C,
    (S, Printed): C,
    (R, CanceledAtDevice): X,
    (S, CanceledAtDevice): X,
    (R, AbortedByPrinter): A,
    (S, AbortedByPrinter): A,
    (R, LostByPrinter): A,
    (S, LostByPrinter): A,
    **{(s, Canceled): X for s in (H, P, R, S)},
    **{(s, Aborted): A for s in (H, P, R, S)},
}


def test_the_table_is_the_expected_one() -> None:
    assert TABLE == EXPECTED
    assert set(EXAMPLES) == set(table.EVENTS)


@pytest.mark.parametrize(
    ("state", "kind"),
    list(itertools.product([NEW, *JobState], list(EXAMPLES))),
    ids=lambda v: getattr(v, "__name__", None) or (v.name if v is not None else "new"),
)
def test_every_pair_goes_where_the_table_says_or_raises(
    state: JobState | None, kind: type[Event]
) -> None:
    event, reasons, message = EXAMPLES[kind]
    assert (event.reasons, event.message) == (reasons, message)
    expected = EXPECTED.get((state, kind))
    if expected is not None:
        assert next_state(state, event) is expected
    elif state in TERMINAL_STATES:
        with pytest.raises(JobAlreadyEnded):
            next_state(state, event)
    else:
        with pytest.raises(IllegalTransition) as raised:
            next_state(state, event)
        assert not isinstance(raised.value, JobAlreadyEnded)


def test_a_complete_job_waits_or_is_held_as_its_submitter_asked() -> None:
    assert ready("") == Queued() and ready("no-hold") == Queued()
    assert ready("indefinite") == HeldBySubmitter()
    assert AwaitingDocument().reasons == ("job-incoming",)
    assert AwaitingDocument().message == "Waiting for the document"
