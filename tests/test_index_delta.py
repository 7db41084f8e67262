"""Incremental snapshots (matcher/index_delta.py): a base plus deltas loads as the collection that wrote them."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher import index_delta
from matcher.errors import IndexFormatError
from matcher.index import CONFIG_FILE, Collection

DIM = 4


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def put(collection: Collection, item_id: int, version: int = 0) -> None:
    collection.upsert([item_id], [vector(item_id * 1000 + version)], [[f"t{item_id}", f"v{version}", "共通"]],
                      [f"{item_id:08d}{version:08d}"])


def collection_of(ids: range) -> Collection:
    c = Collection(DIM, "test-model")
    for i in ids:
        put(c, i)
    return c


def assert_same(loaded: Collection, expected: Collection) -> None:
    assert loaded.fingerprints == expected.fingerprints
    ids = sorted(expected.ids())
    np.testing.assert_array_equal(loaded.vectors_of(ids), expected.vectors_of(ids))
    assert [loaded.lexical.terms_of(i) for i in ids] == [expected.lexical.terms_of(i) for i in ids]
    query = ["共通", "v1"]
    assert loaded.lexical.search(query, 50)[0].tolist() == expected.lexical.search(query, 50)[0].tolist()
    assert loaded.applied_sequence == expected.applied_sequence


def manifest(folder) -> dict:
    return json.loads((folder / CONFIG_FILE).read_text())


def test_a_save_after_a_few_changes_writes_only_a_delta_that_loads_back(tmp_path):
    c = collection_of(range(1, 2001))
    full_bytes = c.save(tmp_path, applied_sequence=1)
    put(c, 5, version=1)
    put(c, 3000, version=1)
    c.delete([7])
    c.applied_sequence = 4
    delta_bytes = c.save(tmp_path)
    config = manifest(tmp_path)
    assert [(d["items"], d["deleted"], d["applied_sequence"]) for d in config["deltas"]] == [(2, 1, 4)]
    assert config["applied_sequence"] == 4 and config["base_applied_sequence"] == 1
    assert delta_bytes < full_bytes / 10
    assert_same(Collection.load(tmp_path, expect_model="test-model"), c)


def test_updates_deletes_and_re_adds_across_several_deltas_fold_in_order(tmp_path):
    c = collection_of(range(1, 11))
    c.save(tmp_path)
    put(c, 3, version=1)
    c.delete([4])
    c.save(tmp_path)
    c.delete([3])
    put(c, 4, version=2)  # back after its removal
    c.save(tmp_path)
    put(c, 3, version=3)
    c.delete([10])
    c.save(tmp_path)
    assert len(manifest(tmp_path)["deltas"]) == 3
    loaded = Collection.load(tmp_path, expect_model="test-model")
    assert_same(loaded, c)
    assert loaded.fingerprints[3].endswith("00000003") and 10 not in loaded


def test_a_loaded_collection_goes_on_appending_to_the_folder_it_loaded(tmp_path):
    c = collection_of(range(1, 21))
    c.save(tmp_path)
    put(c, 2, version=1)
    c.save(tmp_path)
    reopened = Collection.load(tmp_path, expect_model="test-model")
    put(reopened, 3, version=1)
    reopened.save(tmp_path)
    assert [d["items"] for d in manifest(tmp_path)["deltas"]] == [1, 1]
    assert_same(Collection.load(tmp_path, expect_model="test-model"), reopened)


def test_another_writer_in_between_makes_the_next_save_a_full_one(tmp_path):
    """Two workers share one folder: a delta only ever extends the state its writer last saw there."""
    first, second = collection_of(range(1, 21)), collection_of(range(1, 21))
    first.save(tmp_path)
    put(second, 1, version=1)
    second.save(tmp_path)  # a base of its own: it never saw this folder
    put(first, 2, version=1)
    first.save(tmp_path)  # the folder is not the one it wrote, so not a delta on top of `second`'s
    config = manifest(tmp_path)
    assert config["deltas"] == [] and not list(tmp_path.glob(index_delta.DELTA_PATTERN))
    assert_same(Collection.load(tmp_path, expect_model="test-model"), first)


def test_the_base_is_written_again_once_the_deltas_hold_too_many_items(tmp_path, monkeypatch):
    monkeypatch.setattr(index_delta, "REBASE_MIN_ITEMS", 5)
    c = collection_of(range(1, 11))  # 10% of 10 is 1: the floor of 5 decides
    c.save(tmp_path)
    kinds = []
    for round_ in range(4):
        put(c, 1 + round_, version=1)
        put(c, 5 + round_, version=1)
        c.save(tmp_path)
        kinds.append(len(manifest(tmp_path)["deltas"]))
    assert kinds == [1, 2, 0, 1]  # 2 + 2 = 4 ≤ 5, then 6 > 5: a new base, then deltas again
    assert len(list(tmp_path.glob(index_delta.DELTA_PATTERN))) == 1
    assert_same(Collection.load(tmp_path, expect_model="test-model"), c)


def test_a_damaged_delta_is_refused_so_the_index_is_rebuilt_rather_than_wrong(tmp_path):
    c = collection_of(range(1, 11))
    c.save(tmp_path)
    put(c, 2, version=1)
    c.save(tmp_path)
    delta_file = tmp_path / manifest(tmp_path)["deltas"][0]["file"]
    data = bytearray(delta_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    delta_file.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match="差分ファイル"):
        Collection.load(tmp_path, expect_model="test-model")


def test_a_delta_cut_short_by_a_full_disk_leaves_the_previous_state_and_its_changes_pending(tmp_path, monkeypatch):
    c = collection_of(range(1, 11))
    c.save(tmp_path)
    before = Collection.load(tmp_path, expect_model="test-model")
    put(c, 2, version=1)
    real = index_delta.written_beside

    def disk_full_on_manifest(path, data):
        if path.name == CONFIG_FILE:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(index_delta, "written_beside", disk_full_on_manifest)
    with pytest.raises(OSError, match="No space left"):
        c.save(tmp_path)
    assert_same(Collection.load(tmp_path, expect_model="test-model"), before)  # the orphan delta is not listed
    monkeypatch.setattr(index_delta, "written_beside", real)
    put(c, 3, version=1)
    c.save(tmp_path)  # the failed save's change is still pending, so this delta holds both
    assert manifest(tmp_path)["deltas"][-1]["items"] == 2
    assert_same(Collection.load(tmp_path, expect_model="test-model"), c)


def test_a_save_with_nothing_changed_moves_only_the_manifest_on(tmp_path):
    c = collection_of(range(1, 6))
    c.save(tmp_path, applied_sequence=3)
    c.save(tmp_path, applied_sequence=9)
    config = manifest(tmp_path)
    assert config["deltas"] == [] and config["applied_sequence"] == 9 and config["base_applied_sequence"] == 3
    assert Collection.load(tmp_path).applied_sequence == 9


def test_a_format_2_folder_loads_as_a_base_and_is_saved_whole_next(tmp_path):
    c = collection_of(range(1, 6))
    c.snapshot(applied_sequence=2).write(tmp_path)
    config = manifest(tmp_path)
    for key in ("mark", "deltas", "base_applied_sequence"):
        del config[key]
    config["format_version"] = 2
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    loaded = Collection.load(tmp_path, expect_model="test-model")
    assert loaded.applied_sequence == 2 and loaded.disk_mark is None
    put(loaded, 1, version=1)
    loaded.save(tmp_path)
    assert manifest(tmp_path)["format_version"] == 3 and manifest(tmp_path)["deltas"] == []


def test_the_service_write_path_copies_under_the_lock_and_forgets_only_what_it_wrote(tmp_path):
    """A change between the copy and `saved` (made while the file was being written) stays for the next delta."""
    c = collection_of(range(1, 11))
    c.save(tmp_path)
    put(c, 1, version=1)
    pending = c.next_save(index_delta.manifest_of(tmp_path))
    put(c, 2, version=1)  # after the copy, before the write finished
    pending.write(tmp_path)
    c.saved(pending)
    c.save(tmp_path)
    assert [d["items"] for d in manifest(tmp_path)["deltas"]] == [1, 1]
    assert_same(Collection.load(tmp_path, expect_model="test-model"), c)


operation = st.one_of(
    st.tuples(st.just("put"), st.integers(1, 30), st.integers(0, 5)),
    st.tuples(st.just("delete"), st.integers(1, 30), st.just(0)),
    st.tuples(st.just("save"), st.just(0), st.just(0)),
    st.tuples(st.just("reload"), st.just(0), st.just(0)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operation, max_size=40))
def test_any_sequence_of_changes_saves_and_reloads_loads_as_the_collection(tmp_path_factory, operations):
    folder = tmp_path_factory.mktemp("index")
    c = collection_of(range(1, 11))
    c.save(folder)
    for kind, item_id, version in operations:
        if kind == "put":
            put(c, item_id, version)
        elif kind == "delete":
            c.delete([item_id])
        elif kind == "save":
            c.save(folder)
        else:
            c.save(folder)
            c = Collection.load(folder, expect_model="test-model")
    c.save(folder)
    assert_same(Collection.load(folder, expect_model="test-model"), c)
    assert len(os.listdir(folder)) == 3 + len(manifest(folder)["deltas"])  # no orphan or temp file
