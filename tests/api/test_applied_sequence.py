"""The follower's record of what it applied: no change is skipped when commits come out of order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from api.applied_sequence import AppliedSequence


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_later_commit_seen_first_leaves_the_earlier_number_to_apply():
    tracker = AppliedSequence(9, gap_timeout=60, clock=Clock())
    tracker.mark_applied(tracker.unapplied([11]))  # B (11) committed before A (10)
    assert tracker.floor == 9 and tracker.gaps.keys() == {10}
    assert tracker.unapplied([10, 11]) == [10]  # A commits: the next read above the floor brings it
    tracker.mark_applied([10])
    assert tracker.floor == 11 and not tracker.gaps and not tracker.applied


def test_a_rolled_back_number_is_given_up_after_the_timeout_only():
    clock = Clock()
    tracker = AppliedSequence(0, gap_timeout=60, clock=clock)
    tracker.mark_applied([1, 3])
    clock.now = 59
    tracker.expire_gaps()
    assert tracker.floor == 1 and tracker.lag(latest=3) == 1
    clock.now = 61
    tracker.expire_gaps()
    assert tracker.floor == 3 and tracker.lag(latest=3) == 0


def test_after_a_full_sync_missing_recent_numbers_stay_open():
    tracker = AppliedSequence.after_full_sync([101, 102, 104], window_floor=100, clock=Clock())
    assert tracker.floor == 102 and tracker.gaps.keys() == {103}
    assert tracker.unapplied([103, 104, 105]) == [103, 105]


@settings(max_examples=200, deadline=None)
@given(st.permutations(list(range(1, 31))), st.lists(st.integers(1, 30), max_size=6))
def test_every_committed_change_is_applied_whatever_the_commit_order(order, rolled_back):
    """Commits arrive in any order, some numbers never commit; reads after each commit miss nothing."""
    clock = Clock()
    tracker = AppliedSequence(0, gap_timeout=60, clock=clock)
    committed: list[int] = []
    applied: list[int] = []
    for sequence in order:
        if sequence in rolled_back:
            continue
        committed.append(sequence)
        fetched = [s for s in committed if s > tracker.floor]  # what changes_after(floor) returns
        new = tracker.unapplied(fetched)
        applied.extend(new)
        tracker.mark_applied(new)
    assert sorted(applied) == sorted(committed)  # each applied exactly once
    clock.now = 1000
    tracker.expire_gaps()
    latest = max(committed, default=0)  # what latest_sequence() reads: a rolled-back number is never there
    assert tracker.floor == latest and tracker.lag(latest) == 0
