"""`matcher bench scale --seeds N`: one need → partners at N seeds, the engine alone (issue 16).

The seeds are those of `bench report-scale` (bench_report.build_engine): the real KAKEN titles of
`seeds.jsonl` with their institutions and prefectures, padded to N with synthetic seeds at the same
institutions, each with the BM25 terms of a real title. Vectors are **synthetic**, because embedding 10^6
titles takes hours here: by default text-like clustered vectors (clustered_vectors.py: real e5 vectors of the
demo corpus's seeds as topics, with noise shaped like the real vectors' spread, fitted so that the nearest
neighbours lie as close as real text's), written over the random vectors build_engine gives; `--vectors
random` keeps those (useless for an approximate index's recall). Queries are drawn the same way about the
demo needs' real vectors.

Above `--ann-threshold` seeds the collection searches an IVF index (ann.py) trained on these vectors, with
nprobe calibrated at build time. Each demo need is matched in every scope a user can choose (all, in-region,
cross-region) and with a prefecture filter, as `engine.match` runs for the API, without the query encoding,
twice: with the ANN index (the figures) and exactly (the reference, and `exact_engine_ms_by_scope`).
`recall_at_10` is, per scope, the mean share of the exact search's 10 partners that the ANN search lists
too, and the lowest of the scopes. Query encoding is measured apart, on real need texts with the real model,
when it is there (`encode_ms_p50`).

Printed as one JSON object: seeds, engine_ms_p50 / p95 over every scope, per scope, recall_at_10 (and per
scope), index (kind, nlist, nprobe, the recall measured when it was built), bytes_per_seed (growth of the
process's resident memory while the seeds were added and the ANN index built, per seed: vectors, ANN, BM25
and records), ann_bytes_per_seed (the ANN index's part), encode_ms_p50, with the machine's load.
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

from . import clustered_vectors
from .ann import AnnSettings, AnnSlot
from .ann_partners import SCOPES, calibrate_on_partners, match_in_scope, partner_recall
from .bench_report import build_engine
from .clustered_vectors import TextLikeVectors
from .corpus import CORPUS_DIR, load_corpus
from .embed import TextEncoder
from .engine import Engine
from .index import Collection
from .records import Need
from .search import hybrid_search, stored_vectors


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _settled_rss_bytes() -> int:
    """Resident memory with the garbage of earlier work collected and freed heap handed back to the system, so
    that growth measured from here is the seeds' (without it, memory freed during a small build could make the
    growth negative)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the figure is then a little noisier
        pass
    return _rss_bytes()


def _percentiles(ms: Sequence[float]) -> dict[str, float]:
    values = np.asarray(ms)
    return {"p50": round(float(np.percentile(values, 50)), 2), "p95": round(float(np.percentile(values, 95)), 2),
            "n": len(values)}


def time_matches(engine: Engine, needs: Sequence[Need], vectors: np.ndarray,
                 repeats: int = 1) -> tuple[dict[str, list[float]], dict[str, list[list[str]]]]:
    """Milliseconds per `engine.match`, by scope (CPU time of this thread: the machine is shared), and the
    partners (their keys, best first) of each match of the last repeat."""
    timings: dict[str, list[float]] = {scope: [] for scope in SCOPES}
    partners: dict[str, list[list[str]]] = {scope: [] for scope in SCOPES}
    for repeat in range(repeats):
        for need, vector in zip(needs, vectors, strict=True):
            for scope in SCOPES:
                started = time.thread_time()
                result = match_in_scope(engine, need, vector, scope)
                timings[scope].append((time.thread_time() - started) * 1000)
                if repeat == repeats - 1:
                    partners[scope].append([p.key for p in result.partners])
    return timings, partners


def _use_vectors(engine: Engine, kind: str, rng_seed: int) -> TextLikeVectors | None:
    """Write text-like vectors (clustered_vectors.py) over the random ones build_engine gave the seeds, in
    FAISS's own storage (the rows are the seeds'; nothing else derives from the vectors); None for "random"."""
    if kind == "random":
        return None
    if kind != "clustered":
        raise ValueError(f"unknown vectors {kind!r}: clustered or random")
    model = clustered_vectors.fit(rng_seed)
    _, stored = stored_vectors(engine.seed_index)
    stored[:] = model.seeds(len(stored), np.random.default_rng(rng_seed + 3))
    return model


def _query_vectors(model: TextLikeVectors | None, n: int, dim: int, rng_seed: int) -> np.ndarray:
    rng = np.random.default_rng(rng_seed + 7)
    if model is not None:
        return model.queries(n, rng)
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


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
        encode_samples: int = 20, rng_seed: int = 0, vectors: str = "clustered",
        ann: AnnSettings | None = None, calibration_needs: int = 30) -> dict[str, Any]:
    demo = load_corpus(CORPUS_DIR).needs
    needs = [demo[i % len(demo)] for i in range(queries)]
    before = _settled_rss_bytes()
    started = time.perf_counter()
    engine, info = build_engine(seeds, kaken, rng_seed=rng_seed)
    model = _use_vectors(engine, vectors, rng_seed)
    build_s = time.perf_counter() - started
    seed_index = engine.seed_index
    seed_index.ann = AnnSlot(ann)
    without_ann = _rss_bytes()
    started = time.process_time()
    seed_index.refresh_ann()
    ann_s = time.process_time() - started
    grown, ann_grown = _rss_bytes() - before, _rss_bytes() - without_ann
    started = time.process_time()
    calibrated = calibration_needs > 0 and calibrate_on_partners(
        engine, demo[:calibration_needs], _query_vectors(model, calibration_needs, seed_index.dim, rng_seed + 11),
        target=seed_index.ann.settings.target_recall)
    calibration_s = time.process_time() - started
    query_vectors = _query_vectors(model, len(needs), seed_index.dim, rng_seed)
    # an untimed pass first: the first matches of a need fill caches (the shown seeds' tokens) that later
    # ones use, which made whichever pass came first ~8 ms slower at 10^5
    _exact_matches(engine, needs, query_vectors)
    timings, partners = time_matches(engine, needs, query_vectors)
    exact_timings, exact_partners = _exact_matches(engine, needs, query_vectors)
    dense_ms = dense_stage_ms(engine, query_vectors)
    recall = {scope: round(partner_recall(partners[scope], exact_partners[scope]), 4) for scope in SCOPES}
    every = [ms for values in timings.values() for ms in values]
    out: dict[str, Any] = {
        "seeds": seeds, **info, "vectors": _VECTORS_NOTE[vectors],
        "index": _index_figures(seed_index, ann_s, calibration_s if calibrated else None),
        "queries": len(needs),
        "engine_ms_p50": _percentiles(every)["p50"], "engine_ms_p95": _percentiles(every)["p95"],
        "engine_ms_by_scope": {scope: _percentiles(values) for scope, values in timings.items()},
        "exact_engine_ms_by_scope": {scope: _percentiles(values) for scope, values in exact_timings.items()},
        "dense_ms_p50": dense_ms,
        "engine_ms_measure": "CPU time of the calling thread per engine.match (FAISS may add other threads)",
        "recall_at_10": min(recall.values()), "recall_at_10_by_scope": recall,
        "recall_note": "partners list (top 10) with the ANN index against the exact search, mean over needs",
        "bytes_per_seed": round(grown / max(seeds, 1)), "ann_bytes_per_seed": round(ann_grown / max(seeds, 1)),
        "peak_rss_mb": round(_peak_rss_mb()), "build_seconds": round(build_s, 1),
    }
    if encoder_factory is not None:
        encoder = encoder_factory()
        texts = [n.text[:250] for n in demo[:encode_samples]]
        out["encode_ms_p50"] = _percentiles(encode_ms(encoder, texts))["p50"]
        out["encode_note"] = f"wall time, one {len(texts[0])}-character need at a time, {encoder.name}"
    out["machine"] = {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
                      "python": platform.python_version()}
    return out


def _index_figures(seed_index: Collection, build_s: float, calibration_s: float | None) -> dict[str, Any]:
    slot = seed_index.ann
    if slot.index is None:
        return {"dense": "exact (FAISS Flat): below the ANN threshold", "threshold": slot.settings.threshold}
    used = slot.active(len(seed_index)) is not None
    return {"dense": "IVF candidates, re-scored exactly" if used else
            f"exact (FAISS Flat): the IVF index probes more than {slot.settings.max_probe_share:.0%} of its lists",
            "ann_used": used, **slot.index.describe(), "threshold": slot.settings.threshold,
            "build_cpu_seconds": round(build_s, 1),
            "partners_calibration_cpu_seconds": None if calibration_s is None else round(calibration_s, 1)}


_VECTORS_NOTE = {
    "clustered": "synthetic, text-like: real e5 vectors of the demo seeds as topics plus noise shaped like "
                 "their spread (matcher/clustered_vectors.py); queries likewise about the demo needs",
    "random": "synthetic random unit vectors (no clusters: an ANN index's recall means nothing on them)",
}


def dense_stage_ms(engine: Engine, vectors: np.ndarray) -> dict[str, float]:
    """p50 CPU milliseconds of the dense half of one unscoped search (hybrid_search in "dense" mode: the
    candidates, their exact cosines and the fusion), with the ANN index where there is one, and exactly."""
    seed_index, k = engine.seed_index, engine.settings.candidates
    out: dict[str, float] = {}
    slot = seed_index.ann
    for label in ("ann", "exact") if slot.active(len(seed_index)) is not None else ("exact",):
        held = slot.index
        if label == "exact":
            slot.index = None
        try:
            ms = []
            for vector in vectors:
                started = time.thread_time()
                hybrid_search(seed_index, vector, (), candidates=k, mode="dense")
                ms.append((time.thread_time() - started) * 1000)
        finally:
            slot.index = held
        out[label] = _percentiles(ms)["p50"]
    return out


def _exact_matches(engine: Engine, needs: Sequence[Need],
                   vectors: np.ndarray) -> tuple[dict[str, list[float]], dict[str, list[list[str]]]]:
    """`time_matches` with the seed index's ANN index set aside: the exact search, for reference."""
    slot = engine.seed_index.ann
    held, slot.index = slot.index, None
    try:
        return time_matches(engine, needs, vectors)
    finally:
        slot.index = held


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
