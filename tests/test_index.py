import json

import numpy as np
import pytest

from matcher.errors import IndexFormatError
from matcher.index import CONFIG_FILE, DENSE_FILE, TERMS_FILE, Collection


def unit(rows):
    v = np.asarray(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture()
def collection():
    c = Collection(3, "test-model")
    c.upsert([101, 202, 303], unit([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), [["a"], ["b"], ["c"]], ["f1", "f2", "f3"])
    return c


def test_ids_returned_are_the_items_own_ids(collection):
    _, ids = collection.search_dense(unit([[0, 1, 0.1]]), 2)
    assert ids[0].tolist() == [202, 303]


def test_update_replaces_vector_without_rebuild(collection):
    collection.upsert([202], unit([[0, 0, 1]]), [["z"]], ["f2b"])
    assert len(collection) == 3
    np.testing.assert_allclose(collection.vectors_of([202])[0], [0, 0, 1])
    assert collection.fingerprints[202] == "f2b"
    assert collection.lexical.search(["b"], 5)[0].size == 0


def test_delete(collection):
    assert collection.delete([101, 999]) == 1
    assert collection.ids() == {202, 303}
    _, ids = collection.search_dense(unit([[1, 0, 0]]), 5)
    assert 101 not in ids[0].tolist()


def test_save_load_round_trip(collection, tmp_path):
    collection.save(tmp_path)
    loaded = Collection.load(tmp_path, expect_model="test-model", expect_dim=3)
    assert loaded.ids() == collection.ids()
    np.testing.assert_allclose(loaded.vectors_of([303]), collection.vectors_of([303]))
    assert loaded.lexical.search(["c"], 5)[0].tolist() == [303]
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert config["format_version"] == 3 and config["count"] == 3 and config["deltas"] == []
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "temp files left behind"


def test_save_overwrites_atomically(collection, tmp_path):
    collection.save(tmp_path)
    collection.delete([101])
    collection.save(tmp_path)
    assert Collection.load(tmp_path).ids() == {202, 303}


@pytest.mark.parametrize("damage", ["truncate-dense", "edit-terms", "drop-config", "wrong-version"])
def test_damaged_index_is_refused(collection, tmp_path, damage):
    collection.save(tmp_path)
    if damage == "truncate-dense":
        data = (tmp_path / DENSE_FILE).read_bytes()
        (tmp_path / DENSE_FILE).write_bytes(data[: len(data) // 2])
    elif damage == "edit-terms":
        (tmp_path / TERMS_FILE).write_text('{"bm25": {}, "fingerprints": {}}')
    elif damage == "drop-config":
        (tmp_path / CONFIG_FILE).unlink()
    else:
        config = json.loads((tmp_path / CONFIG_FILE).read_text())
        config["format_version"] = 99
        (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(IndexFormatError):
        Collection.load(tmp_path)


def test_other_model_is_refused(collection, tmp_path):
    collection.save(tmp_path)
    with pytest.raises(IndexFormatError, match="別のモデル"):
        Collection.load(tmp_path, expect_model="another-model")
