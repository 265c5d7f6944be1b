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
