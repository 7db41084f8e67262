"""Snapshots: tagged with the applied change-log sequence, copied under a lock, written later, checked on load."""

import json

import numpy as np
import pytest

from matcher.errors import IndexFormatError
from matcher.index import CONFIG_FILE, DENSE_FILE, TERMS_FILE, Collection
from matcher.index_snapshot import decode_terms, encode_terms
from matcher.index_sync import saved_or_empty
from matcher.text import tokenizer_id


def unit(rows):
    v = np.asarray(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture()
def collection():
    c = Collection(3, "test-model")
    c.upsert([101, 202, 303], unit([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), [["a"], ["b", "a"], ["c"]], ["f1", "f2", "f3"])
    return c


def test_applied_sequence_round_trips(collection, tmp_path):
    collection.save(tmp_path, applied_sequence=42)
    assert Collection.load(tmp_path).applied_sequence == 42
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["applied_sequence"] == 42


def test_applied_sequence_defaults_to_the_collections_own(collection, tmp_path):
    assert collection.applied_sequence == 0
    collection.applied_sequence = 7
    collection.save(tmp_path)
    loaded = Collection.load(tmp_path)
    assert loaded.applied_sequence == 7
    loaded.save(tmp_path / "again")  # a loaded (deserialised) collection snapshots as well
    assert Collection.load(tmp_path / "again").applied_sequence == 7


def test_snapshot_keeps_the_state_it_was_taken_at(collection, tmp_path):
    snapshot = collection.snapshot(applied_sequence=5)
    collection.upsert([202], unit([[1, 1, 0]]), [["z"]], ["f2b"])
    collection.delete([303])
    collection.upsert([404], unit([[0, 1, 1]]), [["d"]], ["f4"])
    written = snapshot.write(tmp_path)
    loaded = Collection.load(tmp_path)
    assert loaded.ids() == {101, 202, 303} and loaded.applied_sequence == 5
    assert loaded.fingerprints == {101: "f1", 202: "f2", 303: "f3"}
    np.testing.assert_allclose(loaded.vectors_of([202, 303]), unit([[0, 1, 0], [0, 0, 1]]))
    assert loaded.lexical.search(["b"], 5)[0].tolist() == [202]
    assert written == sum((tmp_path / name).stat().st_size for name in (DENSE_FILE, TERMS_FILE, CONFIG_FILE))


def test_a_loaded_snapshot_scores_as_the_original(collection, tmp_path):
    collection.delete([101])
    collection.save(tmp_path)
    loaded = Collection.load(tmp_path)
    ids, query_terms = [101, 202, 303], ["a", "c"]
    expected = collection.lexical.score_ids(query_terms, ids)
    np.testing.assert_array_equal(loaded.lexical.score_ids(query_terms, ids), expected)
    query = unit([[0.2, 1, 0.3]])
    assert loaded.search_dense(query, 3)[1].tolist() == collection.search_dense(query, 3)[1].tolist()


def test_empty_collection_snapshots(tmp_path):
    Collection(3, "test-model").save(tmp_path, applied_sequence=3)
    loaded = Collection.load(tmp_path)
    assert len(loaded) == 0 and loaded.applied_sequence == 3


def test_snapshot_written_before_the_sequence_existed_reads_as_zero(collection, tmp_path):
    collection.save(tmp_path, applied_sequence=9)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    del config["applied_sequence"]
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    assert Collection.load(tmp_path).applied_sequence == 0


@pytest.mark.parametrize("bad", [-1, "12", True, 1.5, None])
def test_bad_applied_sequence_is_refused(collection, tmp_path, bad):
    collection.save(tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    config["applied_sequence"] = bad
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(IndexFormatError, match="適用済み番号"):
        Collection.load(tmp_path)


@pytest.mark.parametrize("damage", ["flip-dense-byte", "edit-terms-count", "config-not-object", "drop-checksums"])
def test_damaged_snapshot_is_refused(collection, tmp_path, damage):
    collection.snapshot(applied_sequence=1).write(tmp_path)
    if damage == "flip-dense-byte":
        data = bytearray((tmp_path / DENSE_FILE).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (tmp_path / DENSE_FILE).write_bytes(bytes(data))
    elif damage == "edit-terms-count":
        # a well-formed file with one count changed: only the checksum in config.json can tell
        state, prints = decode_terms((tmp_path / TERMS_FILE).read_bytes())
        state.counts[0] += 1
        (tmp_path / TERMS_FILE).write_bytes(encode_terms(state, prints))
    elif damage == "config-not-object":
        (tmp_path / CONFIG_FILE).write_text("[1, 2]")
    else:
        config = json.loads((tmp_path / CONFIG_FILE).read_text())
        del config["sha256"]
        (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(IndexFormatError):
        Collection.load(tmp_path)


def test_inconsistent_snapshot_is_not_written(collection, tmp_path):
    collection.fingerprints.pop(303)
    with pytest.raises(IndexFormatError, match="一致しません"):
        collection.snapshot().write(tmp_path)
    assert not (tmp_path / CONFIG_FILE).exists()


def test_a_loaded_snapshot_holds_the_same_terms_and_scores(collection, tmp_path):
    collection.upsert([202], unit([[0, 1, 1]]), [["b", "d", "d"]], ["f2b"])  # an update: lives in the delta
    collection.snapshot().write(tmp_path)
    loaded = Collection.load(tmp_path)
    for item in (101, 202, 303):
        assert loaded.lexical.terms_of(item) == collection.lexical.terms_of(item)
    assert sorted(loaded.lexical.ids()) == sorted(collection.lexical.ids())
    np.testing.assert_array_equal(loaded.lexical.exact_scores(["a", "d"], [101, 202, 303]),
                                  collection.lexical.exact_scores(["a", "d"], [101, 202, 303]))
    assert loaded.fingerprints == collection.fingerprints


def test_a_format_1_folder_is_refused_as_outdated(collection, tmp_path):
    collection.save(tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    config["format_version"] = 1
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(IndexFormatError, match="形式バージョン"):
        Collection.load(tmp_path)


@pytest.mark.parametrize("recorded", [None, "unidic-lite-1.0.8-0000000000000000"])
def test_a_snapshot_of_other_tokenizer_rules_is_refused_so_it_is_rebuilt(collection, tmp_path, recorded):
    """A new compound (say イン + バウンド → インバウンド) gives other terms for the same texts: an index saved
    before it (or before the rules were recorded) must not be loaded as if it were current."""
    collection.save(tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert config["tokenizer"] == tokenizer_id()
    if recorded is None:
        del config["tokenizer"]
    else:
        config["tokenizer"] = recorded
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(IndexFormatError, match="語の切り方"):
        Collection.load(tmp_path)
    assert len(saved_or_empty(Collection(3, "test-model"), tmp_path)) == 0  # the engine rebuilds it


@pytest.mark.parametrize("damage", ["term-out-of-range", "term-twice-in-a-row", "short-indptr", "duplicate-term"])
def test_terms_that_do_not_fit_together_are_refused(collection, tmp_path, damage):
    collection.save(tmp_path)
    state, prints = decode_terms((tmp_path / TERMS_FILE).read_bytes())
    if damage == "term-out-of-range":
        state.term_ids[0] = len(state.terms)
    elif damage == "term-twice-in-a-row":
        state.term_ids[2] = state.term_ids[1]  # row 202 holds "b" and "a": make it "a" twice
    elif damage == "short-indptr":
        state = type(state)(state.k1, state.b, state.row_ids, state.indptr[:-1], state.term_ids, state.counts,
                            state.terms)
    else:
        state.terms[1] = state.terms[0]
    data = encode_terms(state, prints)
    (tmp_path / TERMS_FILE).write_bytes(data)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    config["sha256"][TERMS_FILE] = __import__("hashlib").sha256(data).hexdigest()  # past the checksum
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(IndexFormatError, match="復元できません"):
        Collection.load(tmp_path)


def test_leftovers_of_cut_writes_and_of_format_1_are_removed(collection, tmp_path):
    from matcher.index_snapshot import LEGACY_TERMS_FILE, remove_leftover_temp_files

    (tmp_path / LEGACY_TERMS_FILE).write_text("{}")
    (tmp_path / ".dense.faiss.abc.tmp").write_bytes(b"cut short")
    collection.save(tmp_path)
    assert not (tmp_path / LEGACY_TERMS_FILE).exists()
    assert remove_leftover_temp_files(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([CONFIG_FILE, DENSE_FILE, TERMS_FILE])
    assert Collection.load(tmp_path).ids() == collection.ids()
