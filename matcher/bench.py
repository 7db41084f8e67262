"""Benchmarks on any folder laid out like ../shared/data. Each returns a dict of figures.

    similarity FILE.jsonl          sentence1, sentence2, score  → Spearman of cosine vs score
    retrieval DIR                  BEIR layout (corpus.jsonl, queries.jsonl, qrels.tsv)
                                   → R@1, R@10, MRR@10, nDCG@10 for dense, BM25 and hybrid
    need2univ QUERIES_DIR SEEDS    needs → universities, seeds indexed with `institution` as the
                                   university → nDCG@10, R@10 for the engine and for popularity
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .embed import TextEncoder, Vectors
from .engine import Engine, EngineSettings
from .index import Collection, fingerprint
from .rank import AGGREGATIONS, DEFAULT_DENSE_WEIGHT
from .records import Seed
from .search import hybrid_search
from .text import default_tokenizer

Progress = Callable[[str, int, int], None] | None  # (stage, done, total)
Row = dict[str, Any]  # one JSON line of a data file, as its author wrote it
Figures = dict[str, object]  # a benchmark's result, printed as JSON
Qrels = dict[str, dict[str, float]]  # query id → judged document id → relevance


# ---- data files ----------------------------------------------------------
def read_jsonl(path: Path) -> list[Row]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(path: Path) -> Qrels:
    """BEIR qrels: query_id, corpus_id, score (tab-separated, with a header)."""
    qrels: Qrels = defaultdict(dict)
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            score = float(row["score"])
            if score > 0:
                qrels[row["query_id"]][row["corpus_id"]] = score
    return qrels


# ---- metrics ------------------------------------------------------------
def recall_at(ranked: Sequence[str], relevant: dict[str, float], k: int) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def mrr_at(ranked: Sequence[str], relevant: dict[str, float], k: int) -> float:
    for i, doc in enumerate(ranked[:k]):
        if doc in relevant:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: dict[str, float], k: int) -> float:
    gains = [relevant.get(doc, 0.0) for doc in ranked[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


Metric = Callable[[Sequence[str], dict[str, float], int], float]


def ranking_metrics(runs: dict[str, list[str]], qrels: Qrels) -> dict[str, float]:
    judged = [q for q in runs if q in qrels]
    if not judged:
        return {"queries": 0}

    def mean(metric: Metric, k: int) -> float:
        return round(float(np.mean([metric(runs[q], qrels[q], k) for q in judged])), 4)

    return {
        "queries": len(judged),
        "R@1": mean(recall_at, 1),
        "R@10": mean(recall_at, 10),
        "MRR@10": mean(mrr_at, 10),
        "nDCG@10": mean(ndcg_at, 10),
    }


# ---- similarity ---------------------------------------------------------
def similarity(path: Path, encoder: TextEncoder) -> Figures:
    from scipy.stats import spearmanr

    rows = read_jsonl(path)
    # e5 is trained to embed both sides of a symmetric task as queries
    left = encoder.encode_queries([r["sentence1"] for r in rows])
    right = encoder.encode_queries([r["sentence2"] for r in rows])
    cosine = np.sum(left * right, axis=1)
    rho = spearmanr(cosine, [float(r["score"]) for r in rows]).statistic
    return {"task": "similarity", "file": str(path), "pairs": len(rows), "spearman": round(float(rho), 4)}


# ---- retrieval (BEIR) ---------------------------------------------------
def retrieval(folder: Path, encoder: TextEncoder, *, candidates: int = 100,
              dense_weights: Iterable[float] = (DEFAULT_DENSE_WEIGHT,)) -> Figures:
    folder = Path(folder)
    corpus = read_jsonl(folder / "corpus.jsonl")
    queries = read_jsonl(folder / "queries.jsonl")
    qrels = read_qrels(folder / "qrels.tsv")
    tokenizer = default_tokenizer()

    doc_keys = [str(d["_id"]) for d in corpus]
    texts = [" ".join(p for p in (d.get("title", ""), d.get("text", "")) if p) for d in corpus]
    started = time.perf_counter()
    collection = Collection(encoder.dim, encoder.name)
    collection.upsert(range(len(texts)), encoder.encode_passages(texts), [tokenizer.terms(t) for t in texts],
                      [fingerprint(t, encoder.name) for t in texts])
    index_seconds = time.perf_counter() - started
    query_vectors = encoder.encode_queries([q["text"] for q in queries])
    query_terms = [tokenizer.terms(q["text"]) for q in queries]

    def run(mode: str, weight: float = DEFAULT_DENSE_WEIGHT) -> dict[str, list[str]]:
        runs = {}
        for q, vector, terms in zip(queries, query_vectors, query_terms, strict=True):
            found = hybrid_search(collection, vector, terms, candidates=candidates, mode=mode, dense_weight=weight)
            runs[str(q["_id"])] = [doc_keys[i] for i in found.ids[:10].tolist()]
        return runs

    result: Figures = {"task": "retrieval", "folder": str(folder), "documents": len(corpus), "queries": len(queries),
                       "index_seconds": round(index_seconds, 1),
                       "dense": ranking_metrics(run("dense"), qrels), "bm25": ranking_metrics(run("bm25"), qrels)}
    for weight in dense_weights:
        name = "hybrid" if weight == DEFAULT_DENSE_WEIGHT else f"hybrid(dense={weight})"
        result[name] = ranking_metrics(run("hybrid", weight), qrels)
    return result


# ---- a vector cache, so benchmarks never embed the same text twice ---------
class PassageCache:
    """Wraps an encoder; remembers passage vectors by text fingerprint in an .npz file.

    need2univ's two seed files share 40k titles; with this the second run
    embeds nothing. Queries are not cached: they are few.
    """

    def __init__(self, encoder: TextEncoder, path: Path):
        self.encoder, self.path = encoder, Path(path)
        self.dim, self.name = encoder.dim, encoder.name
        self._rows: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as data:
                self._rows = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self.encoder.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        keys = [fingerprint(t, self.name) for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._rows}
        if missing:
            vectors = self.encoder.encode_passages(list(missing.values()))
            self._rows.update(zip(missing, vectors, strict=True))
        return np.stack([self._rows[k] for k in keys]) if keys else np.empty((0, self.dim), dtype=np.float32)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(self._rows)), vectors=np.stack(list(self._rows.values())))
        tmp.replace(self.path)


# ---- need → university ----------------------------------------------------
def load_kaken_seeds(path: Path) -> list[Seed]:
    """KAKEN-style rows (_id, title, institution, prefecture_code) as seeds with row numbers as ids."""
    seeds = []
    for row_no, row in enumerate(read_jsonl(path)):
        code = str(row.get("prefecture_code") or "").strip()
        seeds.append(Seed(id=row_no, title=row["title"], university=row["institution"],
                          prefecture_code=code.zfill(2) if code else None))
    return seeds


def need2univ(queries_dir: Path, seeds_path: Path, encoder: TextEncoder, *, cache_dir: Path | None = None,
              settings: EngineSettings | None = None, progress: Progress = None) -> Figures:
    queries_dir, seeds_path = Path(queries_dir), Path(seeds_path)
    queries = read_jsonl(queries_dir / "queries.jsonl")
    qrels = read_qrels(queries_dir / "qrels.tsv")
    seeds = load_kaken_seeds(seeds_path)
    settings = settings or EngineSettings()

    started = time.perf_counter()

    def report(done: int, total: int) -> None:
        if progress:
            progress("シーズの索引", done, total)

    cache = PassageCache(encoder, Path(cache_dir) / f"passages-{encoder.name}.npz") if cache_dir else None
    engine = Engine(cache or encoder, settings=settings)
    try:
        engine.sync_seeds(seeds, progress=report)
    finally:
        if cache is not None:
            cache.save()
    index_seconds = time.perf_counter() - started
    vectors = encoder.encode_queries([q["text"] for q in queries])

    popularity = [name for name, _ in Counter(s.university for s in seeds).most_common()]
    runs_by_method: dict[str, dict[str, list[str]]] = {}
    for method in AGGREGATIONS:
        engine.settings = replace(settings, aggregation=method)
        runs = {}
        for i, (q, vector) in enumerate(zip(queries, vectors, strict=True)):
            result = engine.match(q["text"], top_k=10, level="university", query_vector=vector)
            runs[str(q["_id"])] = [p.university.name for p in result.partners]
            if progress:
                progress(f"集約 {method}", i + 1, len(queries))
        runs_by_method[method] = runs
    engine.settings = settings

    return {
        "task": "need2univ", "queries_dir": str(queries_dir), "seeds": str(seeds_path),
        "seed_count": len(seeds), "universities": len(popularity), "index_seconds": round(index_seconds, 1),
        "engine": {"aggregation": settings.aggregation, **ranking_metrics(runs_by_method[settings.aggregation], qrels)},
        "popularity": ranking_metrics({str(q["_id"]): popularity[:10] for q in queries}, qrels),
        "by_aggregation": {m: ranking_metrics(r, qrels) for m, r in runs_by_method.items()},
    }
