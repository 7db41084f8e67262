"""Hybrid search over one collection: dense and BM25 candidates, fused.

The candidates are the union of the dense top-N and the BM25 top-N. Every
candidate gets both scores (a dense hit that shares no word gets BM25 0; a
BM25 hit gets its exact cosine), and the two are min–max normalised and summed
(rank.fuse). Restricting to `allowed` ids (a region, say) filters inside both
retrievers, so a small scope still gets N candidates.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .index import Collection
from .rank import DEFAULT_DENSE_WEIGHT, Bounds, fuse

# 1000 per retriever: partner aggregation needs more than the top hits
# (need2univ dev: nDCG@10 0.307 at 200, 0.316 at 1000)
DEFAULT_CANDIDATES = 1000


@dataclass
class Candidates:
    """Scored candidates of one query, best fused score first."""

    ids: np.ndarray  # int64
    fused: np.ndarray  # in [0, 1]
    dense: np.ndarray  # raw cosine
    lexical: np.ndarray  # raw BM25
    dense_bounds: Bounds
    lexical_bounds: Bounds

    def __len__(self) -> int:
        return len(self.ids)

    def top(self, k: int) -> Candidates:
        return Candidates(self.ids[:k], self.fused[:k], self.dense[:k], self.lexical[:k],
                          self.dense_bounds, self.lexical_bounds)

    def rows(self) -> Iterator[tuple[int, float, float, float]]:
        """(id, fused, dense, lexical) per candidate, best first, as Python numbers."""
        return zip(self.ids.tolist(), self.fused.tolist(), self.dense.tolist(), self.lexical.tolist(), strict=True)


def hybrid_search(
    collection: Collection,
    query_vector: np.ndarray,
    query_terms: Sequence[str],
    *,
    candidates: int = DEFAULT_CANDIDATES,
    allowed: np.ndarray | None = None,
    bounds: tuple[Bounds, Bounds] | None = None,
    dense_weight: float = DEFAULT_DENSE_WEIGHT,
    mode: str = "hybrid",
) -> Candidates:
    """Fused candidates for one query.

    `bounds` carries the normalisation of an earlier, unfiltered search of the
    same query, so that scores of a filtered search can be compared with it.
    `mode` "dense" or "bm25" ranks by one retriever alone (for benchmarks).
    """
    import faiss

    query_vector = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
    empty = np.empty(0, dtype=np.int64)
    if allowed is not None and len(allowed) == 0 or len(collection) == 0:
        nothing = np.empty(0, dtype=np.float32)
        return Candidates(empty, nothing, nothing, nothing, *(bounds or (Bounds(0, 0), Bounds(0, 0))))

    dense_ids = empty
    if mode in ("hybrid", "dense"):
        if allowed is None:
            _, found = collection.search_dense(query_vector, candidates)
        else:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            # faiss's SWIG signature declares no parameters; its Python wrapper takes the fields as keywords
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            _, found = collection.dense.search(query_vector, min(candidates, len(collection)), params=params)
        dense_ids = found[0][found[0] >= 0]
    lexical_ids = empty
    if mode in ("hybrid", "bm25"):
        lexical_ids, _ = collection.lexical.search(query_terms, candidates, allowed=allowed)

    ids = np.unique(np.concatenate([dense_ids, lexical_ids]).astype(np.int64))
    dense = collection.vectors_of(ids) @ query_vector[0] if len(ids) else np.empty(0, dtype=np.float32)
    lexical = collection.lexical.score_ids(query_terms, ids)
    dense_bounds, lexical_bounds = bounds or (Bounds.of(dense), Bounds.of(lexical))
    weight = {"hybrid": dense_weight, "dense": 1.0, "bm25": 0.0}[mode]
    fused = fuse(dense, lexical, dense_bounds, lexical_bounds, weight)
    order = np.lexsort((ids, -fused))  # ties broken by id, so results are reproducible
    return Candidates(ids[order], fused[order], dense[order].astype(np.float32), lexical[order],
                      dense_bounds, lexical_bounds)
