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

Two parts, shared by the single process and the shards of a Ray cluster (`matcher.shards`):
`search_shard.ShardSearch` gives one shard's picks (its own dense and BM25 top N, with both
scores), and `merge` takes the global top N of each score out of the shards' picks, then unites,
bounds and fuses them. The plain path is one shard holding every document, merged alone.

Columns are the caller's: `doc_ids[c]` is the document of column c (the report uses its seed table
order, ids ascending). Memory: 8 bytes × dim per document (its vector in float64), and about 10 bytes ×
queries × documents per block (the cosines, a mask, the BM25 scores of the documents sharing a term).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .index import Collection
from .rank import DEFAULT_DENSE_WEIGHT, fuse_scores
from .search import DEFAULT_CANDIDATES
from .search_shard import MODES, Picks, ShardData, ShardSearch

MODE_WEIGHT = {"hybrid": None, "dense": 1.0, "bm25": 0.0}  # None: the caller's dense weight

# (query vectors, their terms, their groups) of one block of queries
Block = tuple[np.ndarray, Sequence[Sequence[str]], np.ndarray | None]


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


class BlockSearch(Protocol):
    """What the report searches with: `BatchSearch` in this process, `shards.RayShardedSearch` on a cluster."""

    def search_blocks(self, blocks: Iterable[Block],
                      group_columns: Mapping[int, np.ndarray]) -> Iterator[tuple[Found, Found]]: ...


def dense_weight_of(mode: str, dense_weight: float) -> float:
    """The weight of the cosine in the fused score: the caller's in hybrid mode, 1 or 0 in the others."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    weight = MODE_WEIGHT[mode]
    return dense_weight if weight is None else weight


class BatchSearch:
    """The batch search in this process: one shard holding every document."""

    def __init__(self, collection: Collection, doc_ids: np.ndarray, vocabulary: Iterable[str], *,
                 candidates: int = DEFAULT_CANDIDATES, dense_weight: float = DEFAULT_DENSE_WEIGHT,
                 mode: str = "hybrid"):
        self.k = candidates
        self.dense_weight = dense_weight_of(mode, dense_weight)
        self.shard = ShardSearch(ShardData.whole(collection, doc_ids, vocabulary), candidates=candidates, mode=mode)

    def search(self, vectors: np.ndarray, terms: Sequence[Sequence[str]], groups: np.ndarray | None = None,
               group_columns: Mapping[int, np.ndarray] | None = None) -> tuple[Found, Found]:
        """(unfiltered candidates, candidates within each query's group's columns) of a block of queries.

        `groups[i]` names query i's group (negative: none) and `group_columns[g]` the columns of group g."""
        picks = self.shard.picks(vectors, terms, groups, group_columns)
        return merge_block([picks], len(vectors), self.k, self.dense_weight)

    def search_blocks(self, blocks: Iterable[Block],
                      group_columns: Mapping[int, np.ndarray]) -> Iterator[tuple[Found, Found]]:
        for vectors, terms, groups in blocks:
            yield self.search(vectors, terms, groups, group_columns)


def merge_block(shard_picks: Sequence[tuple[Picks, Picks]], n: int, k: int,
                dense_weight: float) -> tuple[Found, Found]:
    """(unfiltered, within-group) candidates of a block of `n` queries from every shard's picks; the within-group
    scores are normalised on the unfiltered bounds."""
    found, bounds = merge([everywhere for everywhere, _ in shard_picks], n, k, dense_weight)
    within, _ = merge([inside for _, inside in shard_picks], n, k, dense_weight, bounds)
    return found, within


def merge(parts: Sequence[Picks], n: int, k: int, dense_weight: float,
          normalised_on: BlockBounds | None = None) -> tuple[Found, BlockBounds]:
    """The candidates of a block of `n` queries from the shards' picks, and each query's bounds over them.

    Per query: the global dense top N among the dense picks, the global BM25 top N among the BM25 picks (ties at
    the cut to the smaller id: each shard's top N holds every document of the global top N that it holds), their
    union, less the picks that are no candidate (no vector, or not in the caller's table); then the fused score on
    the bounds `normalised_on` (None: the candidates' own)."""
    picks = parts[0] if len(parts) == 1 else Picks.concat(parts)
    chosen = _top(picks, picks.by_dense, picks.dense, k, n) | _top(picks, ~picks.by_dense, picks.lexical, k, n)
    at = np.flatnonzero(chosen & picks.held)
    # one entry per (query, column), sorted: a document picked by both scores is there twice
    key = picks.query[at] * (int(picks.column[at].max(initial=0)) + 1) + picks.column[at]
    _, first = np.unique(key, return_index=True)
    at = at[first]
    query, column = picks.query[at], picks.column[at]
    dense, lexical = picks.dense[at], picks.lexical[at].astype(np.float32)  # what hybrid_search keeps of BM25
    bounds = _bounds(query, dense, lexical, n)
    on = normalised_on or bounds
    fused = fuse_scores(dense, lexical, (on.dense_low[query], on.dense_high[query]),
                        (on.lexical_low[query], on.lexical_high[query]), dense_weight)
    return Found(query, column, fused.astype(np.float32), dense, lexical), bounds


def _top(picks: Picks, among: np.ndarray, score: np.ndarray, k: int, n: int) -> np.ndarray:
    """Which entries are among their query's `k` best of the entries `among` by `score`, ties to the smaller id."""
    entries = np.flatnonzero(among)
    if not len(entries) or np.bincount(picks.query[entries], minlength=n).max() <= k:
        return among.copy()  # one shard, or shards with few picks: every pick is in its query's top N
    order = entries[np.lexsort((picks.doc[entries], -score[entries], picks.query[entries]))]
    queries = picks.query[order]
    rank = np.arange(len(order)) - np.searchsorted(queries, queries)  # place within the query's run
    chosen = np.zeros(len(among), dtype=bool)
    chosen[order[rank < k]] = True
    return chosen


def _bounds(query: np.ndarray, dense: np.ndarray, lexical: np.ndarray, n: int) -> BlockBounds:
    """Each query's (low, high) over its candidates (sorted by query), as `Bounds.of`: (0, 0) for none."""
    out = BlockBounds(*(np.zeros(n, dtype=np.float64) for _ in range(4)))
    if len(query):
        starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
        rows = query[starts]
        out.dense_low[rows], out.dense_high[rows] = np.minimum.reduceat(dense, starts), np.maximum.reduceat(dense,
                                                                                                           starts)
        out.lexical_low[rows] = np.minimum.reduceat(lexical, starts)
        out.lexical_high[rows] = np.maximum.reduceat(lexical, starts)
    return out
