"""Timing helpers of the benchmarks: wall and CPU time of one call, and their percentiles in milliseconds."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Figures = dict[str, Any]


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def summary(samples: Sequence[tuple[float, float]]) -> Figures:
    """p50 / p95 / max in milliseconds, for wall and CPU time."""
    out: Figures = {"n": len(samples)}
    for k, name in enumerate(("wall", "cpu")):
        ms = np.array([s[k] for s in samples]) * 1000
        out[name] = {"p50_ms": round(float(np.percentile(ms, 50)), 3),
                     "p95_ms": round(float(np.percentile(ms, 95)), 3), "max_ms": round(float(ms.max()), 3)}
    return out


def once(sample: tuple[float, float]) -> Figures:
    return {"wall_ms": round(sample[0] * 1000, 3), "cpu_ms": round(sample[1] * 1000, 3)}
