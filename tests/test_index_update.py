"""An update overwrites the held vector in place; after any mix of adds, updates and deletes the
collection answers as a reference of plain vectors does."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.index import Collection

DIM = 8


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def put(collection: Collection, item_id: int, seed: int) -> None:
    collection.upsert([item_id], unit(seed)[None, :], [[f"t{seed}"]], [f"p{seed}"])


def test_an_update_replaces_the_vector_without_moving_others():
    collection = Collection(DIM, "test-model")
    for item_id in (10, 20, 30):
        put(collection, item_id, item_id)
    rows_before = [collection.dense.id_map.at(i) for i in range(3)]
    put(collection, 20, 99)
    assert len(collection) == 3
    assert [collection.dense.id_map.at(i) for i in range(3)] == rows_before  # in place, not remove + add
    np.testing.assert_allclose(collection.vectors_of([20])[0], unit(99), rtol=1e-6)
    _, found = collection.search_dense(unit(99)[None, :], 1)
    assert found[0, 0] == 20


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["put", "delete"]), st.integers(1, 12), st.integers(0, 50)),
                max_size=60))
def test_any_history_of_writes_leaves_the_vectors_a_reference_holds(history):
    collection = Collection(DIM, "test-model")
    reference: dict[int, int] = {}
    for action, item_id, seed in history:
        if action == "put":
            put(collection, item_id, seed)
            reference[item_id] = seed
        else:
            collection.delete([item_id])
            reference.pop(item_id, None)
    assert collection.ids() == set(reference) and len(collection) == len(reference)
    collection.check_consistent()
    for item_id, seed in reference.items():
        np.testing.assert_allclose(collection.vectors_of([item_id])[0], unit(seed), rtol=1e-6)
        scores, found = collection.search_dense(unit(seed)[None, :], len(reference))
        assert scores[0, list(found[0]).index(item_id)] > 0.9999  # its own vector is where search finds it
