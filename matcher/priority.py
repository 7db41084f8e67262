"""Short requests first: a long passage encoding steps aside, between its pieces, while a match runs.

On a 2-core server, one PATCH of a 10,000-character text encodes about 20 windows of 512 tokens: seconds of
both cores. A short match needs those cores for its own query encoding and search, and used to take 5× its
idle time while such a write ran (docs/benchmarks.md). PyTorch's thread pool is shared by the whole process,
so the write cannot simply be given fewer threads. Instead the encoder cuts a passage batch into pieces of
about one window, and before each piece waits while any foreground request (a match) is running. A match
then waits at most for the piece under way, not for the whole text.

A writer never waits for longer than `max_wait_s` in one go, so a steady stream of matches slows writes down
but cannot stop them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_MAX_WAIT_S = 2.0


class ForegroundGate:
    """Counts the foreground requests running now; background work waits for the count to reach zero."""

    def __init__(self, max_wait_s: float = DEFAULT_MAX_WAIT_S):
        self.max_wait_s = max_wait_s
        self._running = 0
        self._idle = threading.Condition()
        self.waited_s = 0.0  # how long background work has stepped aside in all (for benchmarks)

    @contextmanager
    def foreground(self) -> Iterator[None]:
        """Hold while a short request runs; nested and concurrent holds add up."""
        with self._idle:
            self._running += 1
        try:
            yield
        finally:
            with self._idle:
                self._running -= 1
                if self._running == 0:
                    self._idle.notify_all()

    def step_aside(self) -> float:
        """Background work calls this between pieces: it returns once no foreground request runs (or after
        `max_wait_s`), and says how many seconds it waited."""
        started = time.perf_counter()
        with self._idle:
            if self._running:
                self._idle.wait_for(lambda: self._running == 0, timeout=self.max_wait_s)
        waited = time.perf_counter() - started
        self.waited_s += waited
        return waited

    @property
    def running(self) -> int:
        return self._running


# One per process: the encoder is shared by every request thread of a server.
FOREGROUND = ForegroundGate()
