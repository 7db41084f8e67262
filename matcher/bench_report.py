"""Benchmark of the report's batch path: N needs × M seeds once vectors exist (`matcher bench report-scale`).

Seeds: the real KAKEN titles of `seeds.jsonl` (institution and prefecture as
given), padded to M with synthetic seeds at the same institutions. Vectors are
random unit vectors (seeds and needs): the flat FAISS search costs the same
whatever the vectors hold, and encoding is not what is measured ("once vectors
exist"). Needs get random prefectures and market areas. What is timed is
`compute_report` with those vectors: the nationwide batched search, the 8
in-region searches, aggregation per (need, university) with the engine's rule,
and the summaries. Prints JSON.
"""

from __future__ import annotations

import json
import os
import platform
import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .engine import Engine
from .records import Need, Seed, University
from .regions import default_prefectures
from .reports import Progress, ReportOptions, ReportScope, compute_report


class _VectorsOnly:
    """Stands in for the encoder: the benchmark supplies every vector."""

    name = "random-unit-vectors"
    dim = 384

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - never called: vectors are given
        raise RuntimeError("the benchmark gives vectors")

    encode_passages = encode_queries


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def build_engine(seeds: int, kaken: Path | None, rng_seed: int = 0) -> tuple[Engine, dict[str, int]]:
    rng = random.Random(rng_seed)
    codes = [p.code for p in default_prefectures()]
    real = _kaken_seeds(kaken, seeds, set(codes)) if kaken is not None and Path(kaken).exists() else []
    institutions = sorted({(s.university, s.prefecture_code) for s in real}) or \
        [(f"合成大学{i:03d}", rng.choice(codes)) for i in range(800)]
    synthetic = _synthetic_seeds(range(len(real) + 1, seeds + 1), institutions, rng)
    all_seeds = real + synthetic
    universities: dict[str, University] = {}
    for s in all_seeds:
        universities.setdefault(s.university, University(s.university, s.prefecture_code))
    engine = Engine(_VectorsOnly(), universities=universities.values())
    engine.seeds = {s.id: s for s in all_seeds}
    vectors = _unit(np.random.default_rng(rng_seed), len(all_seeds), _VectorsOnly.dim)
    ids = np.fromiter((s.id for s in all_seeds), dtype=np.int64, count=len(all_seeds))
    engine.seed_index.dense.add_with_ids(vectors, ids)
    return engine, {"real_seeds": len(real), "synthetic_seeds": len(synthetic), "universities": len(universities)}


def _synthetic_seeds(ids: range, institutions: Sequence[tuple[str, str | None]], rng: random.Random) -> list[Seed]:
    """Seeds at randomly chosen institutions (the real ones where there are any)."""
    seeds = []
    for seed_id in ids:
        university, code = rng.choice(institutions)
        seeds.append(Seed(id=seed_id, title=f"合成シーズ {seed_id}", university=university, prefecture_code=code))
    return seeds


def _kaken_seeds(kaken: Path, limit: int, codes: set[str]) -> list[Seed]:
    """The first `limit` KAKEN titles, with institution and prefecture as given (an unknown code dropped)."""
    real: list[Seed] = []
    with open(kaken, encoding="utf-8") as f:
        for line in f:
            if len(real) >= limit:
                break
            d = json.loads(line)
            code = str(d["prefecture_code"]).zfill(2) if d.get("prefecture_code") else None
            real.append(Seed(id=len(real) + 1, title=d["title"], university=d.get("institution") or "不明の機関",
                             prefecture_code=code if code in codes else None))
    return real


def report_scale(*, needs: int = 10_000, seeds: int = 100_000, kaken: Path | None = None, candidates: int = 1000,
                 threads: int = 0, cap: int | None = None, progress: Progress | None = None) -> dict[str, object]:
    import faiss

    if threads:
        faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    engine, seed_info = build_engine(seeds, kaken)
    rng = random.Random(1)
    codes = [p.code for p in engine.prefectures]
    need_records = [Need(id=i + 1, title=f"合成ニーズ {i + 1}", prefecture_code=rng.choice(codes),
                         market_areas=tuple(rng.sample([f"M{k}" for k in range(1, 10)], rng.randint(0, 2))))
                    for i in range(needs)]
    engine.needs = {n.id: n for n in need_records}
    need_vectors = _unit(np.random.default_rng(2), needs, _VectorsOnly.dim)
    build_s = time.perf_counter() - t0

    t1 = time.perf_counter()
    report = compute_report(engine, ReportScope(), ReportOptions(candidates=candidates, assignment_cap=cap),
                            needs=need_records, need_vectors=need_vectors, progress=progress)
    report_s = time.perf_counter() - t1
    return {
        "benchmark": "report-scale",
        "needs": needs,
        "seeds": len(engine.seeds),
        **seed_info,
        "candidates_per_search": candidates,
        "aggregation": engine.settings.aggregation,
        "mode": "dense (batched FAISS IndexFlatIP, exact)",
        "vectors": "random unit vectors, dim 384",
        "build_s": round(build_s, 2),
        "report_s": round(report_s, 2),
        "stages_s": report.meta.timings,
        "needs_per_s": round(needs / report_s, 1) if report_s else None,
        "target_s": 60,
        "within_target": report_s <= 60,
        "share_crossing": round(report.silo.share_crossing, 4),
        "faiss_threads": faiss.omp_get_max_threads(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
