"""The failover policy: pure decisions, so tested exhaustively without any IO."""

from __future__ import annotations

from gateway.printers.failover import Candidate, Failure, Next, RetryPolicy, after_failure, choose

POLICY = RetryPolicy(initial_delay=2.0, max_delay=60.0, window=3600.0)


def test_first_available_member_in_group_order() -> None:
    members = [Candidate("a", False, True), Candidate("b", True, True), Candidate("c", True, True)]
    assert choose(members, frozenset()) == members[1]


def test_member_that_lacks_the_format_or_refused_the_job_is_skipped() -> None:
    members = [Candidate("a", True, False), Candidate("b", True, True), Candidate("c", True, True)]
    assert choose(members, frozenset({"b"})) == members[2]
    assert choose(members, frozenset({"b", "c"})) is None


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [POLICY.delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [2, 4, 8, 16, 32, 60, 60]


def test_unreachable_printer_is_retried_until_the_window_ends() -> None:
    members = [Candidate("a", False, True)]
    assert after_failure(Failure.UNREACHABLE, members, frozenset(), 0.0, 3599.0, POLICY) is (
        Next.RETRY_LATER
    )
    assert after_failure(Failure.UNREACHABLE, members, frozenset(), 0.0, 3600.0, POLICY) is (
        Next.ABORT
    )


def test_rejection_by_every_member_aborts_at_once() -> None:
    members = [Candidate("a", True, True), Candidate("b", True, True)]
    assert after_failure(Failure.REJECTED, members, frozenset({"a"}), 0.0, 1.0, POLICY) is (
        Next.RETRY_LATER
    )
    assert after_failure(Failure.REJECTED, members, frozenset({"a", "b"}), 0.0, 1.0, POLICY) is (
        Next.ABORT
    )


def test_busy_is_never_final_within_the_window() -> None:
    members = [Candidate("a", True, True)]
    assert after_failure(Failure.BUSY, members, frozenset(), 0.0, 10.0, POLICY) is Next.RETRY_LATER


def test_a_job_the_printer_may_have_is_resumed_by_one_rule() -> None:
    from gateway.jobs.state import ForwardPhase
    from gateway.printers.failover import Resume, Upstream, resume

    for upstream in Upstream:  # nothing sent yet: send
        assert resume(ForwardPhase.NONE, upstream) is Resume.SEND
        assert resume(ForwardPhase.CREATING, upstream) is Resume.SEND
    # A printer that no longer knows a job it was given: lost, at every moment alike.
    assert resume(ForwardPhase.SENDING, Upstream.UNKNOWN) is Resume.LOST
    assert resume(ForwardPhase.SENT, Upstream.UNKNOWN) is Resume.LOST
    # Cut off mid-upload: the printer's empty job is replaced; once sent, only followed.
    assert resume(ForwardPhase.SENDING, Upstream.INCOMPLETE) is Resume.SEND
    assert resume(ForwardPhase.SENT, Upstream.INCOMPLETE) is Resume.MONITOR
    assert resume(ForwardPhase.SENDING, Upstream.HAS_IT) is Resume.MONITOR
    assert resume(ForwardPhase.SENT, Upstream.HAS_IT) is Resume.MONITOR
