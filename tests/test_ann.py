"""The approximate dense index (matcher/ann.py): chosen by size, re-scored exactly, kept in step by writes.

Small collections with the size threshold lowered, so the ANN path runs in milliseconds. The data are tight
clusters, where a calibrated IVF index finds every exact neighbour (recall 1 on the calibration queries),
so its results must equal the exact search's bit for bit; and random vectors with nprobe 1, where it misses,
to show which path a search took.
"""

from __future__ import annotations

import numpy as np
import pytest

from matcher.ann import AnnSettings, AnnSlot, list_count
from matcher.index import Collection
from matcher.search import approximate_cosines, exact_cosines, hybrid_search

DIM = 32
N = 3_000
K = 40


def clustered(rng: np.random.Generator, n: int, centres: np.ndarray, noise: float = 0.08) -> np.ndarray:
    points = centres[rng.integers(0, len(centres), n)] + noise * rng.standard_normal((n, DIM))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def collection_of(vectors: np.ndarray, ids: np.ndarray, settings: AnnSettings) -> Collection:
    collection = Collection(DIM, "test-model")
    terms = [["語"] if i % 3 == 0 else ["別"] for i in ids.tolist()]
    collection.upsert(ids.tolist(), vectors, terms, [f"p{i}" for i in ids.tolist()])
    collection.ann = AnnSlot(settings)
    return collection


def exactly(collection: Collection, query: np.ndarray, **options):
    """The search with the collection's ANN index set aside."""
    held, collection.ann.index = collection.ann.index, None
    try:
        return hybrid_search(collection, query, ["語"], candidates=K, **options)
    finally:
        collection.ann.index = held


@pytest.fixture
def world():
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((30, DIM))
    vectors = clustered(rng, N, centres)
    queries = clustered(rng, 25, centres)
    ids = np.arange(1, N + 1, dtype=np.int64) * 7  # ids are not rows
    settings = AnnSettings(threshold=1_000, kind="ivf-flat", target_recall=1.0, recall_k=K)
    collection = collection_of(vectors, ids, settings)
    built = collection.ann.begin_rebuild(ids, vectors).build(queries)  # calibrated on these queries
    collection.finish_ann_rebuild(built)
    return collection, queries, centres


def assert_same(found, expected):
    np.testing.assert_array_equal(found.ids, expected.ids)
    np.testing.assert_array_equal(found.dense, expected.dense)
    np.testing.assert_array_equal(found.fused, expected.fused)


def test_with_recall_one_the_ann_path_gives_the_exact_results_bit_for_bit(world):
    collection, queries, _ = world
    ann = collection.ann.active(len(collection))
    assert ann is not None and ann.recall == 1.0 and ann.nprobe < ann.nlist == list_count(N)
    for query in queries:
        assert_same(hybrid_search(collection, query, ["語"], candidates=K), exactly(collection, query))


def test_every_score_shown_is_the_exact_cosine(world):
    collection, queries, _ = world
    for query in queries[:5]:
        found = hybrid_search(collection, query, ["語"], candidates=K, mode="dense")
        np.testing.assert_array_equal(found.dense, exact_cosines(query, collection.vectors_of(found.ids))[0])


def test_a_large_scope_is_searched_in_the_ann_index_and_a_small_one_exactly(world):
    collection, queries, _ = world
    ids = np.asarray(sorted(collection.ids()))
    large, small = ids[ids % 2 == 0], ids[:200]  # half the vectors: the ANN; under scope_share: exact
    for allowed in (large, small):
        for query in queries[:10]:
            found = hybrid_search(collection, query, ["語"], candidates=K, allowed=allowed)
            assert np.isin(found.ids, allowed).all()
            assert_same(found, exactly(collection, query, allowed=allowed))


def test_the_size_switch_chooses_the_path():
    rng = np.random.default_rng(1)
    vectors = clustered(rng, 2_000, rng.standard_normal((2_000, DIM)), noise=1.0)  # no structure to find
    ids = np.arange(1, 2_001, dtype=np.int64)
    collection = collection_of(vectors, ids, AnnSettings(threshold=1_000, kind="ivf-flat", recall_k=K))
    assert collection.refresh_ann() and not collection.refresh_ann()  # built once, then not due
    ann = collection.ann.index
    assert ann is not None
    ann.nprobe = 1  # a poor index, so that the path taken shows in the results
    queries = clustered(rng, 10, rng.standard_normal((10, DIM)), noise=1.0)
    differs = [not np.array_equal(hybrid_search(collection, q, [], candidates=K, mode="dense").ids,
                                  exactly(collection, q, mode="dense").ids) for q in queries]
    assert any(differs) and approximate_cosines(collection, queries[0]) is None
    ann.nprobe = ann.nlist  # probing every list is no faster than the exact product: not used
    assert collection.ann.active(len(collection)) is None
    assert approximate_cosines(collection, queries[0]) is not None
    ann.nprobe = 1
    collection.ann = AnnSlot(AnnSettings(threshold=len(collection) + 1))  # now below the threshold
    collection.ann.index = ann
    assert collection.ann.active(len(collection)) is None
    assert approximate_cosines(collection, queries[0]) is not None
    for q in queries:
        assert_same(hybrid_search(collection, q, [], candidates=K, mode="dense"),
                    exactly(collection, q, mode="dense"))


def test_upserts_and_deletes_keep_the_ann_index_in_step(world):
    collection, queries, centres = world
    ann = collection.ann.index
    assert ann is not None
    query = queries[0]
    new_id, moved_id = 10**6, int(sorted(collection.ids())[0])
    far = -query  # nowhere near the query
    collection.upsert([new_id, moved_id], np.stack([query, far]), [["新"], ["別"]], ["n", "m"])
    assert len(ann) == len(collection)
    found = hybrid_search(collection, query, [], candidates=K, mode="dense")
    assert found.ids[0] == new_id and moved_id not in found.ids.tolist()
    collection.delete([new_id])
    found = hybrid_search(collection, query, [], candidates=K, mode="dense")
    assert new_id not in found.ids.tolist() and len(ann) == len(collection)
    assert_same(hybrid_search(collection, query, ["語"], candidates=K), exactly(collection, query))


def test_growth_makes_a_rebuild_due_and_writes_during_it_reach_the_new_index():
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((20, DIM))
    ids = np.arange(1, 1_501, dtype=np.int64)
    settings = AnnSettings(threshold=1_000, kind="ivf-sq8", recall_k=20, retrain_factor=2.0)
    collection = collection_of(clustered(rng, 1_500, centres), ids, settings)
    assert collection.refresh_ann()
    first = collection.ann.index
    assert first is not None and first.trained_size == 1_500 and not collection.ann.due(len(collection))
    more = np.arange(2_000, 3_499, dtype=np.int64)  # 1,499 more: 2,999 < 2 × 1,500, not yet due
    collection.upsert(more.tolist(), clustered(rng, len(more), centres), [["x"]] * len(more), ["p"] * len(more))
    assert not collection.ann.due(len(collection))
    collection.upsert([5_000], clustered(rng, 1, centres), [["x"]], ["p"])
    assert collection.ann.due(len(collection))

    rebuild = collection.begin_ann_rebuild()
    assert rebuild is not None and not collection.ann.due(len(collection))  # one rebuild at a time
    late = clustered(rng, 1, centres)
    collection.upsert([6_000], late, [["x"]], ["p"])  # written while the new index trains
    collection.delete([1, 2])
    collection.finish_ann_rebuild(rebuild.build())
    second = collection.ann.index
    assert second is not first and second is not None and second.trained_size == 3_000
    assert len(second) == len(collection) == 2_999
    found = hybrid_search(collection, late[0], [], candidates=5, mode="dense")
    assert found.ids[0] == 6_000 and not {1, 2} & set(found.ids.tolist())


def test_a_loaded_collection_trains_its_ann_index_above_the_threshold(tmp_path):
    rng = np.random.default_rng(3)
    vectors = clustered(rng, 2_000, rng.standard_normal((20, DIM)))
    collection = Collection(DIM, "test-model")
    collection.upsert(list(range(1, 2_001)), vectors, [["語"]] * 2_000, ["p"] * 2_000)
    collection.save(tmp_path / "seeds")
    settings = AnnSettings(threshold=1_000, recall_k=K)
    assert Collection.load(tmp_path / "seeds").ann.index is None  # the default threshold is far above 2,000
    loaded = Collection.load(tmp_path / "seeds", ann=settings)
    ann = loaded.ann.index
    assert ann is not None and len(ann) == 2_000 and ann.nlist == list_count(2_000)
    assert ann.recall >= settings.target_recall or ann.nprobe == ann.nlist


def test_the_engine_loads_its_saved_collections_with_the_ann_settings_it_is_given(tmp_path):
    """Engine.open hands its ANN settings to the collections it loads (index_sync.saved_or_empty), so a large
    saved collection is trained once, under the operator's settings, as it loads."""
    from matcher.index_sync import saved_or_empty

    rng = np.random.default_rng(4)
    vectors = clustered(rng, 2_000, rng.standard_normal((20, DIM)))
    collection = Collection(DIM, "test-model")
    collection.upsert(list(range(1, 2_001)), vectors, [["語"]] * 2_000, ["p"] * 2_000)
    collection.save(tmp_path / "seeds")
    settings = AnnSettings(threshold=1_000, kind="ivf-flat", recall_k=K)
    empty = Collection(DIM, "test-model")
    empty.ann = AnnSlot(settings)
    loaded = saved_or_empty(empty, tmp_path / "seeds")
    assert loaded is not empty and loaded.ann.settings == settings
    assert loaded.ann.index is not None and loaded.ann.index.describe()["kind"] == "ivf-flat"


def test_nprobe_is_bisected_below_the_doubling_that_first_met_the_target():
    """Recall that grows with nprobe and meets the target from 300 on: doubling from 64 stops at 512, the three
    bisections bring it to 320 (within 1/16 of the step), never below the target."""
    from matcher.ann import choose_nprobe

    class Probe:
        nlist, nprobe, recall = 4_000, 0, 0.0

    tried = []

    def recall(ann):
        tried.append(ann.nprobe)
        return 0.995 if ann.nprobe >= 300 else 0.9

    ann = Probe()
    choose_nprobe(ann, recall, 0.99, start=64)
    assert (ann.nprobe, ann.recall) == (320, 0.995)
    assert tried == [64, 128, 256, 512, 384, 320, 288]
    choose_nprobe(ann, recall, 0.99, start=512)  # met at once: nothing below the start is known to miss
    assert ann.nprobe == 512
