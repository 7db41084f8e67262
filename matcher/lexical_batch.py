"""BM25 of many queries at once: one sparse product, equal to `BM25Index`'s own scores to the last bit.

The batch report scores thousands of needs against every seed. Scoring them one by one
(`BM25Index.search`) costs a pass over the postings of each query's terms per need; here the
needs of a chunk become one sparse (needs × terms) indicator matrix, multiplied by a (terms ×
documents) matrix of BM25 weights built once per report (`TermWeights.of`).

Why the numbers are the same, not merely close: each weight is computed by the very expression
`lexical_segments.Segment.score` uses, from the same statistics (N, the total length, the
documents' lengths and the Lucene idf of `BM25Index.idf`), and a document's score is the sum of
its weights taken in sorted term order starting from 0, which is the order in which both
`np.bincount` over a segment's columns and scipy's CSR product (rows of the indicator in
ascending column order, each entry 1.0) add them. tests/test_search_batch.py checks equality.

Only public parts of the index are read (`snapshot().state()`, `idf`, `k1`, `b`, `len`), so the
index's own storage can change without this module following it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from .lexical import BM25Index
from .lexical_segments import positions_in

Ids = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class TermWeights:
    """BM25 weights of some terms in some documents: row t is `terms[t]` (sorted), column c document `doc_ids[c]`."""

    terms: dict[str, int]
    doc_ids: Ids
    weights: sparse.csr_matrix  # (terms × documents), float64

    @classmethod
    def of(cls, index: BM25Index, doc_ids: Ids, vocabulary: Iterable[str]) -> TermWeights:
        """The weights of the `vocabulary` terms that the index holds, in the documents `doc_ids` (columns in
        that order; a document the index lacks gets an empty column). O(postings of those terms)."""
        doc_ids = np.asarray(doc_ids, dtype=np.int64)
        held = sorted(t for t in set(vocabulary) if index.idf(t) > 0)  # idf is 0 exactly for unheld terms
        if not held or not len(index):
            return cls({t: i for i, t in enumerate(held)}, doc_ids, sparse.csr_matrix((len(held), len(doc_ids))))
        state = index.snapshot().state()
        counts = sparse.csr_matrix((state.counts.astype(np.float64), state.term_ids, state.indptr),
                                   shape=(len(state.row_ids), len(state.terms)))
        lengths = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
        avgdl = max(int(state.counts.sum()) / len(index), 1e-9)  # as BM25Index: total length / documents
        column_of = {term: k for k, term in enumerate(state.terms)}
        rows = positions_in(state.row_ids, doc_ids)  # state row of each wanted document; -1 where not held
        picked = counts[np.where(rows >= 0, rows, 0)][:, [column_of[t] for t in held]].tocoo()
        keep = rows[picked.row] >= 0
        doc, term, tf = picked.row[keep], picked.col[keep], picked.data[keep]
        term_idf = np.array([index.idf(t) for t in held], dtype=np.float64)[term]
        k1, b = index.k1, index.b
        # the expression of Segment.score, term for term, so that each weight has the same bits
        norm = k1 * (1 - b + b * lengths[rows[doc]] / avgdl)
        weights = term_idf * tf * (k1 + 1) / (tf + norm)
        matrix = sparse.csr_matrix((weights, (term, doc)), shape=(len(held), len(doc_ids)))
        matrix.sort_indices()
        return cls({t: i for i, t in enumerate(held)}, doc_ids, matrix)

    def scores(self, queries: Sequence[Sequence[str]]) -> sparse.csr_matrix:
        """(queries × documents) BM25 scores, float64; a document sharing no term has no entry.

        Each distinct term of a query counts once, as in `BM25Index.search`."""
        indptr = [0]
        indices: list[int] = []
        for terms in queries:
            rows = sorted({self.terms[t] for t in terms if t in self.terms})  # ascending = sorted term order
            indices.extend(rows)
            indptr.append(len(indices))
        indicator = sparse.csr_matrix((np.ones(len(indices)), np.asarray(indices, dtype=np.int64), indptr),
                                      shape=(len(queries), len(self.terms)))
        product: sparse.csr_matrix = indicator @ self.weights
        return product


