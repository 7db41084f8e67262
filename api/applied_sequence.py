"""How far a follower has applied the change log, when transactions commit out of sequence order.

Transaction A takes sequence 10, transaction B takes 11, and B commits first. A follower that only
remembered "the highest sequence applied" would read 11, move to 11, and never see 10. So the tracker
keeps three things:

- `floor`: every sequence up to it has been applied, or given up as a gap that will never fill;
- `applied`: the sequences above the floor already applied;
- `gaps`: the sequences above the floor not yet seen, each with the time it was first missed.

The follower asks for changes above the floor, applies the ones it has not applied yet, and the floor
moves up over every run of applied sequences. A gap is given up after `gap_timeout` seconds: by then
the transaction that held it has rolled back (its number is never reused), since no write transaction
of this service lives that long. Applying a change twice is harmless (the follower re-reads the item),
so the tracker may err towards applying again, never towards skipping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

DEFAULT_GAP_TIMEOUT_S = 60.0


class AppliedSequence:
    def __init__(self, floor: int = 0, *, gap_timeout: float = DEFAULT_GAP_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic):
        self.floor = floor
        self.applied: set[int] = set()
        self.gaps: dict[int, float] = {}
        self._gap_timeout = gap_timeout
        self._clock = clock

    @classmethod
    def after_full_sync(cls, recent: Iterable[int], window_floor: int, *,
                        gap_timeout: float = DEFAULT_GAP_TIMEOUT_S,
                        clock: Callable[[], float] = time.monotonic) -> AppliedSequence:
        """The state after an index was rebuilt from a read of the database.

        `recent` are the sequences committed above `window_floor` when the database was read: their
        effects are in the index. Numbers above the floor that were missing may belong to transactions
        still open then; they become gaps, so their changes are applied when they commit.
        """
        tracker = cls(window_floor, gap_timeout=gap_timeout, clock=clock)
        tracker.mark_applied(recent)
        return tracker

    @property
    def highest(self) -> int:
        """The highest sequence applied (or given up)."""
        return max(self.applied, default=self.floor)

    def unapplied(self, sequences: Iterable[int]) -> list[int]:
        """Which of the fetched sequences still need applying, in order."""
        return sorted(s for s in set(sequences) if s > self.floor and s not in self.applied)

    def mark_applied(self, sequences: Iterable[int]) -> None:
        now = self._clock()
        for sequence in sequences:
            if sequence > self.floor:
                self.applied.add(sequence)
                self.gaps.pop(sequence, None)
        for missing in range(self.floor + 1, self.highest):
            if missing not in self.applied:
                self.gaps.setdefault(missing, now)
        self._raise_floor(now)

    def expire_gaps(self) -> None:
        """Give up gaps older than the timeout, then move the floor up where that closes a run."""
        self._raise_floor(self._clock())

    def _raise_floor(self, now: float) -> None:
        while True:
            following = self.floor + 1
            if following in self.applied:
                self.applied.discard(following)
            elif following in self.gaps and now - self.gaps[following] >= self._gap_timeout:
                del self.gaps[following]
            else:
                return
            self.floor = following

    def lag(self, latest: int) -> int:
        """How many handed-out sequences up to `latest` are not applied yet (open gaps included)."""
        return max(0, latest - self.highest) + len(self.gaps)
