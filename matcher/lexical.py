"""BM25 over content-word lemmas, with stable int64 ids and add/update/delete.

Written here rather than taken from rank_bm25 or bm25s because the engine
needs three things those lack together: stable external ids, in-place
add/update/delete, and a plain on-disk form. The scoring is Okapi BM25
(Robertson & Zaragoza 2009) with the Lucene idf, log(1 + (N - df + .5)/(df + .5)),
which never goes negative.

Documents are kept as term-frequency dicts (the source of truth inside this
index); the sparse weight matrix is derived from them lazily, on the first
search after a change, so a burst of edits costs one rebuild.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]
# ids as callers hold them: a list, or an array that came out of a search
DocIds = Sequence[int] | Ids


class BM25Index:
    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._docs: dict[int, Counter[str]] = {}
        # derived from _docs by _ensure_matrix; _matrix is None while they are stale
        self._matrix: sparse.csc_matrix | None = None  # docs × vocabulary, BM25 weights
        self._row_ids: Ids = np.empty(0, dtype=np.int64)
        self._row_of: dict[int, int] = {}
        self._vocab: dict[str, int] = {}
        self._idf: npt.NDArray[np.float64] = np.empty(0)

    # ---- changes -------------------------------------------------------
    def upsert(self, doc_id: int, terms: Sequence[str]) -> None:
        self.upsert_many([(doc_id, terms)])

    def upsert_many(self, items: Iterable[tuple[int, Sequence[str]]]) -> None:
        for doc_id, terms in items:
            self._docs[int(doc_id)] = Counter(terms)
        self._matrix = None

    def delete(self, doc_id: int) -> bool:
        removed = self._docs.pop(int(doc_id), None) is not None
        if removed:
            self._matrix = None
        return removed

    # ---- reading -------------------------------------------------------
    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: int) -> bool:
        return int(doc_id) in self._docs

    def ids(self) -> list[int]:
        return list(self._docs)

    def terms_of(self, doc_id: int) -> Counter[str]:
        return self._docs[int(doc_id)]

    def idf(self, term: str) -> float:
        self._ensure_matrix()
        col = self._vocab.get(term)
        return float(self._idf[col]) if col is not None else 0.0

    def search(self, query_terms: Sequence[str], k: int, allowed: DocIds | None = None) -> tuple[Ids, Scores]:
        """Top-k (ids, scores) by BM25, among `allowed` ids if given; documents sharing no term are left out."""
        scores = self.score_all(query_terms)
        if scores is None:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        if allowed is not None:
            scores = _mask_to(scores, self._row_ids, allowed)
        hit = np.flatnonzero(scores > 0)
        if hit.size > k:
            hit = hit[np.argpartition(-scores[hit], k - 1)[:k]]
        order = hit[np.argsort(-scores[hit], kind="stable")]
        return self._row_ids[order], scores[order].astype(np.float32)

    def score_ids(self, query_terms: Sequence[str], doc_ids: DocIds) -> Scores:
        """BM25 scores of the given documents (0 for unknown ids)."""
        scores = self.score_all(query_terms)
        if scores is None:
            return np.zeros(len(doc_ids), dtype=np.float32)
        row_of = self._row_of
        return np.array([scores[row_of[i]] if i in row_of else 0.0 for i in map(int, doc_ids)], dtype=np.float32)

    def score_all(self, query_terms: Sequence[str]) -> npt.NDArray[np.float64] | None:
        """The BM25 score of every document, in row order; None when no query term is in any document."""
        self._ensure_matrix()
        cols = [self._vocab[t] for t in set(query_terms) if t in self._vocab]
        if not cols or self._matrix is None:
            return None
        # each distinct query term counts once: needs repeat words for style, not weight
        return np.asarray(self._matrix[:, cols].sum(axis=1)).ravel()

    # ---- persistence (the engine's index directory stores this) --------
    def to_state(self) -> dict[str, Any]:
        return {
            "k1": self.k1,
            "b": self.b,
            "docs": {str(doc_id): dict(tf) for doc_id, tf in self._docs.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BM25Index:
        index = cls(k1=float(state["k1"]), b=float(state["b"]))
        index._docs = {int(doc_id): Counter(tf) for doc_id, tf in state["docs"].items()}
        return index

    # ---- derived matrix ------------------------------------------------
    def _ensure_matrix(self) -> None:
        if self._matrix is not None or not self._docs:
            return
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        row_ids = np.fromiter(self._docs.keys(), dtype=np.int64, count=len(self._docs))
        lengths = np.empty(len(row_ids), dtype=np.float64)
        for row, doc_id in enumerate(row_ids):
            tf = self._docs[int(doc_id)]
            lengths[row] = sum(tf.values())
            for term, count in tf.items():
                rows.append(row)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(count)
        n_docs = len(row_ids)
        rows_a = np.asarray(rows, dtype=np.int64)
        cols_a = np.asarray(cols, dtype=np.int64)
        tf_a = np.asarray(tfs, dtype=np.float64)
        df = np.bincount(cols_a, minlength=len(vocab))
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avgdl = max(lengths.mean(), 1e-9)
        norm = self.k1 * (1 - self.b + self.b * lengths[rows_a] / avgdl)
        weights = idf[cols_a] * tf_a * (self.k1 + 1) / (tf_a + norm)
        self._matrix = sparse.csc_matrix((weights, (rows_a, cols_a)), shape=(n_docs, len(vocab)))
        self._row_ids = row_ids
        self._row_of = {int(doc_id): row for row, doc_id in enumerate(row_ids)}
        self._vocab = vocab
        self._idf = idf


def _mask_to(scores: npt.NDArray[np.float64], row_ids: Ids, allowed: DocIds) -> npt.NDArray[np.float64]:
    """Scores with every document outside `allowed` set to zero."""
    return np.where(np.isin(row_ids, allowed), scores, 0.0)
