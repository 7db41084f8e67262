"""Hybrid search over one collection: dense and BM25 candidates, fused.

The candidates are the union of the dense top-N and the BM25 top-N. Every
candidate gets both scores (a dense hit that shares no word gets BM25 0; a
BM25 hit gets its exact cosine), and the two are min–max normalised and summed
(rank.fuse). Restricting to `allowed` ids (a region, say) filters inside both
retrievers, so a small scope still gets N candidates.

The cosine is defined as the float64 dot product of the float32 vectors,
rounded to float32 (`exact_cosines`). A float32 dot product rounds by up to
~1e-6 depending on how BLAS orders its sums, which differs between one query
(FAISS's own loop, gemv) and a batch (gemm), and even with the batch's size:
after min–max normalisation that is several 1e-6 of score, enough to reorder
partners. The float64 sum of exact products differs between orders by ~1e-14,
which the rounding to float32 removes, so one query here and a batch of needs
in the report (search_batch.py, a float64 matrix product) get the same bits.

One query computes float32 cosines with every stored vector (a flat index is a
brute-force search anyway), keeps those within a bound on float32's error of
the N-th (`_near_top`), and chooses the top N among them by exact cosine
(`top_per_row`: ties at the cut go to the smaller id), as the batch does.

What every search of one query scores first, the float32 product with every
stored vector and BM25 of every document, is computed once per query
(`shared_scores`) and shared by the two or three searches of a match's scopes.

Above its size threshold a collection has an approximate index (ann.py: IVF, nprobe calibrated when it is
built), and a search, or a scoped search whose scope holds at least `AnnSettings.scope_share` of the
vectors, scores exactly only the index's candidates; a smaller scope is searched exactly on its own
vectors. Every score is still the exact cosine; what may differ is which vectors are candidates. So a page
and the batch report (search_batch.py, always exact) agree as follows: below the threshold, and in the
small scopes, bit for bit as above; above it, bit for bit whenever the index's candidates hold the exact
dense top N (the recall measured at build time, `DenseAnn.recall`, and the partners' recall@10 measured by
`matcher bench scale`). A missed candidate can change a page's list only by a seed near the cut, and with
it the dense bounds that normalise the fused scores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .index import Collection
from .lexical_segments import DocScores
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


@dataclass(frozen=True, eq=False)
class SharedScores:
    """What every search of one query over one collection scores first, computed once for the searches of a
    match's scopes (everything, its scope, its region) while the collection is unchanged: the float32 product
    with every stored vector (`approximate_cosines`; None with an active ANN index, or where not wanted) and
    BM25 of every document (`BM25Index.scores`; None when no query term is held). At 10^5 seeds each was
    computed two or three times per match before."""

    approximate: np.ndarray | None
    lexical: DocScores | None


def shared_scores(collection: Collection, query_vector: np.ndarray, query_terms: Sequence[str],
                  *, dense: bool = True) -> SharedScores:
    """`SharedScores` of one query; `dense=False` leaves the dense product out (a single scoped search,
    which may rather copy its scope's vectors)."""
    approximate = approximate_cosines(collection, query_vector) if dense and len(collection) else None
    return SharedScores(approximate, collection.lexical.scores(query_terms))


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
    shared: SharedScores | None = None,
) -> Candidates:
    """Fused candidates for one query.

    `bounds` carries the normalisation of an earlier, unfiltered search of the
    same query, so that scores of a filtered search can be compared with it.
    `mode` "dense" or "bm25" ranks by one retriever alone (for benchmarks). `shared`: the query's
    `shared_scores`, computed once for several searches of one query while the collection is unchanged.
    """
    query_vector = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
    empty = np.empty(0, dtype=np.int64)
    if allowed is not None and len(allowed) == 0 or len(collection) == 0:
        nothing = np.empty(0, dtype=np.float32)
        return Candidates(empty, nothing, nothing, nothing, *(bounds or (Bounds(0, 0), Bounds(0, 0))))

    if shared is None:
        shared = shared_scores(collection, query_vector[0], query_terms, dense=False)
    stored_ids, vectors = stored_vectors(collection)
    dense_at, dense = empty, np.empty(0, dtype=np.float32)
    if mode in ("hybrid", "dense"):
        dense_at, dense = _dense_positions(collection, query_vector[0], vectors, stored_ids, candidates, allowed,
                                           shared.approximate)
    lexical_ids = empty
    if mode in ("hybrid", "bm25"):
        lexical_ids, _ = collection.lexical.search(query_terms, candidates, allowed=allowed, scored=shared.lexical)

    # the BM25 hits the dense top lacks get their exact cosine here; the dense top's were computed choosing it
    lexical_rows = collection.rows_of(lexical_ids)
    in_dense_top = np.zeros(len(stored_ids), dtype=bool)
    in_dense_top[dense_at] = True
    extra = lexical_rows[~in_dense_top[lexical_rows]]
    at = np.concatenate([dense_at, extra])
    dense = np.concatenate([dense, exact_cosines(query_vector, vectors[extra])[0]])
    ids = stored_ids[at]
    lexical = collection.lexical.score_ids(query_terms, ids, scored=shared.lexical)
    dense_bounds, lexical_bounds = bounds or (Bounds.of(dense), Bounds.of(lexical))
    weight = {"hybrid": dense_weight, "dense": 1.0, "bm25": 0.0}[mode]
    fused = fuse(dense, lexical, dense_bounds, lexical_bounds, weight)
    order = np.lexsort((ids, -fused))  # ties broken by id, so results are reproducible
    return Candidates(ids[order], fused[order], dense[order], lexical[order], dense_bounds, lexical_bounds)


def _dense_positions(collection: Collection, query: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int,
                     allowed: np.ndarray | None, approximate: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Storage positions of the dense top `k` (among `allowed` ids), with their exact cosines: from the ANN
    index's candidates where the collection has one and the scope is large enough for it (ann.py), else from
    every vector of the scope."""
    ann = collection.ann.active(len(collection))
    if ann is not None and (allowed is None or len(allowed) >= collection.ann.settings.scope_share * len(ids)):
        near = collection.rows_of(ann.candidates(query, k, allowed))
        cosines = exact_cosines(query, vectors[near])
        _, at = top_per_row(cosines, ids[near], k)
        return near[at], cosines[0, at]
    columns = None if allowed is None else collection.positions_within(allowed, ids)
    return _dense_top(query, vectors, ids, k, columns, approximate)


# ---- the dense half, shared with the batch path ---------------------------------
def stored_vectors(collection: Collection) -> tuple[np.ndarray, np.ndarray]:
    """The collection's ids and vectors in FAISS's storage order. The vectors are a view of FAISS's own
    memory (no copy: 150 MB at 10^5 seeds), valid until the collection next changes."""
    import faiss

    n, dim = len(collection), collection.dim
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty((0, dim), dtype=np.float32)
    flat: Any = faiss.downcast_index(collection.dense.index)  # an IndexFlatIP (index.py); its stub lacks get_xb
    vectors = faiss.rev_swig_ptr(flat.get_xb(), n * dim).reshape(n, dim)
    return collection.storage_ids(), vectors


# A scope holding fewer than 1/GATHER_BELOW of the vectors is scored on its own vectors (`_product_of`); a larger
# one by scoring all of them and masking (gathering 85% of the vectors costs more than scoring them all).
GATHER_BELOW = 4

COSINE_BLOCK = 8192  # stored vectors per float64 product: the block's result stays in cache for the rounding


def exact_cosines(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """(queries × vectors) cosines: the float64 product of the float32 vectors, rounded to float32.

    Each product of two float32 numbers is exact in float64, so the sum is within ~1e-14 of the true dot
    product whatever order BLAS adds in, and rounding to float32 gives the same bits for a query alone or
    in a batch of any size (but for a value within 1e-14 of a rounding boundary: one unit, 6e-8, off).
    Computed in blocks of stored vectors, three times as fast as one product rounded afterwards.
    """
    queries = np.atleast_2d(np.asarray(queries)).astype(np.float64)
    vectors = np.asarray(vectors)
    out = np.empty((len(queries), len(vectors)), dtype=np.float32)
    for start in range(0, len(vectors), COSINE_BLOCK):
        block = vectors[start:start + COSINE_BLOCK].astype(np.float64, copy=False)
        out[:, start:start + COSINE_BLOCK] = queries @ block.T
    return out


def float32_error_bound(query: np.ndarray) -> float:
    """A bound on |float32 dot − exact dot| of `query` with a stored unit vector: dim × 2^-24 × |q|, with a
    factor 4 to spare for vectors a little off unit length."""
    return 4 * len(query) * 2.0**-24 * float(np.linalg.norm(query.astype(np.float64)))


def _dense_top(query: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int, columns: np.ndarray | None,
               approximate: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the `k` stored vectors (among `columns` if given) of highest exact cosine with `query`,
    and those cosines.

    `approximate`: the float32 product of every stored vector with `query`, where the caller has it (one per
    query, shared by the searches of its scopes: `approximate_cosines`); the exact cosines decide either way."""
    if k <= 0 or not len(vectors) or columns is not None and not len(columns):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    error = float32_error_bound(query)
    if approximate is None and columns is not None and len(columns) * GATHER_BELOW < len(vectors):
        # a small scope searched alone: scoring its vectors block by block costs less than scoring every
        # vector, and less than copying them out at once (at 10^6 a 20% scope is 300 MB of fresh pages)
        near = columns[_near_top(_product_of(vectors, columns, query), min(k, len(columns)), error)]
    else:
        if approximate is None:
            approximate = vectors @ query
        if columns is None:
            near = _near_top(approximate, min(k, len(vectors)), error)
        else:
            near = columns[_near_top(approximate[columns], min(k, len(columns)), error)]
    exact = exact_cosines(query, vectors[near])
    _, at = top_per_row(exact, ids[near], k)
    top: np.ndarray = near[at]
    return top, exact[0, at]


def _product_of(vectors: np.ndarray, columns: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The float32 product of `query` with the vectors at `columns`, gathered COSINE_BLOCK at a time."""
    out = np.empty(len(columns), dtype=np.float32)
    for start in range(0, len(columns), COSINE_BLOCK):
        out[start:start + COSINE_BLOCK] = vectors[columns[start:start + COSINE_BLOCK]] @ query
    return out


def approximate_cosines(collection: Collection, query_vector: np.ndarray) -> np.ndarray | None:
    """The float32 product of `query_vector` with every stored vector, in storage order: what each dense search
    of this query scores first. A match searches up to three scopes of one query (everything, its scope, its
    region), and at 10^5 seeds the product was most of each search; computed once, it is shared by all.
    None where the collection has an active ANN index: its searches score only the index's candidates."""
    if collection.ann.active(len(collection)) is not None:
        return None
    _, vectors = stored_vectors(collection)
    product: np.ndarray = vectors @ np.asarray(query_vector, dtype=np.float32).reshape(-1)
    return product


def _near_top(approximate: np.ndarray, k: int, error: float) -> np.ndarray:
    """Positions whose exact value may be among the top `k`, given values each within `error` of exact:
    the k-th largest approximate value is within `error` of the k-th exact one, so nothing of the exact
    top k lies more than 2 × error below it."""
    if k >= len(approximate):
        return np.arange(len(approximate))
    cut = np.partition(approximate, len(approximate) - k)[len(approximate) - k]
    return np.flatnonzero(approximate >= cut - 2 * error)


def top_per_row(values: np.ndarray, ids: np.ndarray, k: int, *,
                positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of the `k` highest values of each row (only those above 0 when `positive`), sorted by row
    and column; of values tied at a row's cut, the smaller ids (`ids[column]`) are taken."""
    n_rows, n_cols = values.shape
    if k <= 0 or n_cols == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if k >= n_cols:
        chosen = values > 0 if positive else np.ones(values.shape, dtype=bool)
        rows, cols = np.nonzero(chosen)
        return rows.astype(np.int64), cols.astype(np.int64)
    cut = np.partition(values, n_cols - k, axis=1)[:, n_cols - k]
    chosen = values >= cut[:, None]
    if positive:
        chosen &= values > 0
    for r in np.flatnonzero(chosen.sum(axis=1) > k):  # ties at the cut: rare, settled by id
        row = values[r]
        above = np.flatnonzero(row > cut[r])
        tied = np.flatnonzero(row == cut[r])
        chosen[r] = False
        chosen[r, above] = True
        chosen[r, tied[np.argsort(ids[tied], kind="stable")[:k - len(above)]]] = True
    rows, cols = np.nonzero(chosen)
    return rows.astype(np.int64), cols.astype(np.int64)
