"""One shard's part of the batch search: per query, its own dense top N and BM25 top N, with both exact scores.

    data = ShardData.whole(collection, doc_ids, vocabulary)      # every document: one shard
    parts = data.split(3)                                         # or three, by id ranges
    found, within = ShardSearch(parts[0], candidates=1000).picks(vectors, terms, groups, group_columns)

A shard holds some of the documents: their stored vectors (float64, for exact cosines by one product,
`search.exact_cosines`) and their BM25 weights (`lexical_batch.TermWeights`, built from the **whole**
index's statistics, IDF and average length, so that a document's score is the same in any shard). For a
block of queries it answers `Picks`: per query, the shard's dense top N and BM25 top N (ties at the cut to
the smaller id), each entry with its cosine and its BM25 score. The global top N by either score is a
subset of the shards' picks taken together, so `search_batch.merge` finds it exactly in one round.

The documents are of two kinds, as in `hybrid_search`: stored vectors (the dense search ranks all of them,
even one the caller's table lacks) and the caller's columns (the BM25 search ranks all of them, even one
without a vector). A pick is a candidate only when it is both (`Picks.held`), but every pick takes its
place in the ranking, so every pick is returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from .index import Collection
from .lexical_batch import TermWeights
from .lexical_segments import positions_in
from .search import DEFAULT_CANDIDATES, exact_cosines, stored_vectors, top_per_row

MODES = ("hybrid", "dense", "bm25")


@dataclass
class Picks:
    """One shard's picks for a block of queries, flat, one entry per (query, document, score it was picked by)."""

    query: np.ndarray  # int64, row of the block
    doc: np.ndarray  # int64, the document's id: ties at the cut go to the smaller
    column: np.ndarray  # int64, the caller's column; -1: a stored vector the caller's table lacks
    dense: np.ndarray  # float32, cosine (0 where the document has no vector)
    lexical: np.ndarray  # float64, BM25 (the ranking's bits; candidates keep float32, as hybrid_search)
    held: np.ndarray  # bool: in the table and with a vector, so a candidate when picked
    by_dense: np.ndarray  # bool: picked by its cosine, else by its BM25 score

    @classmethod
    def concat(cls, parts: Sequence[Picks]) -> Picks:
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))

    @classmethod
    def empty(cls) -> Picks:
        i, b = np.empty(0, np.int64), np.empty(0, bool)
        return cls(i, i, i, np.empty(0, np.float32), np.empty(0, np.float64), b, b)


@dataclass
class ShardData:
    """The documents of one shard: stored vectors (ids, float32 rows) and the caller's columns (ids, columns,
    BM25 weights over the whole index's statistics). What a Ray actor receives: plain arrays, picklable."""

    stored_ids: np.ndarray  # int64
    vectors: np.ndarray  # float32 (stored × dim)
    doc_ids: np.ndarray  # int64, the documents of the caller's columns held here
    columns: np.ndarray  # int64, ascending: the caller's column of each of doc_ids
    weights: TermWeights  # columns in the order of doc_ids

    @classmethod
    def whole(cls, collection: Collection, doc_ids: np.ndarray, vocabulary: Iterable[str]) -> ShardData:
        """Every document of `collection` and of the caller's columns `doc_ids` (`doc_ids[c]` is column c)."""
        doc_ids = np.asarray(doc_ids, dtype=np.int64)
        stored_ids, vectors = stored_vectors(collection)
        # the vectors are a view of FAISS's memory: each shard copies its own (ShardSearch, split, Ray's put)
        return cls(stored_ids, vectors, doc_ids, np.arange(len(doc_ids), dtype=np.int64),
                   TermWeights.of(collection.lexical, doc_ids, vocabulary))

    def split(self, shards: int) -> list[ShardData]:
        """`shards` parts by ranges of ids, each with as many documents as the others (±1).

        Ranges rather than hashing: the sizes are equal by construction (not on average), a shard's memory is
        known before it starts, and a document's shard follows from its id by one comparison, as a database
        reads it (`WHERE id BETWEEN …`). The merge is exact whatever the partition."""
        if shards < 1:
            raise ValueError("shards must be at least 1")
        every = np.union1d(self.stored_ids, self.doc_ids)
        cuts = [every[len(every) * s // shards] for s in range(1, shards)] if len(every) else []
        stored_shard = np.searchsorted(cuts, self.stored_ids, side="right")
        column_shard = np.searchsorted(cuts, self.doc_ids, side="right")
        parts = []
        for s in range(shards):
            rows, cols = np.flatnonzero(stored_shard == s), np.flatnonzero(column_shard == s)
            weights = TermWeights(self.weights.terms, self.doc_ids[cols], self.weights.weights[:, cols])
            parts.append(ShardData(self.stored_ids[rows], self.vectors[rows], self.doc_ids[cols], self.columns[cols],
                                   weights))
        return parts


class ShardSearch:
    """The dense and BM25 top N of a block of queries among one shard's documents (`picks`)."""

    def __init__(self, data: ShardData, *, candidates: int = DEFAULT_CANDIDATES, mode: str = "hybrid"):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.k, self.mode = candidates, mode
        self.stored_ids, self.doc_ids, self.columns = data.stored_ids, data.doc_ids, data.columns
        self.weights = data.weights
        # float64 once (8 bytes × dim per document: 307 MB at 10^5 seeds), for exact cosines by one product
        self.vectors = np.asarray(data.vectors).astype(np.float64)
        # the local column of each stored vector, and the stored position of each local column (-1: none)
        self.column_of = positions_in(self.doc_ids, self.stored_ids)
        self.position_of = positions_in(self.stored_ids, self.doc_ids)

    def picks(self, vectors: np.ndarray, terms: Sequence[Sequence[str]], groups: np.ndarray | None = None,
              group_columns: Mapping[int, np.ndarray] | None = None) -> tuple[Picks, Picks]:
        """(picks among all documents, picks within each query's group) of a block of queries.

        `groups[i]` names query i's group (negative: none), `group_columns[g]` the caller's columns of group g
        (all of them: this shard keeps its own). A query gets picks within its group where it has a group."""
        n = len(vectors)
        if n == 0:
            return Picks.empty(), Picks.empty()
        groups = np.full(n, -1) if groups is None else np.asarray(groups)
        local = {g: self._local(np.asarray(c, dtype=np.int64)) for g, c in (group_columns or {}).items()}
        cosines = exact_cosines(vectors, self.vectors)  # (queries × stored positions), as hybrid_search's
        lexical = self.weights.scores(terms)  # (queries × local columns), sparse: a third of them or fewer
        everywhere = self._dense_picks(cosines, np.arange(n), None)
        within_group: dict[int, np.ndarray] = {}
        for group, columns in local.items():
            members = np.flatnonzero(groups == group)
            if len(members):
                within_group.update(zip(members.tolist(), self._dense_picks(cosines, members, columns), strict=True))
        allowed = {g: _mask(columns, len(self.doc_ids)) for g, columns in local.items()}
        scratch = np.zeros(len(self.doc_ids), dtype=np.float64)  # one query's BM25 scores, by local column
        found, within = _Gathered(self, cosines), _Gathered(self, cosines)
        for i in range(n):
            start, stop = lexical.indptr[i], lexical.indptr[i + 1]
            columns, values = lexical.indices[start:stop], lexical.data[start:stop]
            scratch[columns] = values
            found.add(i, everywhere[i], self._lexical_picks(columns, values, None), scratch)
            if i in within_group:
                within.add(i, within_group[i], self._lexical_picks(columns, values, allowed[int(groups[i])]), scratch)
            scratch[columns] = 0
        return found.picks(), within.picks()

    def _local(self, columns: np.ndarray) -> np.ndarray:
        """The local columns of those of the caller's `columns` that this shard holds."""
        at = np.searchsorted(self.columns, columns).clip(max=max(len(self.columns) - 1, 0))
        held = self.columns[at] == columns if len(self.columns) else np.zeros(len(columns), dtype=bool)
        return np.unique(at[held])

    def _dense_picks(self, cosines: np.ndarray, members: np.ndarray, columns: np.ndarray | None) -> list[np.ndarray]:
        """Per query of `members`, the stored positions of its dense top N (within local `columns` if given)."""
        if self.mode == "bm25":
            return [np.empty(0, dtype=np.int64)] * len(members)
        if columns is None:  # every stored vector, as hybrid_search searches them all
            block = cosines if len(members) == len(cosines) else cosines[members]
            return top_rows(block, self.stored_ids, self.k)
        positions = self.position_of[columns]
        positions = positions[positions >= 0]
        return [positions[top] for top in top_rows(cosines[np.ix_(members, positions)], self.stored_ids[positions],
                                                   self.k)]

    def _lexical_picks(self, columns: np.ndarray, values: np.ndarray,
                       allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(local columns, float64 scores) of one query's BM25 top N (among `allowed` if given), from its nonzero
        scores."""
        if self.mode == "dense":
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        if allowed is not None:
            inside = allowed[columns]
            columns, values = columns[inside], values[inside]
        _, top = top_per_row(values[None, :], self.doc_ids[columns], self.k, positive=True)
        return columns[top].astype(np.int64), values[top]


class _Gathered:
    """A shard's picks gathered query by query, with the other score of each read as they come."""

    def __init__(self, shard: ShardSearch, cosines: np.ndarray):
        self.shard, self.cosines = shard, cosines
        self.parts: list[Picks] = []

    def add(self, i: int, dense_positions: np.ndarray, lexical: tuple[np.ndarray, np.ndarray],
            scratch: np.ndarray) -> None:
        s = self.shard
        local = s.column_of[dense_positions]
        in_table = local >= 0
        lexical_columns, lexical_values = lexical
        positions = s.position_of[lexical_columns]
        with_vector = positions >= 0
        dense = np.zeros(len(positions), dtype=np.float32)
        dense[with_vector] = self.cosines[i, positions[with_vector]]
        self.parts.append(Picks(
            query=np.full(len(local) + len(positions), i, dtype=np.int64),
            doc=np.concatenate([s.stored_ids[dense_positions], s.doc_ids[lexical_columns]]),
            column=np.concatenate([_take(s.columns, local, -1), s.columns[lexical_columns]]),
            dense=np.concatenate([self.cosines[i, dense_positions], dense]),
            lexical=np.concatenate([_take(scratch, local, 0.0), lexical_values]),
            held=np.concatenate([in_table, with_vector]),
            by_dense=np.r_[np.ones(len(local), dtype=bool), np.zeros(len(positions), dtype=bool)]))

    def picks(self) -> Picks:
        return Picks.concat(self.parts) if self.parts else Picks.empty()


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


def _take(values: np.ndarray, at: np.ndarray, fill: float) -> np.ndarray:
    """values[at], with `fill` where `at` is -1."""
    out = np.full(len(at), fill, dtype=values.dtype)
    known = at >= 0
    out[known] = values[at[known]]
    return out


def _mask(columns: np.ndarray, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[columns] = True
    return mask
