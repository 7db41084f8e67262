"""How long the stage a report job is in will still take, from the speed measured so far in that stage.

A job reports (stage, done, total) as it goes (api/reports_jobs.py). `StageClock` remembers when the current stage
was first seen and how far it had got, and estimates the time left as the items still to do divided by the items
per second done since then, less the time since the last report (so the estimate counts down between reports
and the page, polled every 2 s, shows it falling). There is no estimate until the stage has run `MEASURE_S`
seconds and done at least one item: a guess from nothing would only mislead. A new stage (or a total that changes)
starts a new measurement, as stages run at different speeds (encoding, search, writing files).

The clocks live in this process, beside the job threads (`reports_jobs.ACTIVE`): the service is one process, and a
job without its thread is failed at the next read anyway.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

MEASURE_S = 3.0  # seconds of a stage measured before an estimate is shown


@dataclass
class StageClock:
    """The measured speed of one stage of one job."""

    stage: str
    total: int
    started_at: float  # when the stage was first seen, and how far it had got then
    started_done: int
    last_at: float  # the latest report
    last_done: int

    @classmethod
    def start(cls, stage: str, done: int, total: int, at: float) -> StageClock:
        return cls(stage, total, at, done, at, done)

    def observe(self, stage: str, done: int, total: int, at: float) -> StageClock:
        """This clock with one more report, or a new clock when the stage (or its total) changed."""
        if stage != self.stage or total != self.total or done < self.last_done:
            return StageClock.start(stage, done, total, at)
        self.last_at, self.last_done = at, done
        return self

    def remaining_s(self, at: float) -> float | None:
        """Seconds left in this stage at time `at`; None until there is enough to measure, or when it is done."""
        measured, items = self.last_at - self.started_at, self.last_done - self.started_done
        if measured < MEASURE_S or items <= 0 or self.last_done >= self.total:
            return None
        per_second = items / measured
        return max((self.total - self.last_done) / per_second - (at - self.last_at), 0.0)


def remaining_text(seconds: float) -> str:
    """「残り約2分」, 「残り約40秒」, 「残り約1時間20分」; 「残りわずか」 under 10 seconds."""
    if seconds < 10:
        return "残りわずか"
    if seconds < 50:
        return f"残り約{math.ceil(seconds / 10) * 10}秒"
    minutes = max(round(seconds / 60), 1)
    if minutes < 60:
        return f"残り約{minutes}分"
    hours, minutes = divmod(minutes, 60)
    return f"残り約{hours}時間{minutes}分" if minutes else f"残り約{hours}時間"


# ---- the clocks of this process's jobs ------------------------------------------------------------
_CLOCKS: dict[int, StageClock] = {}
_LOCK = threading.Lock()


def observe(job_id: int, stage: str, done: int, total: int, at: float | None = None) -> None:
    """Record a progress report of job `job_id` (`at`: time.monotonic(), the default)."""
    at = time.monotonic() if at is None else at
    with _LOCK:
        clock = _CLOCKS.get(job_id)
        _CLOCKS[job_id] = clock.observe(stage, done, total, at) if clock else StageClock.start(stage, done, total, at)


def remaining(job_id: int, at: float | None = None) -> float | None:
    """The estimated seconds left in the job's current stage, or None (not measured yet, or not running here)."""
    at = time.monotonic() if at is None else at
    with _LOCK:
        clock = _CLOCKS.get(job_id)
        return clock.remaining_s(at) if clock else None


def forget(job_id: int) -> None:
    with _LOCK:
        _CLOCKS.pop(job_id, None)
