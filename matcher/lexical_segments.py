"""Immutable BM25 segments: raw term counts under global term ids, scored against global statistics.

A segment stores what its documents *are* (term counts and lengths), never a BM25 weight. The weights
depend on N, avgdl and the document frequencies of the whole index, which move with every write; a
segment that baked them in would be stale after any change. Scoring computes the weights of the query's
columns only, from statistics passed in by the index, so a document scores exactly as it would in a
from-scratch index whichever segment holds it.

Term ids are global and only ever grow (an index's vocabulary), so segments built at different times
agree on them; a segment built before a term existed simply has no column for it.

`build_merged` is the O(N) part of a merge. It reads only immutable inputs (the old main segment, a
copy of its tombstone mask, the encoded delta documents), so it can run outside any lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy import sparse

Ids = npt.NDArray[np.int64]
# ids up to this many times the rows (plus the margin) are looked up in an array indexed by id (Segment.rows_of)
DENSE_IDS_FACTOR = 4
DENSE_IDS_MARGIN = 1 << 16
Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Scores = npt.NDArray[np.float32]
DocIds = Sequence[int] | Ids  # ids as callers hold them: a list, or an array that came out of a search


@dataclass(frozen=True)
class Stats:
    """The whole index's BM25 parameters and statistics at the moment of a query."""

    n_docs: int
    avgdl: float
    k1: float
    b: float


@dataclass(frozen=True, eq=False)
class EncodedDoc:
    """One document's term counts under global term ids; never changed after creation."""

    term_ids: Ids
    counts: Floats
    length: int


@dataclass(frozen=True, eq=False)
class Segment:
    """Documents as rows of a (rows × terms) matrix of raw counts, held twice: CSC because a query reads
    columns, CSR because a write that replaces or deletes a document reads its row (to take it out of the
    whole index's statistics). Both are built off the lock, with the segment; the segment is the only copy
    of its documents' terms (the index keeps no per-document dicts: 10^5 of them cost seconds to load and
    hundreds of MB)."""

    row_ids: Ids
    counts: sparse.csc_matrix
    rows: sparse.csr_matrix
    lengths: Floats

    @cached_property
    def _row_by_id(self) -> npt.NDArray[np.int32] | None:
        """id → row (-1: not held) as an array indexed by id, where ids are dense enough (the database's are);
        None where they are not. The segment never changes, so computed once."""
        if not len(self.row_ids):
            return None
        low, high = int(self.row_ids.min()), int(self.row_ids.max())
        if low < 0 or high >= DENSE_IDS_FACTOR * len(self.row_ids) + DENSE_IDS_MARGIN:
            return None
        table = np.full(high + 1, -1, dtype=np.int32)  # 4 bytes an id: rows stay far below 2^31
        table[self.row_ids] = np.arange(len(self.row_ids), dtype=np.int32)
        return table

    @cached_property
    def _id_order(self) -> Ids:
        order: Ids = np.argsort(self.row_ids, kind="stable")
        return order

    def rows_of(self, doc_ids: Ids) -> Ids:
        """The row of each of `doc_ids`, -1 where the segment does not hold it: one array lookup where ids are
        dense (a binary search per id over 10^6 rows cost 1 ms a search), else a search of the sorted ids."""
        table = self._row_by_id
        if table is None:
            return positions_in(self.row_ids, doc_ids, self._id_order)
        inside = (doc_ids >= 0) & (doc_ids < len(table))
        rows: Ids = np.where(inside, table[np.where(inside, doc_ids, 0)], -1).astype(np.int64)
        return rows

    def row_at(self, doc_id: int) -> int | None:
        """The row of one document; None where the segment does not hold it."""
        row = int(self.rows_of(np.array([doc_id], dtype=np.int64))[0])
        return None if row < 0 else row

    def row(self, row: int) -> tuple[Ids, Floats]:
        """(term ids, counts) of one row."""
        start, stop = self.rows.indptr[row], self.rows.indptr[row + 1]
        return self.rows.indices[start:stop].astype(np.int64), self.rows.data[start:stop]

    @property
    def n_terms(self) -> int:
        return int(self.counts.shape[1])

    def __len__(self) -> int:
        return len(self.row_ids)

    def score(self, term_ids: Sequence[int], idf: Sequence[float], stats: Stats) -> Floats:
        """BM25 of every row for the query terms (given in a fixed order, with their idf), rows in order."""
        present = [(t, w) for t, w in zip(term_ids, idf, strict=True) if t < self.n_terms]
        if not present or not len(self):
            return np.zeros(len(self), dtype=np.float64)
        columns = self.counts[:, [t for t, _ in present]]
        rows = columns.indices
        tf = columns.data
        term_idf = np.repeat(np.array([w for _, w in present], dtype=np.float64), np.diff(columns.indptr))
        # the same expression, in the same order, as a rebuild's weight matrix: scores agree to the last bits
        norm = stats.k1 * (1 - stats.b + stats.b * self.lengths[rows] / stats.avgdl)
        weights = term_idf * tf * (stats.k1 + 1) / (tf + norm)
        return np.bincount(rows, weights=weights, minlength=len(self)).astype(np.float64)


def segment_of(docs: Mapping[int, EncodedDoc], n_terms: int) -> Segment:
    """A segment holding `docs` (id → encoded document), rows in the mapping's order."""
    row_ids = np.fromiter(docs.keys(), dtype=np.int64, count=len(docs))
    encoded = list(docs.values())
    sizes = np.fromiter((len(d.term_ids) for d in encoded), dtype=np.int64, count=len(encoded))
    rows = np.repeat(np.arange(len(encoded), dtype=np.int64), sizes)
    # the empty tail gives the dtype and lets an empty mapping through
    cols = np.concatenate([*(d.term_ids for d in encoded), np.empty(0, dtype=np.int64)])
    data = np.concatenate([*(d.counts for d in encoded), np.empty(0, dtype=np.float64)])
    lengths = np.fromiter((d.length for d in encoded), dtype=np.float64, count=len(encoded))
    return _segment(row_ids, rows, cols, data, lengths, n_terms)


def empty_segment() -> Segment:
    return segment_of({}, 0)


def build_merged(main: Segment, alive: Mask, delta: Mapping[int, EncodedDoc], n_terms: int) -> Segment:
    """One segment with the live rows of `main` followed by the `delta` documents. O(N); no shared state."""
    kept = np.flatnonzero(alive)
    new_row = np.cumsum(alive) - 1  # old main row → its row in the merged segment (for live rows)
    coo = main.counts.tocoo()
    live = alive[coo.row] if coo.nnz else np.zeros(0, dtype=bool)
    fresh = segment_of(delta, n_terms).counts.tocoo()
    rows = np.concatenate([new_row[coo.row[live]], fresh.row.astype(np.int64) + len(kept)])
    cols = np.concatenate([coo.col[live].astype(np.int64), fresh.col.astype(np.int64)])
    data = np.concatenate([coo.data[live], fresh.data])
    delta_lengths = np.fromiter((d.length for d in delta.values()), dtype=np.float64, count=len(delta))
    row_ids = np.concatenate([main.row_ids[kept], np.fromiter(delta.keys(), dtype=np.int64, count=len(delta))])
    lengths = np.concatenate([main.lengths[kept], delta_lengths])
    return _segment(row_ids, rows, cols, data, lengths, n_terms)


def _segment(row_ids: Ids, rows: Ids, cols: Ids, data: Floats, lengths: Floats, n_terms: int) -> Segment:
    by_row = sparse.csr_matrix((data, (rows, cols)), shape=(len(row_ids), n_terms))
    return segment_of_rows(row_ids, by_row, lengths)


def segment_of_rows(row_ids: Ids, by_row: sparse.csr_matrix, lengths: Floats) -> Segment:
    """A segment over a CSR matrix of raw counts whose row k is document row_ids[k] (a loaded snapshot's form)."""
    by_row.sum_duplicates()
    by_row.sort_indices()
    return Segment(row_ids, by_row.tocsc(), by_row, lengths)


@dataclass(frozen=True, eq=False)
class DocScores:
    """One query's BM25 score of every document: the main segment's rows (dead rows 0), then the delta's."""

    main: Segment
    main_scores: npt.NDArray[np.float64]
    delta: Segment
    delta_scores: npt.NDArray[np.float64]

    def of(self, doc_ids: DocIds) -> npt.NDArray[np.float64]:
        """The scores of `doc_ids`, 0 for ids not held (a document in the delta is dead in the main)."""
        doc_ids = np.asarray(doc_ids, dtype=np.int64)
        main_at = self.main.rows_of(doc_ids)
        out = np.where(main_at >= 0, self.main_scores[main_at.clip(min=0)], 0.0) if len(self.main) else \
            np.zeros(len(main_at), dtype=np.float64)
        if len(self.delta):
            delta_at = self.delta.rows_of(doc_ids)
            out = np.where(delta_at >= 0, self.delta_scores[delta_at.clip(min=0)], out)
        return out

    @cached_property
    def hits(self) -> tuple[Ids, npt.NDArray[np.float64]]:
        """(ids, scores) of the documents sharing a query term, main rows then delta rows: what every search of
        this query ranks (computed once: at 10^6 documents each search concatenated and scanned them all)."""
        ids = np.concatenate([self.main.row_ids, self.delta.row_ids])
        scores = np.concatenate([self.main_scores, self.delta_scores])
        hit = np.flatnonzero(scores > 0)
        return ids[hit], scores[hit]

    def top(self, k: int, allowed: DocIds | None) -> tuple[Ids, Scores]:
        """The k best positive scores (ids, float32 scores), among `allowed` ids if given; ties by id."""
        ids, scores = self.hits
        if allowed is not None:  # only the documents sharing a term are looked up: far fewer than all
            inside = np.isin(ids, np.asarray(allowed, dtype=np.int64))
            ids, scores = ids[inside], scores[inside]
        order = _top_k(ids, scores, k)
        return ids[order], scores[order].astype(np.float32)


def positions_in(row_ids: Ids, doc_ids: Ids, sorter: Ids | None = None) -> Ids:
    """The position of each of `doc_ids` in `row_ids`, -1 where absent (also search_shard's id → column maps).
    `sorter`: `np.argsort(row_ids)`, where the caller keeps it."""
    if not len(row_ids):
        return np.full(len(doc_ids), -1, dtype=np.int64)
    sorter = np.argsort(row_ids, kind="stable") if sorter is None else sorter
    at = np.searchsorted(row_ids, doc_ids, sorter=sorter).clip(max=len(row_ids) - 1)
    found = sorter[at]
    return np.where(row_ids[found] == doc_ids, found, -1).astype(np.int64)


def _top_k(ids: Ids, scores: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.intp]:
    """Positions of the k best positive scores, best first, equal scores by id."""
    hit = np.flatnonzero(scores > 0)
    if hit.size > k:
        kth = np.partition(scores[hit], hit.size - k)[hit.size - k]
        hit = hit[scores[hit] >= kth]  # every tie at the cut stays, so the id order decides among them
    order = hit[np.lexsort((ids[hit], -scores[hit]))]
    return order[:k]
