"""A scoped dense search gives the same top k whether it copies the scope's vectors out (a small scope) or
scores every vector and masks the rest (a large one): ties and all (search._dense_top)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import search


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300), st.integers(1, 60), st.floats(0.0, 1.0), st.booleans(), st.integers(0, 2**32 - 1))
def test_masking_and_copying_a_scope_find_the_same_top_k(n, k, share, ties, seed):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    if ties:
        vectors[rng.integers(0, n, size=n // 2)] = vectors[0]
    ids = rng.permutation(100_000)[:n].astype(np.int64)
    query = rng.standard_normal(8).astype(np.float32)
    columns = np.flatnonzero(rng.random(n) < share)
    masked_path = sorted(_top(query, vectors, ids, k, columns, gather_below=10**9).tolist())
    copied_path = sorted(_top(query, vectors, ids, k, columns, gather_below=0).tolist())
    assert masked_path == copied_path
    assert set(masked_path) <= set(columns.tolist()) and len(masked_path) == min(k, len(columns))


def _top(query, vectors, ids, k, columns, *, gather_below):
    saved = search.GATHER_BELOW
    search.GATHER_BELOW = gather_below
    try:
        return search._dense_top(query, vectors, ids, k, columns)[0]
    finally:
        search.GATHER_BELOW = saved
