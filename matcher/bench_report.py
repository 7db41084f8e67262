"""Benchmark of the report's batch path: N needs × M seeds once vectors and terms exist (`matcher bench report-scale`).

Seeds: the real KAKEN titles of `seeds.jsonl` (institution and prefecture as
given, BM25 terms from the tokenizer), padded to M with synthetic seeds at the
same institutions, each with the terms of a randomly drawn real title, so that
the term frequencies, and so the BM25 work, are those of real text. Needs: the
demo corpus's needs (`corpora/needs.jsonl`, whose texts are 100–400 characters,
longer than titles) cycled to N, with random prefectures and market areas, held
in the need index with their terms as the API holds them (the report reads the
terms there rather than tokenising). Vectors are random unit vectors (seeds and
needs): the brute-force cosines cost the same whatever the vectors hold, and
encoding is not what is measured ("once vectors exist").

What is timed is `compute_report` in its default mode, the engine's hybrid
score: per chunk of needs, the float64 product with every seed's vector, the
sparse BM25 product with the seeds' term weights, each need's dense and BM25
top N nationwide and within its region, fusion, aggregation per (need,
university) with the engine's rule, and the summaries. Prints JSON, with the
wall and the CPU time of the report (the CPU time counts every thread).

`shards` > 1 runs the search on a Ray cluster (`compute_report(shards=…)`): a local
one started here unless `ray_address` names one. Ray's start is timed apart
(`ray_start_s`); the report's time includes starting the actors and sending them
their seeds (`stages_s.prepare_s`). `report_cpu_s` is then this process's CPU
time and `workers_cpu_s` that of every process Ray runs on this machine during
the report (the shards' actors, the raylet, the object store; read from /proc,
so on Linux only).
"""

from __future__ import annotations

import json
import os
import platform
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .corpus import CORPUS_DIR, load_corpus
from .engine import Engine
from .index import fingerprint
from .records import Need, Seed, University
from .regions import default_prefectures
from .reports import Progress, ReportOptions, ReportScope, compute_report
from .text import default_tokenizer


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


def build_engine(seeds: int, kaken: Path | None, rng_seed: int = 0) -> tuple[Engine, dict[str, float]]:
    rng = random.Random(rng_seed)
    codes = [p.code for p in default_prefectures()]
    real = _kaken_seeds(kaken, seeds, set(codes)) if kaken is not None and Path(kaken).exists() else []
    tokenizer = default_tokenizer()
    # without KAKEN, the demo corpus's seeds lend their terms
    pool = [tokenizer.terms(s.text) for s in (real or load_corpus(CORPUS_DIR).seeds)]
    institutions = sorted({(s.university, s.prefecture_code) for s in real}) or \
        [(f"合成大学{i:03d}", rng.choice(codes)) for i in range(800)]
    synthetic = _synthetic_seeds(range(len(real) + 1, seeds + 1), institutions, rng)
    all_seeds = real + synthetic
    terms = pool[:len(real)] + [rng.choice(pool) for _ in synthetic]
    universities: dict[str, University] = {}
    for s in all_seeds:
        universities.setdefault(s.university, University(s.university, s.prefecture_code))
    engine = Engine(_VectorsOnly(), universities=universities.values(), tokenizer=tokenizer)
    engine.replace_seed_records(all_seeds)
    vectors = _unit(np.random.default_rng(rng_seed), len(all_seeds), _VectorsOnly.dim)
    ids = [s.id for s in all_seeds]
    engine.seed_index.upsert(ids, vectors, terms, [f"seed-{i}" for i in ids])
    return engine, {"real_seeds": len(real), "synthetic_seeds": len(synthetic), "universities": len(universities),
                    "terms_per_seed": round(sum(map(len, terms)) / max(len(terms), 1), 1)}


def add_needs(engine: Engine, n: int, rng_seed: int = 1) -> tuple[list[Need], np.ndarray, float]:
    """N needs (the demo needs' texts, cycled) held in the need index with their terms; (needs, vectors, terms/need)."""
    rng = random.Random(rng_seed)
    codes = [p.code for p in engine.prefectures]
    demo = load_corpus(CORPUS_DIR).needs
    demo_terms = [engine.tokenizer.terms(d.text) for d in demo]
    needs = [Need(id=i + 1, title=f"{demo[i % len(demo)].title}（合成 {i + 1}）",
                  description=demo[i % len(demo)].description, prefecture_code=rng.choice(codes),
                  market_areas=tuple(rng.sample([f"M{k}" for k in range(1, 10)], rng.randint(0, 2))))
             for i in range(n)]
    engine.needs = {need.id: need for need in needs}
    vectors = _unit(np.random.default_rng(rng_seed + 1), n, _VectorsOnly.dim)
    terms = [demo_terms[i % len(demo)] for i in range(n)]
    engine.need_index.upsert([need.id for need in needs], vectors, terms,
                             [fingerprint(need.text, engine.need_index.model_name) for need in needs])
    return needs, vectors, sum(len(set(t)) for t in terms) / max(n, 1)


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
                 threads: int = 0, cap: int | None = None, mode: str = "hybrid", shards: int = 1,
                 ray_address: str | None = None, progress: Progress | None = None) -> dict[str, object]:
    import faiss

    if threads:
        faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    engine, seed_info = build_engine(seeds, kaken)
    need_records, need_vectors, terms_per_need = add_needs(engine, needs)
    build_s = time.perf_counter() - t0

    with _cluster(shards, ray_address) as ray_start_s:
        t1, cpu1 = time.perf_counter(), time.process_time()
        with _DescendantsCpu() as workers_cpu:
            report = compute_report(engine, ReportScope(),
                                    ReportOptions(candidates=candidates, assignment_cap=cap, mode=mode),
                                    needs=need_records, need_vectors=need_vectors, progress=progress, shards=shards)
        report_s, report_cpu_s = time.perf_counter() - t1, time.process_time() - cpu1
    return {
        "benchmark": "report-scale",
        "needs": needs,
        "seeds": len(engine.seeds),
        "shards": shards,
        "ray_start_s": ray_start_s,
        "workers_cpu_s": round(workers_cpu.seconds, 2) if shards > 1 and workers_cpu.seconds is not None else None,
        **seed_info,
        "distinct_terms_per_need": round(terms_per_need, 1),
        "candidates_per_search": candidates,
        "aggregation": engine.settings.aggregation,
        "mode": mode,
        "vectors": "random unit vectors, dim 384",
        "build_s": round(build_s, 2),
        "report_s": round(report_s, 2),
        "report_cpu_s": round(report_cpu_s, 2),
        "stages_s": report.meta.timings,
        "needs_per_s": round(needs / report_s, 1) if report_s else None,
        "target_s": 60,
        "within_target": report_s <= 60,
        "share_crossing": round(report.silo.share_crossing, 4),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }


@contextmanager
def _cluster(shards: int, address: str | None) -> Iterator[float | None]:
    """A Ray session for a sharded run, open for the whole measurement; the seconds it took to start (None: none)."""
    if shards <= 1:
        yield None
        return
    from .shards import ray_session

    start = time.perf_counter()
    with ray_session(address):
        yield round(time.perf_counter() - start, 2)


class _DescendantsCpu:
    """CPU seconds (user + system) used by this process's descendants while it is open: Ray's workers, which
    the raylet starts and which end when the report kills its actors, so each is read every `every` seconds
    and counted at its last reading (its last fraction of a second, idle, may be missed). From /proc: on
    Linux only, else `seconds` stays None."""

    def __init__(self, every: float = 0.2):
        self.every = every
        self.seconds: float | None = None
        self._first: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _DescendantsCpu:
        if Path("/proc/self/stat").exists():
            self._first = _descendant_ticks()
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if not self._thread.is_alive():
            return
        self._stop.set()
        self._thread.join()
        ticks = sum(t - self._first.get(pid, 0) for pid, t in self._last.items())
        self.seconds = ticks / os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        while True:
            self._last.update(_descendant_ticks())
            if self._stop.wait(self.every):
                self._last.update(_descendant_ticks())
                return


def _descendant_ticks() -> dict[int, int]:
    """utime + stime, in clock ticks, of every live descendant of this process."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        pid = int(stat.parent.name)
        parent[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    mine: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - mine
        mine |= frontier
    return {pid: ticks[pid] for pid in mine}
