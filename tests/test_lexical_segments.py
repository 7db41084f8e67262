"""The segmented BM25 index scores exactly as a from-scratch one, whatever the history of writes and merges."""

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.lexical import BM25Index, MergePlan, merge_outside_lock

VOCAB = ["稲藁", "ガス", "発電", "燃料", "観光", "温泉", "水産", "養殖"]
IDS = list(range(12))

terms_st = st.lists(st.sampled_from(VOCAB), max_size=7)
op_st = st.one_of(
    st.tuples(st.just("upsert"), st.sampled_from(IDS), terms_st),
    st.tuples(st.just("delete"), st.sampled_from(IDS)),
    st.tuples(st.just("merge")),
    st.tuples(st.just("begin")),
    st.tuples(st.just("build")),
    st.tuples(st.just("finish")),
)
queries_st = st.lists(st.lists(st.sampled_from([*VOCAB, "未知"]), min_size=1, max_size=5), min_size=1, max_size=4)


def oracle(docs, query, k1=1.2, b=0.75):
    """BM25 straight from the formula over the final documents: the definition, not the implementation."""
    n = len(docs)
    avgdl = max(sum(sum(tf.values()) for tf in docs.values()) / n, 1e-9) if n else 1.0
    scores = dict.fromkeys(docs, 0.0)
    for term in set(query):
        df = sum(1 for tf in docs.values() if term in tf)
        if not df:
            continue
        idf = math.log1p((n - df + 0.5) / (df + 0.5))
        for doc_id, tf in docs.items():
            if tf[term]:
                dl = sum(tf.values())
                scores[doc_id] += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * dl / avgdl))
    return scores


def replay(ops, *, min_delta=2):
    """Apply `ops` to a small-threshold index, with merges begun, built and finished between other writes."""
    index = BM25Index(min_delta=min_delta, delta_fraction=0.0)
    docs = {}
    plan = built = None
    for op in ops:
        if op[0] == "upsert":
            index.upsert(op[1], op[2])
            docs[op[1]] = Counter(op[2])
        elif op[0] == "delete":
            assert index.delete(op[1]) == (docs.pop(op[1], None) is not None)
        elif op[0] == "merge":
            index.merge()
            plan = built = None  # a merge begun later supersedes the one in flight
        elif op[0] == "begin":
            plan, built = index.begin_merge(), None
        elif op[0] == "build" and plan is not None:
            built = plan.build()
        elif op[0] == "finish" and plan is not None:
            index.finish_merge(plan, built if built is not None else plan.build())
            plan = built = None
    return index, docs


def from_scratch(docs):
    index = BM25Index()
    index.upsert_many(sorted(docs.items()))
    index.merge()
    return index


@settings(max_examples=300, deadline=None)
@given(ops=st.lists(op_st, max_size=40), queries=queries_st)
def test_scores_equal_a_rebuild_after_any_history(ops, queries):
    index, docs = replay(ops)
    fresh = from_scratch(docs)
    assert sorted(index.ids()) == sorted(docs) and len(index) == len(docs)
    probe = [*IDS, 999]
    for query in queries:
        expected = oracle(docs, query)
        want = np.array([expected.get(i, 0.0) for i in probe])
        got = index.exact_scores(query, probe)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        np.testing.assert_allclose(got, fresh.exact_scores(query, probe), rtol=0, atol=1e-9)
        for allowed in (None, np.array(IDS[::2])):
            found_ids, found = index.search(query, 3, allowed=allowed)
            fresh_ids, fresh_scores = fresh.search(query, 3, allowed=allowed)
            assert found_ids.tolist() == fresh_ids.tolist()
            np.testing.assert_array_equal(found, fresh_scores)
    for term in [*VOCAB, "未知"]:
        assert index.idf(term) == pytest.approx(fresh.idf(term), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(ops=st.lists(op_st, max_size=30), query=st.lists(st.sampled_from(VOCAB), min_size=1, max_size=4))
def test_state_round_trip_after_any_history(ops, query):
    index, docs = replay(ops)
    again = BM25Index.from_state(index.to_state())
    np.testing.assert_allclose(again.exact_scores(query, IDS), index.exact_scores(query, IDS), rtol=0, atol=1e-9)
    assert again.pending == 0  # a loaded index is one main segment


def test_writes_go_to_the_delta_until_the_threshold_then_merge():
    index = BM25Index(min_delta=3, delta_fraction=0.0)
    index.upsert_many([(1, ["ガス"]), (2, ["燃料"]), (3, ["温泉"])])
    assert index.pending == 3  # at the threshold: not yet merged
    index.upsert(4, ["ガス"])
    assert index.pending == 0  # past it: merged into the main segment
    index.upsert(1, ["温泉"])  # an update tombstones the main row and adds the new version to the delta
    assert index.pending == 2
    assert index.search(["ガス"], 5)[0].tolist() == [4]


def test_threshold_grows_with_the_index():
    index = BM25Index(min_delta=10, delta_fraction=0.01)
    assert index.merge_threshold() == 10
    index.upsert_many((i, ["語"]) for i in range(5000))
    assert index.merge_threshold() == 50


def test_writes_during_a_merge_are_carried_over():
    index = BM25Index(auto_merge=False)
    index.upsert_many([(1, ["稲藁", "ガス"]), (2, ["ガス"]), (3, ["温泉"])])
    plan = index.begin_merge()
    index.upsert(2, ["温泉"])  # newer than the merged copy
    index.delete(3)
    index.upsert(4, ["ガス"])
    index.finish_merge(plan, plan.build())
    assert sorted(index.search(["ガス"], 5)[0].tolist()) == [1, 4]
    assert index.search(["温泉"], 5)[0].tolist() == [2]
    assert index.pending == 4  # 2 and 4 in the delta; the merged rows of 2 and 3 are tombstones


def test_a_superseded_merge_is_refused():
    index = BM25Index(auto_merge=False)
    index.upsert(1, ["ガス"])
    first = index.begin_merge()
    index.begin_merge()
    with pytest.raises(ValueError, match="superseded"):
        index.finish_merge(first, first.build())


def test_equal_scores_are_ordered_by_id_and_cut_at_k():
    index = BM25Index()
    index.upsert_many([(30, ["ガス"]), (10, ["ガス"]), (20, ["ガス"]), (5, ["燃料"])])
    assert index.search(["ガス"], 2)[0].tolist() == [10, 20]
    assert index.search(["ガス"], 0)[0].size == 0


class RecordingLock:
    """A lock that records when it is held, so a test can see what ran inside it."""

    def __init__(self, log):
        self.log = log

    def __enter__(self):
        self.log.append("lock")

    def __exit__(self, *exc):
        self.log.append("unlock")


def test_background_merge_builds_without_the_lock(monkeypatch):
    index = BM25Index(min_delta=2, delta_fraction=0.0, auto_merge=False)
    index.upsert_many([(1, ["ガス"]), (2, ["燃料"]), (3, ["温泉"])])
    log = []
    real_build = MergePlan.build
    monkeypatch.setattr(MergePlan, "build", lambda plan: (log.append("build"), real_build(plan))[1])
    assert merge_outside_lock(index, RecordingLock(log))
    assert log == ["lock", "unlock", "build", "lock", "unlock"]
    assert index.pending == 0 and index.search(["温泉"], 5)[0].tolist() == [3]
    assert not merge_outside_lock(index, RecordingLock([]))  # nothing due now
