"""BM25 over content-word lemmas, with stable int64 ids, add/update/delete in O(change), and a plain on-disk form.

Written here rather than taken from rank_bm25 or bm25s because the engine needs three things those lack
together: stable external ids, in-place add/update/delete, and a plain on-disk form. The scoring is Okapi
BM25 (Robertson & Zaragoza 2009) with the Lucene idf, log(1 + (N - df + .5)/(df + .5)), which never goes
negative.

Design (issue 12, "Persistence O(change)"):

- **Two segments.** A large immutable *main* segment and a small *delta* (lexical_segments.py). An upsert
  or delete marks the document's row in the main dead (a tombstone mask) and puts the new version in the
  delta; nothing O(N) happens on a write. The delta's matrix is derived lazily on the first search after a
  change, costing O(delta), not O(N).
- **Scores equal a rebuild.** Segments hold raw term counts, not weights. N, the total length (so avgdl)
  and every document frequency are kept exactly for the whole index, updated by each write, and a query
  weights both segments with them. Query terms are taken in a fixed (sorted) order, so each document's sum
  is added up in the same order however the documents are spread over segments.
- **Merge policy.** When the delta plus the tombstones pass max(`min_delta`, `delta_fraction` × N), the
  delta and the live main rows are merged into a new main. A merge is O(N) but happens once per that many
  writes, so its cost per write is amortised (O(1/`delta_fraction`) rows per write at scale).
- **Merging outside a reader's critical section.** `begin_merge` (O(delta), under the caller's lock)
  freezes what to merge; `MergePlan.build` (O(N)) touches no shared state and can run in another thread
  while writes go on; `finish_merge` (O(writes since begin), under the lock) swaps the new main in and
  carries over the writes made in between. `merge()` does the three in a row, and writes do it
  automatically unless `auto_merge=False`; a service that merges in the background sets that and calls
  `merge_outside_lock(index, its_lock)` from a background thread.

- **No per-document dicts.** The segments are the only copy of the documents' terms: a write that
  replaces a document reads its old row from the segment (CSR) to take it out of the statistics. A loaded
  snapshot is one main segment built from arrays (`BM25State`), with no Python loop over documents: at
  10^5 documents that took start-up from 8.8 s to well under a second, and the Counters it no longer
  keeps were the largest part of the index's memory.

Not thread-safe by itself, like FAISS: the caller serialises writes with searches (api/service.py's lock).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from .lexical_segments import (
    DocIds,
    DocScores,
    EncodedDoc,
    Ids,
    Mask,
    Scores,
    Segment,
    Stats,
    build_merged,
    empty_segment,
    segment_of,
    segment_of_rows,
)

DEFAULT_MIN_DELTA = 1000
DEFAULT_DELTA_FRACTION = 0.01


@dataclass(frozen=True, eq=False)
class BM25State:
    """An index as plain arrays, the form a snapshot stores: one CSR matrix of raw counts, row k holding
    document `row_ids[k]`, with column t the term `terms[t]`. Loading it builds no per-document object."""

    k1: float
    b: float
    row_ids: Ids
    indptr: npt.NDArray[np.int64]
    term_ids: npt.NDArray[np.int32]
    counts: npt.NDArray[np.uint32]
    terms: list[str]


@dataclass(frozen=True, eq=False)
class BM25Snapshot:
    """The documents of an index at one moment, taken under the caller's lock in O(delta + V) copies (the
    main segment is immutable and shared); `state()` folds them into one segment later, off the lock."""

    k1: float
    b: float
    main: Segment
    alive: Mask
    delta: dict[int, EncodedDoc]
    terms: list[str]

    def ids(self) -> set[int]:
        return set(self.main.row_ids[self.alive].tolist()) | set(self.delta)

    def state(self) -> BM25State:
        merged = build_merged(self.main, self.alive, self.delta, len(self.terms))
        rows = merged.rows
        return BM25State(self.k1, self.b, merged.row_ids, rows.indptr.astype(np.int64),
                         rows.indices.astype(np.int32), rows.data.astype(np.uint32), self.terms)


@dataclass(frozen=True, eq=False)
class MergePlan:
    """What one merge folds together, frozen at `begin_merge`: only immutable objects and private copies."""

    main: Segment
    alive: Mask
    delta: dict[int, EncodedDoc]
    n_terms: int
    touched: set[int] = field(default_factory=set)  # ids written since begin_merge, filled in by the index

    def build(self) -> Segment:
        """The merged main segment (O(N)); safe to call without the index's lock."""
        return build_merged(self.main, self.alive, self.delta, self.n_terms)


class BM25Index:
    def __init__(self, k1: float = 1.2, b: float = 0.75, *, min_delta: int = DEFAULT_MIN_DELTA,
                 delta_fraction: float = DEFAULT_DELTA_FRACTION, auto_merge: bool = True) -> None:
        self.k1 = k1
        self.b = b
        self.min_delta = min_delta
        self.delta_fraction = delta_fraction
        self.auto_merge = auto_merge
        # whole-index statistics, kept exact by every write: a query needs nothing else to weight a segment
        self._count = 0  # live documents
        self._vocab: dict[str, int] = {}  # term → global term id; grows only, so segments agree on ids
        self._terms: list[str] = []  # global term id → term
        self._df: dict[str, int] = {}
        self._total_length = 0
        self._main = empty_segment()
        self._alive: Mask = np.zeros(0, dtype=bool)  # tombstones of the main segment
        self._dead = 0
        self._delta: dict[int, EncodedDoc] = {}
        self._delta_segment: Segment | None = None  # derived from _delta on the next search; None while stale
        self._plan: MergePlan | None = None  # the merge in progress, if any

    # ---- changes -------------------------------------------------------
    def upsert(self, doc_id: int, terms: Sequence[str]) -> None:
        self.upsert_many([(doc_id, terms)])

    def upsert_many(self, items: Iterable[tuple[int, Sequence[str]]]) -> None:
        for doc_id, terms in items:
            self._put(int(doc_id), Counter(terms))
        self._merge_if_due()

    def delete(self, doc_id: int) -> bool:
        removed = self._forget(int(doc_id))
        if removed:
            self._merge_if_due()
        return removed

    def _put(self, doc_id: int, tf: Counter[str]) -> None:
        self._forget(doc_id)
        for term in tf:
            self._df[term] = self._df.get(term, 0) + 1
        self._total_length += sum(tf.values())
        self._count += 1
        self._delta[doc_id] = self._encode(tf)
        self._delta_segment = None
        self._touch(doc_id)

    def _forget(self, doc_id: int) -> bool:
        """Take the document out of the statistics and out of whichever segment holds it."""
        held = self._held(doc_id)
        if held is None:
            return False
        term_ids, counts = held
        for term_id in term_ids.tolist():
            term = self._terms[term_id]
            left = self._df[term] - 1
            if left:
                self._df[term] = left
            else:
                del self._df[term]
        self._total_length -= int(counts.sum())
        self._count -= 1
        if self._delta.pop(doc_id, None) is not None:
            self._delta_segment = None
        else:
            self._alive[self._main.row_at(doc_id)] = False
            self._dead += 1
        self._touch(doc_id)
        return True

    def _held(self, doc_id: int) -> tuple[Ids, npt.NDArray[np.float64]] | None:
        """(term ids, counts) of a live document, from whichever segment holds it; None when it is not held."""
        encoded = self._delta.get(doc_id)
        if encoded is not None:
            return encoded.term_ids, encoded.counts
        row = self._main.row_at(doc_id)
        if row is None or not self._alive[row]:
            return None
        return self._main.row(row)

    def _touch(self, doc_id: int) -> None:
        if self._plan is not None:
            self._plan.touched.add(doc_id)

    def _encode(self, tf: Counter[str]) -> EncodedDoc:
        vocab, terms = self._vocab, self._terms
        for term in tf:
            if term not in vocab:
                vocab[term] = len(terms)
                terms.append(term)
        term_ids = np.fromiter((vocab[t] for t in tf), dtype=np.int64, count=len(tf))
        counts = np.fromiter(tf.values(), dtype=np.float64, count=len(tf))
        return EncodedDoc(term_ids, counts, int(sum(tf.values())))

    # ---- merging -------------------------------------------------------
    @property
    def pending(self) -> int:
        """Changes not yet merged: documents in the delta plus tombstones in the main."""
        return len(self._delta) + self._dead

    def merge_threshold(self) -> int:
        return max(self.min_delta, int(self.delta_fraction * self._count))

    def merge_due(self) -> bool:
        return self._plan is None and self.pending > self.merge_threshold()

    def merge(self) -> None:
        """Fold the delta and the tombstones into a new main segment now."""
        plan = self.begin_merge()
        self.finish_merge(plan, plan.build())

    def begin_merge(self) -> MergePlan:
        """Freeze what to merge (O(delta)); writes after this are recorded and carried over by finish_merge."""
        self._plan = MergePlan(self._main, self._alive.copy(), dict(self._delta), len(self._vocab))
        return self._plan

    def finish_merge(self, plan: MergePlan, merged: Segment) -> None:
        """Swap in `merged` (plan.build()'s result); O(writes since begin_merge)."""
        if plan is not self._plan:
            raise ValueError("this merge was superseded by a later begin_merge")
        alive = np.ones(len(merged), dtype=bool)
        # the touched documents' merged rows are stale: deleted since, or newer in the delta
        rows = merged.rows_of(np.fromiter(plan.touched, dtype=np.int64, count=len(plan.touched)))
        alive[rows[rows >= 0]] = False
        self._main, self._alive = merged, alive
        self._dead = len(merged) - int(alive.sum())
        self._delta = {d: self._delta[d] for d in plan.touched if d in self._delta}
        self._delta_segment = None
        self._plan = None

    def _merge_if_due(self) -> None:
        if self.auto_merge and self.merge_due():
            self.merge()

    # ---- reading -------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    def __contains__(self, doc_id: int) -> bool:
        return self._held(int(doc_id)) is not None

    def ids(self) -> list[int]:
        """Live ids: the main segment's in row order, then the delta's."""
        return [*self._main.row_ids[self._alive].tolist(), *self._delta]

    def held_documents(self, doc_ids: DocIds) -> list[tuple[Ids, npt.NDArray[np.float64]]]:
        """(global term ids, counts) of each document, for a copy taken under the writers' lock and decoded
        with `term_list()` after it (index_delta.py); KeyError for an id not held."""
        found = []
        for doc_id in np.asarray(doc_ids, dtype=np.int64).tolist():
            held = self._held(doc_id)
            if held is None:
                raise KeyError(doc_id)
            found.append(held)
        return found

    def term_list(self) -> list[str]:
        """A copy of global term id → term."""
        return list(self._terms)

    def terms_of(self, doc_id: int) -> Counter[str]:
        """The document's term counts (a new Counter); KeyError when it is not held."""
        held = self._held(int(doc_id))
        if held is None:
            raise KeyError(doc_id)
        term_ids, counts = held
        return Counter({self._terms[t]: int(c) for t, c in zip(term_ids.tolist(), counts.tolist(), strict=True)})

    def idf(self, term: str) -> float:
        df = self._df.get(term, 0)
        return float(np.log1p((self._count - df + 0.5) / (df + 0.5))) if df else 0.0

    def term_weights(self, query_terms: Iterable[str], doc_id: int) -> dict[str, float]:
        """Each distinct query term's summand in the document's BM25 score (together they make its score).

        For explanations: matcher/explain.py ranks the shared terms by it. Empty for a document not held.
        """
        held = self._held(int(doc_id))
        if held is None:
            return {}
        term_ids, counts = held
        tf = {self._terms[t]: c for t, c in zip(term_ids.tolist(), counts.tolist(), strict=True)}
        norm = self.k1 * (1 - self.b + self.b * sum(tf.values()) / max(self._total_length / self._count, 1e-9))
        return {t: self.idf(t) * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in set(query_terms) if t in tf}

    def scores(self, query_terms: Sequence[str]) -> DocScores | None:
        """BM25 of every document for the query terms, computed once for the several searches and lookups of
        one query (a match searches up to three scopes); None when no query term is held. Valid until the
        index next changes."""
        scored = self._score_segments(query_terms)
        if scored is None:
            return None
        main_scores, delta_scores, delta = scored
        return DocScores(self._main, main_scores, delta, delta_scores)

    def search(self, query_terms: Sequence[str], k: int, allowed: DocIds | None = None,
               scored: DocScores | None = None) -> tuple[Ids, Scores]:
        """Top-k (ids, scores) by BM25, among `allowed` ids if given; documents sharing no term are left out.
        `scored`: this query's `scores`, where the caller has them.

        Equal scores are ordered by id, so the result does not depend on how documents lie in segments.
        """
        scored = self.scores(query_terms) if scored is None else scored
        if scored is None or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        return scored.top(k, allowed)

    def score_ids(self, query_terms: Sequence[str], doc_ids: DocIds, scored: DocScores | None = None) -> Scores:
        """BM25 scores of the given documents (0 for unknown ids). `scored`: as in `search`."""
        return self.exact_scores(query_terms, doc_ids, scored).astype(np.float32)

    def exact_scores(self, query_terms: Sequence[str], doc_ids: DocIds,
                     scored: DocScores | None = None) -> npt.NDArray[np.float64]:
        """`score_ids` in float64, as computed (tests compare these with a rebuild)."""
        scored = self.scores(query_terms) if scored is None else scored
        if scored is None:
            return np.zeros(len(doc_ids), dtype=np.float64)
        return scored.of(doc_ids)

    def _score_segments(self, query_terms: Sequence[str]) -> tuple[npt.NDArray[np.float64],
                                                                     npt.NDArray[np.float64], Segment] | None:
        """(main scores with dead rows 0, delta scores, the delta segment); None when no query term is held."""
        terms = sorted(t for t in set(query_terms) if t in self._df)  # each distinct term counts once
        if not terms:
            return None
        term_ids = [self._vocab[t] for t in terms]
        idf = [self.idf(t) for t in terms]
        stats = Stats(self._count, max(self._total_length / self._count, 1e-9), self.k1, self.b)
        delta = self._current_delta()
        main_scores = self._main.score(term_ids, idf, stats)
        main_scores[~self._alive] = 0.0
        return main_scores, delta.score(term_ids, idf, stats), delta

    def _current_delta(self) -> Segment:
        segment = self._delta_segment
        if segment is None:  # two readers may both build it; either result is the same
            segment = self._delta_segment = segment_of(self._delta, len(self._vocab))
        return segment

    # ---- copies ------------------------------------------------------------
    def copy(self) -> BM25Index:
        """An independent copy that later writes to this index leave as it is, in O(N + V) pointer copies.

        What writes change in place (the dicts, the term list, the tombstone mask) is copied; what they never
        change (the segments, the encoded delta documents) is shared. Scores equal this index's
        at the moment of the copy. For a long read that must not hold the writers' lock (a report job,
        `Collection.reader_copy`); the copy never merges by itself.
        """
        other = BM25Index(self.k1, self.b, min_delta=self.min_delta, delta_fraction=self.delta_fraction,
                          auto_merge=False)
        other._count = self._count
        other._vocab = dict(self._vocab)
        other._terms = list(self._terms)
        other._df = dict(self._df)
        other._total_length = self._total_length
        other._main = self._main
        other._alive = self._alive.copy()
        other._dead = self._dead
        other._delta = dict(self._delta)
        other._delta_segment = self._delta_segment
        return other

    # ---- persistence (the engine's index directory stores this) --------
    def snapshot(self) -> BM25Snapshot:
        """The documents now: the immutable main segment shared, the mask, delta and term list copied."""
        return BM25Snapshot(self.k1, self.b, self._main, self._alive.copy(), dict(self._delta), list(self._terms))

    def to_state(self) -> BM25State:
        return self.snapshot().state()

    @classmethod
    def from_state(cls, state: BM25State) -> BM25Index:
        """The index a state describes, as one main segment; ValueError when the arrays do not fit together."""
        n_rows, n_terms, nnz = len(state.row_ids), len(state.terms), len(state.term_ids)
        shaped = len(state.indptr) == n_rows + 1 and int(state.indptr[0]) == 0 and int(state.indptr[-1]) == nnz \
            and len(state.counts) == nnz and bool(np.all(np.diff(state.indptr) >= 0)) \
            and (nnz == 0 or 0 <= int(state.term_ids.min()) <= int(state.term_ids.max()) < n_terms) \
            and len(set(state.terms)) == n_terms and len(np.unique(state.row_ids)) == n_rows
        if not shaped:
            raise ValueError("BM25 arrays do not fit together")
        index = cls(k1=state.k1, b=state.b)
        counts = state.counts.astype(np.float64)
        by_row = sparse.csr_matrix((counts, state.term_ids, state.indptr), shape=(n_rows, n_terms))
        if not by_row.has_canonical_format:  # a term twice in one row would count twice in df
            raise ValueError("BM25 rows repeat a term or are unsorted")
        lengths = np.asarray(by_row.sum(axis=1), dtype=np.float64).ravel()
        index._main = segment_of_rows(state.row_ids.astype(np.int64), by_row, lengths)
        index._alive = np.ones(n_rows, dtype=bool)
        index._terms = list(state.terms)
        index._vocab = {term: k for k, term in enumerate(index._terms)}
        df = np.bincount(state.term_ids, minlength=n_terms)
        index._df = {index._terms[t]: int(df[t]) for t in np.flatnonzero(df).tolist()}
        index._total_length = int(counts.sum())
        index._count = n_rows
        return index


def merge_outside_lock(index: BM25Index, lock: AbstractContextManager[Any]) -> bool:
    """Merge `index` if due, holding `lock` only for the two short steps; the O(N) build runs without it.

    Returns whether a merge was swapped in (False when none was due, or another merge superseded it).
    """
    with lock:
        if not index.merge_due():
            return False
        plan = index.begin_merge()
    merged = plan.build()
    with lock:
        try:
            index.finish_merge(plan, merged)
        except ValueError:
            return False
    return True
