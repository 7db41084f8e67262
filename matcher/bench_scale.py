"""`matcher bench scale --seeds N`: one need → partners at N seeds, the engine alone (issue 16).

The seeds are those of `bench report-scale` (bench_report.build_engine): the real KAKEN titles of
`seeds.jsonl` with their institutions and prefectures, padded to N with synthetic seeds at the same
institutions, each with the BM25 terms of a real title. Vectors are **synthetic**: random unit vectors,
because embedding 10^6 titles takes hours here. The exact search costs the same whatever the vectors hold;
an approximate index would not (its recall depends on how the vectors cluster), so `recall_at_10` is only
meaningful once one exists, and is 1.0 by construction while the index is exact.

The queries are the demo corpus's needs (their text for BM25, a random unit vector each for the dense part),
each matched in every scope a user can choose (all, in-region, cross-region) and with a prefecture filter,
as `engine.match` runs for the API, without the query encoding. Query encoding is measured apart, on real
need texts with the real model, when it is there (`encode_ms_p50`).

Printed as one JSON object: seeds, engine_ms_p50 / p95 over every scope, per scope, recall_at_10,
bytes_per_seed (growth of the process's resident memory while the seeds were added, per seed: vectors,
BM25 and records, beyond nothing), encode_ms_p50, with the machine's load.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .bench_report import build_engine
from .corpus import CORPUS_DIR, load_corpus
from .embed import TextEncoder
from .engine import Engine
from .records import Need
from .seed_groups import SeedFilter

SCOPES = ("all", "in-region", "cross-region", "prefecture-filter")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _percentiles(ms: Sequence[float]) -> dict[str, float]:
    values = np.asarray(ms)
    return {"p50": round(float(np.percentile(values, 50)), 2), "p95": round(float(np.percentile(values, 95)), 2),
            "n": len(values)}


def _scoped_match(engine: Engine, need: Need, vector: np.ndarray, scope: str) -> Any:
    if scope == "prefecture-filter":  # what the API's include_prefectures does: a filter on the seeds
        code = need.prefecture_code
        keep = SeedFilter(include_prefectures=frozenset({code} if code else ()))
        return engine.match(need.text, code, query_vector=vector, seed_filter=keep)
    return engine.match(need.text, need.prefecture_code, query_vector=vector, scope=scope)


def time_matches(engine: Engine, needs: Sequence[Need], vectors: np.ndarray,
                 repeats: int = 1) -> dict[str, list[float]]:
    """Milliseconds per `engine.match`, by scope (CPU time of this thread: the machine is shared)."""
    timings: dict[str, list[float]] = {scope: [] for scope in SCOPES}
    for _ in range(repeats):
        for need, vector in zip(needs, vectors, strict=True):
            for scope in SCOPES:
                started = time.thread_time()
                _scoped_match(engine, need, vector, scope)
                timings[scope].append((time.thread_time() - started) * 1000)
    return timings


def encode_ms(encoder: TextEncoder, texts: Sequence[str]) -> list[float]:
    """Wall milliseconds to encode each text as a query, one at a time (what a request does)."""
    encoder.encode_queries([texts[0]])  # warm-up: the first call allocates
    out = []
    for text in texts:
        started = time.perf_counter()
        encoder.encode_queries([text])
        out.append((time.perf_counter() - started) * 1000)
    return out


def run(seeds: int, *, kaken: Path | None, queries: int = 121, encoder_factory: Callable[[], TextEncoder] | None = None,
        encode_samples: int = 20, rng_seed: int = 0) -> dict[str, Any]:
    demo = load_corpus(CORPUS_DIR).needs
    needs = [demo[i % len(demo)] for i in range(queries)]
    before = _rss_bytes()
    started = time.perf_counter()
    engine, info = build_engine(seeds, kaken, rng_seed=rng_seed)
    build_s = time.perf_counter() - started
    grown = _rss_bytes() - before
    vectors = np.random.default_rng(rng_seed + 7).standard_normal((len(needs), engine.seed_index.dim),
                                                                 dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    timings = time_matches(engine, needs, vectors)
    every = [ms for values in timings.values() for ms in values]
    out: dict[str, Any] = {
        "seeds": seeds, **info, "vectors": "synthetic (random unit vectors; see matcher/bench_scale.py)",
        "index": "exact (FAISS Flat) + BM25", "queries": len(needs),
        "engine_ms_p50": _percentiles(every)["p50"], "engine_ms_p95": _percentiles(every)["p95"],
        "engine_ms_by_scope": {scope: _percentiles(values) for scope, values in timings.items()},
        "engine_ms_measure": "CPU time of the calling thread per engine.match (FAISS may add other threads)",
        "recall_at_10": 1.0, "recall_note": "exact search: the partners are exact by construction",
        "bytes_per_seed": round(grown / max(seeds, 1)), "peak_rss_mb": round(_peak_rss_mb()),
        "build_seconds": round(build_s, 1),
    }
    if encoder_factory is not None:
        encoder = encoder_factory()
        texts = [n.text[:250] for n in demo[:encode_samples]]
        out["encode_ms_p50"] = _percentiles(encode_ms(encoder, texts))["p50"]
        out["encode_note"] = f"wall time, one {len(texts[0])}-character need at a time, {encoder.name}"
    out["machine"] = {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
                      "python": platform.python_version()}
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
