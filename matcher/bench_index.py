"""Benchmark of the index's write path (issue 12, "Persistence O(change)"): figures as JSON.

Synthetic collections of 10^4 and 10^5 items: random unit vectors (dim 384) and ~60 terms per item drawn
from a Zipf vocabulary of 50,000, roughly the shape of real seeds' lemma lists. For each size it measures

- one-item upserts into the Collection (BM25 + FAISS together, then each alone): p50 / p95 / max;
- the first lexical search after a write: *before* = the old design's full rebuild of the BM25 matrix
  (reproduced in `legacy_rebuild`), *after* = the delta segment; plus a search with no write before it;
- a merge of a full delta (max(1,000, 1% N) changes), split into its locked and lock-free parts;
- a snapshot: the copy taken under the caller's lock, then the write (off the lock) and its bytes;
- incremental snapshots over one cycle of bases and deltas, in bytes per change (bench_snapshots.py).

Every figure has wall time and CPU time (`time.process_time`): the machine is shared, so wall time
alone overstates what the code costs. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from .bench_snapshots import bench_incremental
from .bench_timing import Figures, once, summary, timed
from .index import Collection
from .lexical import BM25Index

DIM = 384
VOCABULARY = 50_000
TERMS_PER_ITEM = 60
ZIPF_EXPONENT = 1.0
QUERY_TERMS = 30
CANDIDATES = 1000  # what hybrid search asks BM25 for



class Corpus:
    """Reproducible synthetic items: vectors and term lists."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.words = [f"w{rank}" for rank in range(VOCABULARY)]
        weights = 1.0 / np.arange(1, VOCABULARY + 1) ** ZIPF_EXPONENT
        self.p = weights / weights.sum()

    def vectors(self, n: int) -> npt.NDArray[np.float32]:
        v = self.rng.standard_normal((n, DIM)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v

    def terms(self, n: int, per_item: int = TERMS_PER_ITEM) -> list[list[str]]:
        drawn = self.rng.choice(VOCABULARY, size=(n, per_item), p=self.p)
        words = self.words
        return [[words[r] for r in row] for row in drawn.tolist()]


def legacy_rebuild(docs: dict[int, Counter[str]], k1: float = 1.2, b: float = 0.75) -> sparse.csc_matrix:
    """The weight matrix the old BM25Index rebuilt from every document on the first search after a change."""
    vocab: dict[str, int] = {}
    rows, cols, tfs = [], [], []
    lengths = np.empty(len(docs), dtype=np.float64)
    for row, tf in enumerate(docs.values()):
        lengths[row] = sum(tf.values())
        for term, count in tf.items():
            rows.append(row)
            cols.append(vocab.setdefault(term, len(vocab)))
            tfs.append(count)
    rows_a, cols_a, tf_a = np.asarray(rows), np.asarray(cols), np.asarray(tfs, dtype=np.float64)
    df = np.bincount(cols_a, minlength=len(vocab))
    idf = np.log1p((len(docs) - df + 0.5) / (df + 0.5))
    norm = k1 * (1 - b + b * lengths[rows_a] / max(lengths.mean(), 1e-9))
    weights = idf[cols_a] * tf_a * (k1 + 1) / (tf_a + norm)
    return sparse.csc_matrix((weights, (rows_a, cols_a)), shape=(len(docs), len(vocab)))


def bench_upserts(collection: Collection, corpus: Corpus, samples: int) -> Figures:
    """One-item updates of existing items: the whole Collection.upsert, then BM25 and FAISS alone."""
    n = len(collection)
    ids = corpus.rng.integers(0, n, size=4 * samples).tolist()
    vectors, terms = corpus.vectors(4 * samples), corpus.terms(4 * samples)
    whole, lexical, dense, before = [], [], [], []
    for k in range(samples):
        whole.append(timed(partial(collection.upsert, [ids[k]], vectors[k:k + 1], [terms[k]], [f"f{k}"])))
    for k in range(samples, 2 * samples):
        lexical.append(timed(partial(collection.lexical.upsert, ids[k], terms[k])))
    for k in range(2 * samples, 3 * samples):
        one = np.array([ids[k]], dtype=np.int64)
        dense.append(timed(partial(collection._overwrite_dense, one, vectors[k:k + 1])))
    for k in range(3 * samples, 4 * samples):
        before.append(timed(partial(_remove_and_add, collection, ids[k], vectors[k:k + 1])))
    return {"collection": summary(whole), "bm25_only": summary(lexical), "faiss_only": summary(dense),
            "faiss_remove_and_add_before": summary(before)}


def _remove_and_add(collection: Collection, item_id: int, vector: npt.NDArray[np.float32]) -> None:
    """How Collection.upsert replaced a vector before it overwrote in place: FAISS remove (O(N)) + add."""
    one = np.array([item_id], dtype=np.int64)
    collection._remove_dense(one)
    collection.dense.add_with_ids(vector, one)


def bench_search_after_write(collection: Collection, corpus: Corpus, samples: int, rebuilds: int) -> Figures:
    index = collection.lexical
    queries = corpus.terms(samples, QUERY_TERMS)
    new_terms = corpus.terms(samples)
    n = len(index)
    after = []
    for k in range(samples):
        index.upsert(int(corpus.rng.integers(0, n)), new_terms[k])
        after.append(timed(partial(index.search, queries[k], CANDIDATES)))
    steady = [timed(partial(index.search, queries[k], CANDIDATES)) for k in range(samples)]
    docs = {doc_id: index.terms_of(doc_id) for doc_id in index.ids()}
    before = [timed(partial(legacy_rebuild, docs)) for _ in range(rebuilds)]
    return {"before_full_rebuild": summary(before), "after_delta": summary(after), "no_write_before": summary(steady),
            "delta_items_at_end": index.pending}


def bench_merge(index: BM25Index, corpus: Corpus) -> Figures:
    """Fill the delta to the threshold, then merge it in the three steps a background merger would take."""
    index.merge()
    threshold = index.merge_threshold()
    index.auto_merge = False
    terms = corpus.terms(threshold)
    ids = corpus.rng.integers(0, len(index), size=threshold).tolist()
    index.upsert_many(zip(ids, terms, strict=True))
    pending = index.pending
    plan_box: list[Any] = []
    begin = timed(lambda: plan_box.append(index.begin_merge()))
    merged_box: list[Any] = []
    build = timed(lambda: merged_box.append(plan_box[0].build()))
    finish = timed(lambda: index.finish_merge(plan_box[0], merged_box[0]))
    index.auto_merge = True
    total = (begin[0] + build[0] + finish[0], begin[1] + build[1] + finish[1])
    return {"threshold": threshold, "pending_merged": pending, "begin_under_lock": once(begin),
            "build_off_lock": once(build), "finish_under_lock": once(finish),
            "amortised_per_write": once((total[0] / pending, total[1] / pending))}


def bench_snapshot(collection: Collection, samples: int) -> Figures:
    copies = [timed(collection.snapshot) for _ in range(samples)]
    snapshot = collection.snapshot(applied_sequence=1)
    with tempfile.TemporaryDirectory() as folder:
        written: list[int] = []
        write = timed(lambda: written.append(snapshot.write(Path(folder))))
        load = timed(lambda: Collection.load(Path(folder)))
    return {"copy_under_lock": summary(copies), "write_off_lock": once(write), "bytes_written": written[0],
            "load": once(load)}


def bench_size(n: int, *, samples: int = 200, seed: int = 0) -> Figures:
    corpus = Corpus(seed)
    ids, vectors, terms = list(range(n)), corpus.vectors(n), corpus.terms(n)
    collection = Collection(DIM, "bench")
    build = timed(lambda: collection.upsert(ids, vectors, terms, [f"f{i}" for i in ids]))
    figures: Figures = {"items": n, "build": once(build)}
    figures["upsert_one"] = bench_upserts(collection, corpus, samples)
    figures["first_search_after_write"] = bench_search_after_write(collection, corpus, min(samples, 50), 3)
    figures["merge"] = bench_merge(collection.lexical, corpus)
    figures["snapshot"] = bench_snapshot(collection, 5)
    figures["incremental_snapshots"] = bench_incremental(collection, corpus)
    return figures


def run(sizes: Sequence[int] = (10_000, 100_000), *, samples: int = 200, seed: int = 0) -> Figures:
    """Figures for each size, with the conditions they were taken under."""
    import os
    import platform

    return {"benchmark": "index write path (issue 12)", "cpus": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version(), "load_average": list(os.getloadavg()),
            "sizes": [bench_size(n, samples=samples, seed=seed) for n in sizes]}
