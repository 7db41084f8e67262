"""Hybrid search of many queries at once, with the candidates and scores `search.hybrid_search` gives each.

    batch = BatchSearch(collection, doc_ids, vocabulary, candidates=1000)
    found, within = batch.search(vectors, terms, groups, group_columns)

For a block of queries: the cosines with every stored vector come from one float64 matrix product
(`search.exact_cosines`, the same bits as for one query), the BM25 scores from one sparse product
(`lexical_batch.TermWeights`, the same bits as `BM25Index`'s). Per query, as in `hybrid_search`:
the dense top N and the BM25 top N (ties at the cut to the smaller id), their union, the bounds
of that unfiltered union, and the fused score (`rank.fuse_scores`). `within` repeats this inside
one column subset per query (its region's seeds, say), normalised on the query's unfiltered
bounds, as `hybrid_search(allowed=…, bounds=…)` does.

Columns are the caller's: `doc_ids[c]` is the document of column c (the report uses its seed table
order, ids ascending). Memory: 8 bytes × dim per document (its vector in float64), and about 10 bytes ×
queries × documents per block (the cosines, a mask, the BM25 scores of the documents sharing a term).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .index import Collection
from .lexical_batch import TermWeights
from .rank import DEFAULT_DENSE_WEIGHT, fuse_scores
from .search import DEFAULT_CANDIDATES, exact_cosines, stored_vectors, top_per_row

MODE_WEIGHT = {"hybrid": None, "dense": 1.0, "bm25": 0.0}  # None: the caller's dense weight


@dataclass
class Found:
    """Flat candidates of a block of queries, sorted by query then column."""

    query: np.ndarray  # int64, row of the block
    column: np.ndarray  # int64, the caller's column
    fused: np.ndarray  # float32 in [0, 1]
    dense: np.ndarray  # float32, raw cosine
    lexical: np.ndarray  # float32, raw BM25

    @classmethod
    def empty(cls) -> Found:
        i, f = np.empty(0, np.int64), np.empty(0, np.float32)
        return cls(i, i, f, f, f)


@dataclass
class BlockBounds:
    """Each query's (low, high) of the cosines and of the BM25 scores over its unfiltered candidates."""

    dense_low: np.ndarray
    dense_high: np.ndarray
    lexical_low: np.ndarray
    lexical_high: np.ndarray


class BatchSearch:
    def __init__(self, collection: Collection, doc_ids: np.ndarray, vocabulary: Iterable[str], *,
                 candidates: int = DEFAULT_CANDIDATES, dense_weight: float = DEFAULT_DENSE_WEIGHT,
                 mode: str = "hybrid"):
        if mode not in MODE_WEIGHT:
            raise ValueError(f"unknown mode {mode!r}")
        self.doc_ids = np.asarray(doc_ids, dtype=np.int64)
        self.k = candidates
        self.mode = mode
        weight = MODE_WEIGHT[mode]
        self.dense_weight = dense_weight if weight is None else weight
        self.stored_ids, vectors = stored_vectors(collection)
        # float64 once (8 bytes × dim per document: 307 MB at 10^5 seeds), for exact cosines by one product
        self.vectors = vectors.astype(np.float64)
        # the caller's column of each stored vector, and the stored position of each column (-1: no vector)
        self.column_of = _positions(self.doc_ids, self.stored_ids)
        self.position_of = _positions(self.stored_ids, self.doc_ids)
        self.weights = TermWeights.of(collection.lexical, self.doc_ids, vocabulary)

    def search(self, vectors: np.ndarray, terms: Sequence[Sequence[str]], groups: np.ndarray | None = None,
               group_columns: Mapping[int, np.ndarray] | None = None) -> tuple[Found, Found]:
        """(unfiltered candidates, candidates within each query's group's columns) of a block of queries.

        `groups[i]` names query i's group (negative: none) and `group_columns[g]` the columns of group g."""
        n = len(vectors)
        if n == 0 or not len(self.stored_ids):
            return Found.empty(), Found.empty()
        groups = np.full(n, -1) if groups is None else np.asarray(groups)
        group_columns = group_columns or {}
        cosines = exact_cosines(vectors, self.vectors)  # (queries × stored positions), as hybrid_search's
        lexical = self.weights.scores(terms)  # (queries × columns), sparse: a third of the columns or fewer
        everywhere = self._dense_picks(cosines, np.arange(n), None)
        within_group: dict[int, np.ndarray] = {}
        for group, columns in group_columns.items():
            members = np.flatnonzero(groups == group)
            if len(members) and len(columns):
                within_group.update(zip(members.tolist(), self._dense_picks(cosines, members, columns), strict=True))
        allowed = {g: _mask(columns, len(self.doc_ids)) for g, columns in group_columns.items()}
        scratch = np.zeros(len(self.doc_ids), dtype=np.float32)  # one query's BM25 scores, by column
        found, within = _Rows(), _Rows()
        for i in range(n):
            start, stop = lexical.indptr[i], lexical.indptr[i + 1]
            columns, values = lexical.indices[start:stop], lexical.data[start:stop]
            scratch[columns] = values  # float32: what hybrid_search keeps of a BM25 score
            found.add(i, self._union(everywhere[i], self._lexical_picks(columns, values, None)), cosines, scratch)
            group = int(groups[i])
            if i in within_group:
                picks = self._lexical_picks(columns, values, allowed[group])
                within.add(i, self._union(within_group[i], picks), cosines, scratch)
            scratch[columns] = 0
        return found.fused(None, self.dense_weight), within.fused(found, self.dense_weight)

    def _dense_picks(self, cosines: np.ndarray, members: np.ndarray, columns: np.ndarray | None) -> list[np.ndarray]:
        """Per query of `members`, the stored positions of its dense top N (within `columns` if given)."""
        if self.mode == "bm25":
            return [np.empty(0, dtype=np.int64)] * len(members)
        if columns is None:  # every stored vector, as hybrid_search searches them all
            block = cosines if len(members) == len(cosines) else cosines[members]
            return top_rows(block, self.stored_ids, self.k)
        positions = self.position_of[columns]
        positions = positions[positions >= 0]
        return [positions[top] for top in top_rows(cosines[np.ix_(members, positions)], self.stored_ids[positions],
                                                   self.k)]

    def _lexical_picks(self, columns: np.ndarray, values: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
        """The columns of one query's BM25 top N (among `allowed` columns if given), from its nonzero scores."""
        if self.mode == "dense":
            return np.empty(0, dtype=np.int64)
        if allowed is not None:
            inside = allowed[columns]
            columns, values = columns[inside], values[inside]
        _, top = top_per_row(values[None, :], self.doc_ids[columns], self.k, positive=True)
        picked: np.ndarray = columns[top].astype(np.int64)
        return picked

    def _union(self, dense_positions: np.ndarray, lexical_columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(columns ascending, their stored positions) of the union, keeping only documents with a vector
        (as hybrid_search does: a BM25 hit without one is not a candidate)."""
        from_dense = self.column_of[dense_positions]
        columns = np.sort(np.concatenate([from_dense[from_dense >= 0], lexical_columns]))
        columns = columns[np.r_[True, columns[1:] != columns[:-1]]] if len(columns) else columns  # union1d, faster
        positions = self.position_of[columns]
        held = positions >= 0
        return columns[held], positions[held]


class _Rows:
    """Candidates gathered query by query, then fused at once."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, i: int, union: tuple[np.ndarray, np.ndarray], cosines: np.ndarray, lexical: np.ndarray) -> None:
        columns, positions = union
        self.parts.append((i, columns, cosines[i, positions], lexical[columns]))

    def fused(self, normalised_as: _Rows | None, dense_weight: float) -> Found:
        """The candidates with their fused score, on the bounds of each query's `normalised_as` (None: their own)."""
        if not self.parts:
            return Found.empty()
        query = np.concatenate([np.full(len(c), i, dtype=np.int64) for i, c, _, _ in self.parts])
        column = np.concatenate([c for _, c, _, _ in self.parts]).astype(np.int64)
        dense = np.concatenate([d for _, _, d, _ in self.parts])
        lexical = np.concatenate([x for _, _, _, x in self.parts])
        bounds = (normalised_as or self).bounds()
        fused = fuse_scores(dense, lexical, (bounds.dense_low[query], bounds.dense_high[query]),
                            (bounds.lexical_low[query], bounds.lexical_high[query]), dense_weight)
        return Found(query, column, fused.astype(np.float32), dense, lexical)

    def bounds(self) -> BlockBounds:
        """Each query's (low, high) over its own candidates, as `Bounds.of`: (0, 0) for none."""
        n = max((i for i, _, _, _ in self.parts), default=-1) + 1
        out = BlockBounds(*(np.zeros(n, dtype=np.float64) for _ in range(4)))
        for i, _, dense, lexical in self.parts:
            if len(dense):
                out.dense_low[i], out.dense_high[i] = dense.min(), dense.max()
                out.lexical_low[i], out.lexical_high[i] = lexical.min(), lexical.max()
        return out


def top_rows(values: np.ndarray, ids: np.ndarray, k: int, slices_per_k: int = 4) -> list[np.ndarray]:
    """Per row, the columns of its `k` highest values, ties at the cut to the smaller id (as `top_per_row`).

    Of the maxima of m ≥ k disjoint slices of a row, the k-th largest is at most the row's k-th largest value
    (k distinct values reach it), so only the values at or above it (a few per cent of a long row) are
    ranked: one pass over the row instead of a partition of it."""
    n_rows, n_cols = values.shape
    if k >= n_cols:
        return [np.arange(n_cols)] * n_rows
    slices = min(n_cols, slices_per_k * k)
    width = n_cols // slices
    maxima = values[:, :width * slices].reshape(n_rows, slices, width).max(axis=2)
    bound = np.partition(maxima, slices - k, axis=1)[:, slices - k]
    rows, cols = np.nonzero(values >= bound[:, None])
    starts = np.searchsorted(rows, np.arange(n_rows + 1))
    out = []
    for r in range(n_rows):
        near = cols[starts[r]:starts[r + 1]]
        _, at = top_per_row(values[r, near][None, :], ids[near], k)
        out.append(near[at])
    return out


def _mask(columns: np.ndarray, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[columns] = True
    return mask


def _positions(of: np.ndarray, among: np.ndarray) -> np.ndarray:
    """For each id of `among`, its position in `of`; -1 where `of` lacks it."""
    if not len(of):
        return np.full(len(among), -1, dtype=np.int64)
    sorter = np.argsort(of, kind="stable")
    at = np.searchsorted(of, among, sorter=sorter).clip(max=len(of) - 1)
    found = sorter[at]
    return np.where(of[found] == among, found, -1).astype(np.int64)
