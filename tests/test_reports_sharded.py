"""The batch search split into shards gives the single-process candidates and scores, bit for bit (issue 16).

Three levels: the merge alone, on hand-made picks with ties at the cut; shards in this process (every
partition size, documents of every kind: a stored vector the table lacks, a BM25 hit without a vector,
dense and BM25 ties); and on a local Ray cluster (`ray.init(num_cpus=2)`, started once for the module),
both the search and the whole report, whose every field must equal the single-process report's.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from matcher.bench_report import add_needs, build_engine
from matcher.index import Collection
from matcher.reports import ReportOptions, ReportScope, compute_report
from matcher.search_batch import BatchSearch, merge
from matcher.search_shard import Picks, ShardData, ShardSearch
from matcher.shards import RayShardedSearch, open_batch_search

DIM, SEEDS, QUERIES, CANDIDATES = 32, 900, 24, 60
VOCABULARY = [f"語{i}" for i in range(40)]
FIELDS = ("query", "column", "fused", "dense", "lexical")


def _unit(rng, n):
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _terms(rng, low, high):
    return [str(t) for t in rng.choice(VOCABULARY, size=int(rng.integers(low, high)))]


@pytest.fixture(scope="module")
def world():
    """A collection larger than the candidate count, with ties of both scores and documents of every kind."""
    rng = np.random.default_rng(7)
    collection = Collection(DIM, "test-model")
    ids = rng.choice(np.arange(1, 20 * SEEDS), size=SEEDS, replace=False).astype(np.int64)
    vectors = _unit(rng, SEEDS)
    vectors[1::50] = vectors[0]  # 18 seeds with the same cosine for every query: dense ties across shards
    terms = [_terms(rng, 1, 6) for _ in ids]
    terms[1::40] = [terms[0]] * len(terms[1::40])  # the same terms: BM25 ties across shards
    collection.upsert(ids, vectors, terms, [f"p{i}" for i in ids])
    collection.lexical.merge()
    collection.delete(ids[5:6])
    lexical_only = int(ids.max()) + 1  # a BM25 hit without a vector: it takes a place in the BM25 top N
    collection.lexical.upsert_many([(lexical_only, terms[0] + ["語0"])])
    # the table: without 20 stored seeds (their vectors still rank), with the BM25-only one and an unknown id
    doc_ids = np.sort(np.r_[np.setdiff1d(sorted(collection.ids()), ids[:20]), [lexical_only, lexical_only + 1]])
    queries = _unit(rng, QUERIES)
    query_terms = [_terms(rng, 3, 12) for _ in range(QUERIES)]
    groups = rng.integers(-1, 3, size=QUERIES)
    group_columns = {g: np.sort(rng.choice(len(doc_ids), size=300, replace=False)) for g in range(3)}
    vocabulary = {t for ts in query_terms for t in ts}
    return collection, doc_ids, vocabulary, queries, query_terms, groups, group_columns


def _assert_same(mine, theirs):
    for name in FIELDS:
        a, b = getattr(mine, name), getattr(theirs, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def _picks(query, doc, column, dense, lexical, held, by_dense):
    return Picks(np.asarray(query, np.int64), np.asarray(doc, np.int64), np.asarray(column, np.int64),
                 np.asarray(dense, np.float32), np.asarray(lexical, np.float64), np.asarray(held, bool),
                 np.asarray(by_dense, bool))


def test_the_merge_keeps_the_global_top_n_of_each_score_ties_at_the_cut_to_the_smaller_id():
    # two shards, k = 2, one query; shard A holds ids 5 and 9, shard B ids 3, 7 and 8
    a = _picks([0, 0, 0], [5, 9, 9], [1, 3, 3], [0.9, 0.5, 0.5], [0.0, 2.0, 2.0], [1, 1, 1], [1, 1, 0])
    # 3 and 7 by cosine; 7 and 8 (no vector) by BM25
    b = _picks([0, 0, 0, 0], [3, 7, 7, 8], [0, 2, 2, -1], [0.5, 0.1, 0.1, 0.0], [1.0, 2.0, 2.0, 3.0], [1, 1, 1, 0],
               [1, 1, 0, 0])
    found, bounds = merge([a, b], 1, 2, 0.5)
    # dense top 2: 5 (0.9), then 3 before 9 at 0.5; BM25 top 2: 8 (3.0), then 7 before 9 at 2.0; 8 has no vector
    assert found.column.tolist() == [0, 1, 2]  # ids 3, 5, 7: sorted by column
    assert found.dense.tolist() == pytest.approx([0.5, 0.9, 0.1])
    assert found.lexical.tolist() == [1.0, 0.0, 2.0]
    assert (bounds.dense_low[0], bounds.dense_high[0]) == (np.float32(0.1), np.float32(0.9))
    assert (bounds.lexical_low[0], bounds.lexical_high[0]) == (0.0, 2.0)


def test_one_shard_merged_alone_is_the_plain_batch_search(world):
    collection, doc_ids, vocabulary, queries, terms, groups, group_columns = world
    plain = BatchSearch(collection, doc_ids, vocabulary, candidates=CANDIDATES)
    found, within = plain.search(queries, terms, groups, group_columns)
    assert len(found.query) and len(within.query)
    assert not np.isin(doc_ids[found.column], doc_ids[-2:]).any()  # no vector: never a candidate


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize("shards", [2, 3, 7])
def test_shards_in_this_process_give_the_single_process_bits(world, mode, shards):
    collection, doc_ids, vocabulary, queries, terms, groups, group_columns = world
    plain = BatchSearch(collection, doc_ids, vocabulary, candidates=CANDIDATES, mode=mode)
    expected = plain.search(queries, terms, groups, group_columns)
    parts = ShardData.whole(collection, doc_ids, vocabulary).split(shards)
    assert sum(len(p.doc_ids) for p in parts) == len(doc_ids)
    sizes = [len(np.union1d(p.stored_ids, p.doc_ids)) for p in parts]  # documents of either kind
    assert max(sizes) - min(sizes) <= 1  # ranges of ids of equal sizes
    picks = [ShardSearch(p, candidates=CANDIDATES, mode=mode).picks(queries, terms, groups, group_columns)
             for p in parts]
    found, bounds = merge([f for f, _ in picks], QUERIES, CANDIDATES, plain.dense_weight)
    within, _ = merge([w for _, w in picks], QUERIES, CANDIDATES, plain.dense_weight, bounds)
    _assert_same(found, expected[0])
    _assert_same(within, expected[1])


def test_a_shard_scores_bm25_with_the_whole_index_statistics(world):
    collection, doc_ids, vocabulary, _, terms, _, _ = world
    whole = ShardData.whole(collection, doc_ids, vocabulary)
    for part in whole.split(3):
        np.testing.assert_array_equal(part.weights.scores(terms).toarray(),
                                      whole.weights.scores(terms).toarray()[:, part.columns])


# ---- on a local Ray cluster -----------------------------------------------------------------------------------

def test_ray_shards_give_the_single_process_bits_block_by_block(cluster, world):
    collection, doc_ids, vocabulary, queries, terms, groups, group_columns = world
    plain = BatchSearch(collection, doc_ids, vocabulary, candidates=CANDIDATES)
    blocks = [(queries[a:a + 10], terms[a:a + 10], groups[a:a + 10]) for a in range(0, QUERIES, 10)]
    with RayShardedSearch(collection, doc_ids, vocabulary, shards=3, candidates=CANDIDATES) as sharded:
        got = list(sharded.search_blocks(blocks, group_columns))
    assert len(got) == len(blocks)
    for (found, within), block in zip(got, blocks, strict=True):
        expected = plain.search(*block, group_columns)
        _assert_same(found, expected[0])
        _assert_same(within, expected[1])


@pytest.fixture(scope="module")
def synthetic():
    """3,000 seeds whose terms are the demo seeds' (so BM25 ties abound), random vectors with some repeated."""
    engine, _ = build_engine(3000, kaken=None)
    index = engine.seed_index
    twins = np.arange(2, 3001, 97)  # seeds whose vector is seed 1's: dense ties at every cut
    index.upsert(twins.tolist(), np.repeat(index.vectors_of([1]), len(twins), axis=0),
                 [list(index.lexical.terms_of(int(i)).elements()) for i in twins], [f"twin-{i}" for i in twins])
    needs, vectors, _ = add_needs(engine, 150)
    return engine, needs, vectors


def test_the_sharded_report_is_the_single_process_report(cluster, synthetic):
    engine, needs, vectors = synthetic
    options = ReportOptions(candidates=40, top_partners=10, chunk=64)  # 40 of 3,000: the cut decides
    plain = compute_report(engine, ReportScope(), options, needs=needs, need_vectors=vectors)
    sharded = compute_report(engine, ReportScope(), options, needs=needs, need_vectors=vectors, shards=3)
    assert len(plain.needs) == 150 and any(n.partners for n in plain.needs)
    mine, theirs = dataclasses.asdict(sharded), dataclasses.asdict(plain)
    for meta in (mine["meta"], theirs["meta"]):
        del meta["timings"], meta["generated_at"]
    assert mine == theirs


def test_open_batch_search_refuses_no_shards(world):
    collection, doc_ids, vocabulary, *_ = world
    with pytest.raises(ValueError), open_batch_search(collection, doc_ids, vocabulary, shards=0):
        pass


# ---- bulk embedding on the same cluster ---------------------------------------------------------------------

TEXTS = ["海苔の養殖", "地熱発電の小型化", "高齢者の見守り", "米粉パンの製法", "橋梁の点検ロボット"]


class LetterCounts:
    """A cheap, deterministic encoder: how often each of 8 letters' code points, modulo 8, occurs."""

    name, dim = "letter-counts", 8

    def encode_passages(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in zip(out, texts, strict=True):
            np.add.at(row, [ord(c) % self.dim for c in text], 1.0)
        return out

    def encode_queries(self, texts):
        return -self.encode_passages(texts)


@dataclasses.dataclass(frozen=True)
class LetterCountsSpec:
    def build(self):
        return LetterCounts()


def test_a_pool_of_ray_encoders_returns_every_vector_in_the_texts_order(cluster):
    from matcher.ray_encode import RayEncoder

    pool = RayEncoder(LetterCountsSpec(), workers=2)
    try:
        assert (pool.name, pool.dim) == ("letter-counts", 8)
        for size in (0, 1, 2, 5):  # fewer texts than actors, and more
            expected = LetterCounts().encode_passages(TEXTS[:size])
            np.testing.assert_array_equal(pool.encode_passages(TEXTS[:size]), expected)
        np.testing.assert_array_equal(pool.encode_queries(TEXTS), LetterCounts().encode_queries(TEXTS))
    finally:
        pool.close()


@pytest.mark.slow  # two actors load the model: about a minute on the busy 2-core machine
def test_a_pool_of_model_encoders_gives_the_models_vectors(cluster, encoder, model_dir):
    from matcher.ray_encode import EncoderSpec, RayEncoder

    pool = RayEncoder(EncoderSpec(model_dir), workers=2)
    try:
        assert (pool.name, pool.dim) == (encoder.name, encoder.dim)  # the same model: the vectors' key
        np.testing.assert_allclose(pool.encode_passages(TEXTS), encoder.encode_passages(TEXTS), atol=1e-5)
        np.testing.assert_allclose(pool.encode_queries(TEXTS[:1]), encoder.encode_queries(TEXTS[:1]), atol=1e-5)
    finally:
        pool.close()
