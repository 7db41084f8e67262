"""Reader copies (issue 12, "report jobs read a snapshot"): `BM25Index.copy`, `Collection.reader_copy` and
`Engine.reader_copy` answer exactly as the original did at the moment of the copy, whatever is written to the
original afterwards, and the caller's lock is held for the copy only, not while the copy's FAISS index is built.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from matcher.index import Collection, CollectionCopy
from matcher.lexical import BM25Index
from matcher.reports import ReportOptions, ReportScope, compute_report, select_needs
from matcher.search import hybrid_search

DIM = 8
QUERY_TERMS = ["雪", "融雪", "熱"]


def _terms(rng: np.random.Generator, n: int) -> list[list[str]]:
    vocabulary = ["雪", "融雪", "熱", "地中", "道路", "カキ", "養殖", "町家", "耐震", "稲わら"]
    return [list(rng.choice(vocabulary, size=int(rng.integers(1, 6)))) for _ in range(n)]


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _collection(n: int = 60) -> Collection:
    rng = np.random.default_rng(0)
    collection = Collection(DIM, "test-model")
    vectors = _unit(rng, n)
    vectors[1] = vectors[0]  # a tie: the copy must order it as the original does
    collection.upsert(list(range(1, n + 1)), vectors, _terms(rng, n), [f"p{i}" for i in range(1, n + 1)])
    collection.lexical.merge()
    collection.upsert([3, 4], _unit(rng, 2), _terms(rng, 2), ["q3", "q4"])  # a delta beside the main segment
    return collection


def _answers(collection: Collection, query: np.ndarray) -> tuple[list[int], list[float], list[int], list[float]]:
    """What a reader sees: hybrid candidates and a plain dense search, as Python values."""
    found = hybrid_search(collection, query, QUERY_TERMS, candidates=20)
    scores, ids = collection.search_dense(query.reshape(1, -1), 10)
    return found.ids.tolist(), found.fused.tolist(), ids[0].tolist(), scores[0].tolist()


def test_a_bm25_copy_keeps_its_scores_while_the_original_changes():
    original = BM25Index(min_delta=2, delta_fraction=0.0)
    for doc_id, terms in enumerate(_terms(np.random.default_rng(1), 30), start=1):
        original.upsert(doc_id, terms)
    copy = original.copy()
    ids, scores = original.search(QUERY_TERMS, 10)
    original.upsert(1, ["融雪", "融雪", "熱"])
    original.delete(2)
    original.merge()
    got_ids, got_scores = copy.search(QUERY_TERMS, 10)
    assert got_ids.tolist() == ids.tolist() and got_scores.tolist() == scores.tolist()
    assert len(copy) == 30 and 2 in copy and 2 not in original
    copy.delete(5)  # and the other way round: a write to the copy leaves the original alone
    assert 5 in original


def test_a_collection_copy_answers_as_the_original_did_whatever_is_written_after():
    original = _collection()
    query = _unit(np.random.default_rng(2), 1)[0]
    before = _answers(original, query)
    taken = original.reader_copy()
    copy = taken.open()
    assert _answers(copy, query) == before
    original.upsert([1, 2, 70], _unit(np.random.default_rng(3), 3), [["雪"], ["熱"], ["融雪"]], ["x1", "x2", "x70"])
    original.delete([5, 6])
    assert _answers(copy, query) == before
    assert copy.ids() == set(range(1, 61)) and copy.fingerprints[1] == "p1"
    copy.check_consistent()
    # each open is a collection of its own
    copy.delete([7])
    assert 7 in taken.open()


def test_an_engine_copy_matches_as_the_engine_did(golden_engine, golden_corpus):
    need = next(iter(golden_corpus.needs))
    before = golden_engine.match(need.text, need.prefecture_code)
    mine = golden_engine.reader_copy()  # an engine of this test's own to write to; the shared one stays as it is
    copy = mine.reader_copy()
    assert copy.match(need.text, need.prefecture_code) == before
    best = before.partners[0].seeds[0].seed
    mine.delete_seed(best.id)
    other = next(s for s in mine.seeds.values() if s.university != best.university)
    mine.upsert_seed(replace(other, title=need.title, summary=need.description))
    assert mine.match(need.text, need.prefecture_code) != before  # the writes did change what `mine` answers
    assert copy.match(need.text, need.prefecture_code) == before
    assert golden_engine.match(need.text, need.prefecture_code) == before
    assert best.id in copy.seeds and best.id not in mine.seeds


class RecordingLock:
    """A lock that says whether it is held, so a test can see what ran inside it."""

    def __init__(self) -> None:
        self.inner = threading.Lock()
        self.held = False
        self.entered = 0

    def __enter__(self) -> None:
        self.inner.acquire()
        self.held = True
        self.entered += 1

    def __exit__(self, *exc: object) -> None:
        self.held = False
        self.inner.release()


def test_the_lock_is_held_for_the_copy_and_released_before_faiss_is_built(golden_engine, monkeypatch):
    lock = RecordingLock()
    copied_under_lock: list[bool] = []
    opened_under_lock: list[bool] = []
    reader_copy, open_copy = Collection.reader_copy, CollectionCopy.open

    def recording_reader_copy(self: Collection) -> CollectionCopy:
        copied_under_lock.append(lock.held)
        return reader_copy(self)

    def recording_open(self: CollectionCopy) -> Collection:
        opened_under_lock.append(lock.held)
        return open_copy(self)

    monkeypatch.setattr(Collection, "reader_copy", recording_reader_copy)
    monkeypatch.setattr(CollectionCopy, "open", recording_open)
    copy = golden_engine.reader_copy(lock)
    assert lock.entered == 1
    assert copied_under_lock == [True, True]  # seeds and needs, in one critical section
    assert opened_under_lock == [False, False]
    assert sorted(copy.seed_index.ids()) == sorted(golden_engine.seed_index.ids())


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_a_report_over_a_copy_equals_the_report_over_the_engine(golden_engine, mode):
    needs = select_needs(golden_engine, ReportScope())
    vectors = golden_engine.encoder.encode_queries([n.text for n in needs])
    options = ReportOptions(mode=mode, assignment_cap=1)
    direct = compute_report(golden_engine, options=options, needs=needs, need_vectors=vectors)
    copied = compute_report(golden_engine.reader_copy(), options=options, needs=needs, need_vectors=vectors)
    for part in ("needs", "flow", "flow_best", "silo", "by_region", "by_market_area", "by_prefecture",
                 "universities", "assignment"):
        assert getattr(copied, part) == getattr(direct, part), part
