"""Benchmarks on any folder laid out like ../shared/data. Each returns a dict of figures.

    similarity FILE.jsonl          sentence1, sentence2, score  → Spearman of cosine vs score
    retrieval DIR                  BEIR layout (corpus.jsonl, queries.jsonl, qrels.tsv)
                                   → R@1, R@10, MRR@10, nDCG@10 for dense, BM25 and hybrid
    need2univ QUERIES_DIR SEEDS    needs → universities, seeds indexed with `institution` as the
                                   university → nDCG@10, R@10 for every fixed rule, popularity and the
                                   learned ranker, as mean ± std over folds grouped by project
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .embed import TextEncoder, Vectors
from .engine import Engine, EngineSettings
from .index import Collection, fingerprint
from .metrics import Metric, mrr_at, ndcg_at, recall_at
from .rank import DEFAULT_DENSE_WEIGHT
from .ranker.cv import DEFAULT_FOLDS, cross_validate
from .ranker.dataset import JudgedSet, judged_need
from .ranker.decision import decide
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


# ---- metrics (matcher/metrics.py) ---------------------------------------

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


def judged_set(queries_dir: Path, seeds_path: Path, encoder: TextEncoder, *, cache_dir: Path | None = None,
               settings: EngineSettings | None = None, progress: Progress = None) -> JudgedSet:
    """Index the seeds (vectors from the cache where known), search each need once, and judge its partners."""
    queries_dir, seeds_path = Path(queries_dir), Path(seeds_path)
    queries = read_jsonl(queries_dir / "queries.jsonl")
    qrels = read_qrels(queries_dir / "qrels.tsv")
    seeds = load_kaken_seeds(seeds_path)
    settings = settings or EngineSettings()
    name = queries_dir.name

    started = time.perf_counter()

    def report(done: int, total: int) -> None:
        if progress:
            progress(f"{name}: シーズの索引", done, total)

    cache = PassageCache(encoder, Path(cache_dir) / f"passages-{encoder.name}.npz") if cache_dir else None
    engine = Engine(cache or encoder, settings=settings)
    try:
        engine.sync_seeds(seeds, progress=report)
    finally:
        if cache is not None:
            cache.save()
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    vectors = encoder.encode_queries([q["text"] for q in queries])
    seed_counts = Counter(s.university for s in seeds)
    needs = []
    for i, (q, vector) in enumerate(zip(queries, vectors, strict=True)):
        query_id = str(q["_id"])
        if query_id not in qrels:
            continue  # an unjudged need tells nothing about any method
        # the engine's own search (Engine.match with no prefecture): same candidates, same normalisation
        found = hybrid_search(engine.seed_index, vector, engine.tokenizer.terms(q["text"]),
                              candidates=settings.candidates, dense_weight=settings.dense_weight)
        needs.append(judged_need(query_id, str(q.get("project") or query_id), found, engine.seeds, seed_counts,
                                 qrels[query_id]))
        if progress:
            progress(f"{name}: 検索と特徴量", i + 1, len(queries))
    info: Figures = {"queries_dir": str(queries_dir), "seeds": str(seeds_path), "seed_count": len(seeds),
                     "universities": len(seed_counts), "needs": len(needs), "index_seconds": round(index_seconds, 1),
                     "search_seconds": round(time.perf_counter() - started, 1)}
    return JudgedSet(name, needs, [u for u, _ in seed_counts.most_common()], info)


def single_split(judged: JudgedSet, aggregation: str) -> Figures:
    """The figures over all needs of a set at once (no folds): fixed rules and popularity only, since a
    learned ranker scored on the needs it was trained on would say nothing."""
    qrels = {n.query_id: dict(n.relevant) for n in judged.needs}
    by_rule = {rule: ranking_metrics({n.query_id: n.rules[rule] for n in judged.needs}, qrels)
               for rule in judged.needs[0].rules} if judged.needs else {}
    return {**judged.info,
            "engine": {"aggregation": aggregation, **by_rule.get(aggregation, {})},
            "popularity": ranking_metrics({n.query_id: judged.popularity[:10] for n in judged.needs}, qrels),
            "by_aggregation": by_rule}


def need2univ(queries_dir: Path, seeds_path: Path, encoder: TextEncoder, *,
              notop10: tuple[Path, Path] | None = None, folds: int = DEFAULT_FOLDS, cache_dir: Path | None = None,
              settings: EngineSettings | None = None, progress: Progress = None) -> Figures:
    """Needs → universities: every fixed rule, popularity and the learned ranker, cross-validated over `folds`
    folds grouped by project (rankers trained on the first set's other folds).

    `notop10`: (queries, seeds) of the same needs without the largest universities; with it, the figures
    of both sets come from the same folds and the decision on the default ranking is made and printed.
    """
    settings = settings or EngineSettings()
    sets = [judged_set(queries_dir, seeds_path, encoder, cache_dir=cache_dir, settings=settings, progress=progress)]
    if notop10 is not None:
        sets.append(judged_set(*notop10, encoder, cache_dir=cache_dir, settings=settings, progress=progress))
    if len(sets) == 2 and sets[0].name == sets[1].name:
        sets[1].name += "-2"
    started = time.perf_counter()
    cv = cross_validate({s.name: s.needs for s in sets}, {s.name: s.popularity for s in sets},
                        train_on=sets[0].name, k=folds)
    result: Figures = {"task": "need2univ", "sets": {s.name: single_split(s, settings.aggregation) for s in sets},
                       "cv": cv.to_json(), "cv_seconds": round(time.perf_counter() - started, 1)}
    if len(sets) == 2:
        result["decision"] = decide(cv.figures, full=sets[0].name, sizeless=sets[1].name).to_json()
    return result
