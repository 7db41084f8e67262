"""The batch search gives each query the candidates and the bits `hybrid_search` gives it alone.

A synthetic collection larger than the candidate count, so that choosing the top N matters; a small
vocabulary, so that BM25 ties abound (the cut is settled by id); writes after the first merge, so that
BM25 reads a main segment with tombstones and a delta. Everything is compared bit for bit: the report
and the page must not differ by a rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

from matcher.index import Collection
from matcher.lexical import BM25Index
from matcher.lexical_batch import TermWeights
from matcher.rank import AGGREGATIONS, Bounds, aggregate_entries, normalise
from matcher.search import exact_cosines, hybrid_search, top_per_row
from matcher.search_batch import BatchSearch

from .aggregation_reference import REFERENCE

DIM, SEEDS, QUERIES, CANDIDATES = 48, 1500, 20, 120
VOCABULARY = [f"語{i}" for i in range(60)]


def _unit(rng, n):
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _terms(rng, low, high):
    return [str(t) for t in rng.choice(VOCABULARY, size=int(rng.integers(low, high)))]


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(13)
    collection = Collection(DIM, "test-model")
    ids = rng.choice(np.arange(10, 10 * SEEDS), size=SEEDS, replace=False).astype(np.int64)  # not in storage order
    vectors = _unit(rng, SEEDS)
    vectors[5] = vectors[4]  # two seeds with the same cosine for every query: a dense tie settled by id
    terms = [_terms(rng, 1, 8) for _ in ids]
    collection.upsert(ids, vectors, terms, [f"p{i}" for i in ids])
    collection.lexical.merge()
    # after the merge: an update (tombstone + delta) and a delete, as a live index has them
    collection.upsert(ids[:3], _unit(rng, 3), [_terms(rng, 1, 8) for _ in range(3)], ["q0", "q1", "q2"])
    collection.delete(ids[3:4])
    queries = _unit(rng, QUERIES)
    queries[1] = queries[0]  # the same query twice in one block
    query_terms = [_terms(rng, 3, 15) for _ in range(QUERIES)]
    query_terms[2] = ["語なし"]  # a query no seed shares a term with
    doc_ids = np.sort(np.asarray(sorted(collection.ids()), dtype=np.int64))
    groups = rng.integers(-1, 3, size=QUERIES)  # -1: a query without a group
    group_columns = {g: np.sort(rng.choice(len(doc_ids), size=400, replace=False)) for g in range(3)}
    return collection, doc_ids, queries, query_terms, groups, group_columns


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_each_query_of_a_batch_gets_what_it_gets_alone(world, mode):
    collection, doc_ids, queries, query_terms, groups, group_columns = world
    batch = BatchSearch(collection, doc_ids, {t for ts in query_terms for t in ts}, candidates=CANDIDATES, mode=mode)
    found, within = batch.search(queries, query_terms, groups, group_columns)
    for i in range(QUERIES):
        alone = hybrid_search(collection, queries[i], query_terms[i], candidates=CANDIDATES, mode=mode)
        _same(found, i, doc_ids, alone)
        if groups[i] >= 0:
            allowed = doc_ids[group_columns[int(groups[i])]]
            local = hybrid_search(collection, queries[i], query_terms[i], candidates=CANDIDATES, allowed=allowed,
                                  bounds=(alone.dense_bounds, alone.lexical_bounds), mode=mode)
            _same(within, i, doc_ids, local)
        else:
            assert not (within.query == i).any()


def _same(found, i, doc_ids, alone):
    mine = found.query == i
    ids = doc_ids[found.column[mine]]
    order = np.argsort(alone.ids)
    assert len(alone) > 0
    np.testing.assert_array_equal(ids, alone.ids[order])
    for name in ("fused", "dense", "lexical"):
        np.testing.assert_array_equal(getattr(found, name)[mine], getattr(alone, name)[order], err_msg=name)


def test_term_weights_score_as_the_index_does(world):
    collection, doc_ids, _, query_terms, _, _ = world
    weights = TermWeights.of(collection.lexical, doc_ids, {t for ts in query_terms for t in ts})
    scores = weights.scores(query_terms).toarray()
    for i, terms in enumerate(query_terms):
        np.testing.assert_array_equal(scores[i], collection.lexical.exact_scores(terms, doc_ids))


def test_term_weights_give_an_empty_column_to_an_unknown_document():
    index = BM25Index()
    index.upsert_many([(1, ["海苔", "養殖"]), (2, ["地熱"])])
    weights = TermWeights.of(index, np.array([2, 99, 1]), ["海苔", "地熱", "火星"])
    scores = weights.scores([["海苔", "海苔"], ["火星"], ["地熱", "海苔"]]).toarray()
    assert scores[:, 1].tolist() == [0.0, 0.0, 0.0]  # id 99 is not held
    assert scores[1].tolist() == [0.0, 0.0, 0.0]  # no held term
    assert scores[0, 2] == index.exact_scores(["海苔"], [1])[0]  # a repeated term counts once


def test_cosines_have_the_same_bits_alone_and_in_batches_of_any_size():
    rng = np.random.default_rng(1)
    vectors, queries = _unit(rng, 477), _unit(rng, 70)  # BLAS picks other kernels for small shapes in float32
    full = exact_cosines(queries, vectors)
    for size in (1, 2, 3, 8, 16, 33, 70):
        np.testing.assert_array_equal(exact_cosines(queries[:size], vectors), full[:size])
    np.testing.assert_array_equal(exact_cosines(queries[7], vectors[100:140]), full[7:8, 100:140])


def test_top_per_row_settles_ties_at_the_cut_by_id():
    values = np.array([[0.9, 0.5, 0.5, 0.5, 0.1], [0.0, 0.3, 0.0, 0.2, 0.0]])
    ids = np.array([50, 40, 30, 20, 10])
    rows, cols = top_per_row(values, ids, 3)
    assert sorted(ids[cols[rows == 0]].tolist()) == [20, 30, 50]  # of the three tied at 0.5, ids 20 and 30
    rows, cols = top_per_row(values, ids, 3, positive=True)
    assert sorted(ids[cols[rows == 1]].tolist()) == [20, 40]  # only the scores above 0


def test_bounds_given_per_score_normalise_as_a_scalar_bound_does():
    rng = np.random.default_rng(2)
    scores = rng.random(50).astype(np.float32) * 3
    for low, high in ((0.4, 2.1), (0.0, 0.0), (1.5, 1.5), (0.3, 0.3 + 1e-13)):
        expected = Bounds(low, high).normalise(scores)
        got = normalise(scores, np.full(50, low), np.full(50, high))
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == np.float32
    mixed = normalise(scores[:2], np.array([0.0, 1.0]), np.array([3.0, 1.0]))  # the second query's candidates tie
    assert mixed.tolist() == [Bounds(0.0, 3.0).normalise(scores[:1])[0], 1.0]


@pytest.mark.parametrize("rule", sorted(AGGREGATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_one_aggregation_computes_each_rule(rule, dtype):
    assert set(REFERENCE) == set(AGGREGATIONS)
    rng = np.random.default_rng(3)
    group = rng.integers(0, 30, size=600)
    score = rng.choice(np.linspace(0, 1, 40), size=600).astype(dtype)  # many equal scores
    result = aggregate_entries(group, score, rule)
    assert result.group.tolist() == sorted(set(group.tolist()))
    for g, value, best in zip(result.group.tolist(), result.score.tolist(), result.best.tolist(), strict=True):
        mine = sorted(score[group == g].astype(np.float64).tolist(), reverse=True)
        assert value == pytest.approx(REFERENCE[rule](mine), rel=1e-12)
        assert AGGREGATIONS[rule](mine) == value  # the callable rule is the same implementation
        assert group[best] == g and score[best] == mine[0]
        assert best == np.flatnonzero((group == g) & (score == mine[0]))[0]  # the first of equal best scores
