"""A searchable collection: FAISS vectors + BM25 terms under the items' own int64 ids.

FAISS holds L2-normalised vectors in an inner-product index wrapped in
IndexIDMap2, so the ids FAISS returns are the seeds' (or needs') own ids and
items can be added, replaced and removed without a rebuild.

Each item also has a fingerprint (a hash of the text that was embedded). The
source of truth is compared with the fingerprints to find what is stale, so
only changed items are re-embedded: the API service derives its index from the
database (api/service.py), the CLI its own from the corpus files (matcher/cli).

On disk a collection is a directory of three files, written atomically with a
config.json carrying checksums and the change-log sequence the collection
reflects (`applied_sequence`); index_snapshot.py describes the format. Saving
is `snapshot()` (a quick copy, under the caller's lock) then
`CollectionSnapshot.write` (serialise and write, off the lock). A long reader
(a report job) works the same way: `reader_copy()` under the lock, then
`CollectionCopy.open()` off it, and searches the copy while writes go on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .ann import AnnRebuild, AnnSettings, AnnSlot, DenseAnn
from .errors import IndexFormatError
from .index_delta import CollectionDelta, delta_allowed, folded, manifest_of, read_deltas
from .index_files import CONFIG_FILE
from .index_snapshot import (
    DENSE_FILE,
    FORMAT_VERSION,
    TERMS_FILE,
    CollectionSnapshot,
    applied_sequence_of,
    check_checksums,
    check_config,
    decode_terms,
    read_files,
)
from .lexical import BM25Index
from .lexical_segments import DocIds, Ids

__all__ = ["CONFIG_FILE", "DENSE_FILE", "FORMAT_VERSION", "TERMS_FILE", "Collection", "CollectionCopy",
           "CollectionSnapshot", "QUERY_SUFFIX", "fingerprint", "is_query_key", "query_key"]

if TYPE_CHECKING:
    import faiss

Vectors = npt.NDArray[np.float32]


def fingerprint(text: str, model_name: str) -> str:
    return hashlib.sha256(f"{model_name}\x00{text}".encode()).hexdigest()[:16]


QUERY_SUFFIX = "#query"


def query_key(model_id: str) -> str:
    """The model id of `model_id`'s *query* vectors (e5 encodes a need as a query with another prompt than as a
    passage): a need's query vector is stored under it, fingerprinted `fingerprint(text, query_key(model_id))`,
    beside the passage vectors of the same texts and apart from them."""
    return f"{model_id}{QUERY_SUFFIX}"


def is_query_key(model_id: str) -> bool:
    return model_id.endswith(QUERY_SUFFIX)


SCOPES_REMEMBERED = 8  # scopes whose storage positions a collection remembers (positions_within)


class Collection:
    """Dense + lexical index of one kind of item (seeds or needs)."""

    def __init__(self, dim: int, model_name: str):
        import faiss

        self.dim = dim
        self.model_name = model_name
        self.dense: faiss.IndexIDMap2 = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.lexical = BM25Index()
        self.fingerprints: dict[int, str] = {}
        self.applied_sequence = 0  # the last change-log sequence reflected here; saved with the snapshot
        # id → row of the flat index, so an update overwrites its vector in place (see _overwrite_dense)
        self._rows: dict[int, int] | None = None
        self._rows_at = 0  # dense.ntotal when _rows was last right
        # ids upserted or deleted since the last save → the generation of their last change, so that a save
        # forgets only what it holds (index_delta.py: the next delta holds the rest)
        self._changed: dict[int, int] = {}
        self._generation = 0
        self.disk_mark: str | None = None  # the mark of the folder this collection last loaded or wrote
        self.ann = AnnSlot()  # the approximate index searched above its size threshold (ann.py)
        self._scope_positions: dict[int, tuple[Ids, tuple[int, int], Ids]] = {}  # see positions_within
        self._storage_ids: tuple[tuple[int, int], Ids] | None = None  # see storage_ids

    # ---- changes -------------------------------------------------------
    def upsert(self, ids: Sequence[int], vectors: npt.ArrayLike, terms: Sequence[Sequence[str]],
               prints: Sequence[str]) -> None:
        """Add the items, or replace those already held; every argument has one entry per id."""
        ids_a = np.asarray(ids, dtype=np.int64)
        if len(ids_a) == 0:
            return
        vectors_a = np.ascontiguousarray(vectors, dtype=np.float32)
        self._check_batch(ids_a, vectors_a, terms, prints)
        rows = self._row_of()
        held = np.fromiter((int(i) in rows for i in ids_a), dtype=bool, count=len(ids_a))
        self._overwrite_dense(ids_a[held], vectors_a[held])
        if not held.all():
            first_new_row = int(self.dense.ntotal)
            self.dense.add_with_ids(vectors_a[~held], ids_a[~held])
            rows.update((int(i), first_new_row + k) for k, i in enumerate(ids_a[~held]))
            self._rows_at = int(self.dense.ntotal)
        self.ann.upsert(ids_a, vectors_a)
        id_list = ids_a.tolist()
        self.lexical.upsert_many(zip(id_list, terms, strict=True))
        self.fingerprints.update(zip(id_list, prints, strict=True))
        self._note_changed(id_list)

    def _note_changed(self, ids: Sequence[int]) -> None:
        self._generation += 1
        self._changed.update(dict.fromkeys(ids, self._generation))

    def _check_batch(self, ids: Ids, vectors: Vectors, terms: Sequence[Sequence[str]], prints: Sequence[str]) -> None:
        """Refuse a bad batch before anything changes, so a failed upsert leaves the collection as it was."""
        if len(set(ids.tolist())) != len(ids):
            raise ValueError("duplicate ids in one upsert")
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(f"vectors must have shape ({len(ids)}, {self.dim}), got {vectors.shape}")
        if not len(terms) == len(prints) == len(ids):
            raise ValueError(f"{len(ids)} ids need as many term lists and fingerprints, "
                             f"got {len(terms)} and {len(prints)}")

    def _remove_dense(self, ids: Ids) -> int:
        import faiss

        self._rows = None  # removing shifts every later row down
        return int(self.dense.remove_ids(faiss.IDSelectorBatch(ids)))

    def _row_of(self) -> dict[int, int]:
        """id → row in the flat index. Built from FAISS's own id list (O(N)) after a removal, or when the
        index grew behind the collection's back (a benchmark or a reader copy filling `dense` directly)."""
        import faiss

        if self._rows is None or self._rows_at != self.dense.ntotal:
            held_ids = faiss.vector_to_array(self.dense.id_map)
            self._rows = {int(item_id): row for row, item_id in enumerate(held_ids)}
            self._rows_at = int(self.dense.ntotal)
        return self._rows

    def _overwrite_dense(self, ids: Ids, vectors: Vectors) -> None:
        """Replace the vectors of ids already held, in place: O(dim) each. FAISS's own way, remove + add,
        scans and shifts the whole flat index (O(N): 7.6 ms a write at 10^5, ~100 ms at 10^6)."""
        import faiss

        if len(ids) == 0:
            return
        flat = faiss.downcast_index(self.dense.index)
        assert isinstance(flat, faiss.IndexFlat)  # the collection's dense index is IDMap2 over a flat index
        # a view of FAISS's own storage, not a copy: writing it changes what search and reconstruct see
        stored = faiss.rev_swig_ptr(flat.get_xb(), int(self.dense.ntotal) * self.dim).reshape(-1, self.dim)
        rows = self._row_of()
        stored[[rows[int(i)] for i in ids]] = vectors

    def delete(self, ids: DocIds) -> int:
        ids_a = np.asarray(list(ids), dtype=np.int64)
        if len(ids_a) == 0:
            return 0
        removed = self._remove_dense(ids_a)
        self.ann.remove(ids_a)
        for doc_id in ids_a.tolist():
            self.lexical.delete(doc_id)
            self.fingerprints.pop(doc_id, None)
        self._note_changed(ids_a.tolist())
        return removed

    # ---- reading -------------------------------------------------------
    def __len__(self) -> int:
        return int(self.dense.ntotal)

    def __contains__(self, item_id: int) -> bool:
        return int(item_id) in self.fingerprints

    def ids(self) -> set[int]:
        return set(self.fingerprints)

    def rows_of(self, ids: Ids) -> Ids:
        """The rows (FAISS's storage order, as `search.stored_vectors` gives them) of held ids."""
        rows = self._row_of()
        return np.fromiter(map(rows.__getitem__, np.asarray(ids, dtype=np.int64).tolist()), dtype=np.int64,
                           count=len(ids))

    def _version(self) -> tuple[int, int]:
        """Changes with every write, and with vectors added to `dense` behind the collection's back (a benchmark,
        a reader copy): what the remembered storage ids and scope positions are valid for."""
        return self._generation, int(self.dense.ntotal)

    def storage_ids(self) -> Ids:
        """The held ids in FAISS's storage order (read-only), remembered while the collection is unchanged:
        copying them out of FAISS for every search was 8 MB a search at 10^6."""
        import faiss

        state = self._version()
        if self._storage_ids is None or self._storage_ids[0] != state:
            ids = faiss.vector_to_array(self.dense.id_map).astype(np.int64, copy=False)
            ids.flags.writeable = False
            self._storage_ids = (state, ids)
        return self._storage_ids[1]

    def positions_within(self, allowed: Ids, stored_ids: Ids) -> Ids:
        """The storage positions (as `rows_of`) of the held ids that are in `allowed`, ascending. A scope's id
        array (a region's, its complement: seed_groups.py) stays the same object until the scope changes, so
        its positions are remembered for the last few arrays while the collection is unchanged: the lookup
        over every stored id was 1 ms of each scoped search at 10^5. `stored_ids`: this collection's ids in
        storage order (`search.stored_vectors`)."""
        state = self._version()
        cached = self._scope_positions.get(id(allowed))
        if cached is not None and cached[0] is allowed and cached[1] == state:
            return cached[2]
        positions: Ids = np.flatnonzero(np.isin(stored_ids, allowed))
        if len(self._scope_positions) >= SCOPES_REMEMBERED:
            self._scope_positions.pop(next(iter(self._scope_positions)))
        self._scope_positions[id(allowed)] = (allowed, state, positions)  # the array held: its id stays its own
        return positions

    def vectors_of(self, ids: DocIds) -> Vectors:
        if len(ids) == 0:
            return np.empty((0, self.dim), dtype=np.float32)
        return self.dense.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def search_dense(self, queries: npt.ArrayLike, k: int) -> tuple[Vectors, Ids]:
        """(scores, ids) per query row; missing hits are id -1."""
        queries_a = np.ascontiguousarray(queries, dtype=np.float32)
        if len(self) == 0:
            n = len(queries_a)
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        return self.dense.search(queries_a, max(1, min(k, len(self))))

    def check_consistent(self) -> None:
        """Raise IndexFormatError unless FAISS, BM25 and fingerprints hold the same ids."""
        lexical_ids = set(self.lexical.ids())
        if len(self) != len(self.fingerprints) or lexical_ids != set(self.fingerprints):
            raise IndexFormatError(
                f"索引の内容が一致しません（ベクトル {len(self)} 件、語彙 {len(lexical_ids)} 件、"
                f"指紋 {len(self.fingerprints)} 件）。再構築してください。"
            )

    # ---- the approximate index (ann.py) -----------------------------------
    def begin_ann_rebuild(self) -> AnnRebuild | None:
        """Under the caller's lock: the (re)build of the ANN index that is due, to run off the lock
        (`AnnRebuild.build`, seconds at 10^5) then hand to `finish_ann_rebuild`; None when none is due."""
        if not self.ann.due(len(self)):
            return None
        ids, vectors = _ids_and_vectors(self.dense, self.dim)
        return self.ann.begin_rebuild(ids, vectors)

    def finish_ann_rebuild(self, built: DenseAnn) -> None:
        """Under the caller's lock: install the rebuilt index, with the writes made while it was built."""
        self.ann.finish_rebuild(built, set(self.fingerprints), self.vectors_of)

    def refresh_ann(self) -> bool:
        """(Re)build the ANN index now if one is due, in one go (a load, a benchmark); True if it was."""
        rebuild = self.begin_ann_rebuild()
        if rebuild is None:
            return False
        self.finish_ann_rebuild(rebuild.build())
        return True

    # ---- persistence ---------------------------------------------------
    def snapshot(self, applied_sequence: int | None = None) -> CollectionSnapshot:
        """A consistent copy of the collection, to write later without any lock (see index_snapshot.py).

        Only copies (a memcpy of the vectors, dict copies of references), so it can run inside the
        caller's critical section. `applied_sequence` defaults to the collection's own.
        """
        ids, vectors = _ids_and_vectors(self.dense, self.dim)
        return CollectionSnapshot(
            dim=self.dim,
            model_name=self.model_name,
            applied_sequence=self.applied_sequence if applied_sequence is None else applied_sequence,
            ids=ids,
            vectors=vectors,
            bm25=self.lexical.snapshot(),
            fingerprints=dict(self.fingerprints),
            generation=self._generation,
        )

    def delta(self, extends_mark: str, applied_sequence: int | None = None) -> CollectionDelta:
        """The items changed since the last save, as they are now (index_delta.py); only copies, like snapshot()."""
        changed = np.fromiter(self._changed, dtype=np.int64, count=len(self._changed))
        held = np.fromiter((int(i) in self.fingerprints for i in changed), dtype=bool, count=len(changed))
        ids = changed[held]
        return CollectionDelta(
            dim=self.dim, applied_sequence=self.applied_sequence if applied_sequence is None else applied_sequence,
            extends_mark=extends_mark, generation=self._generation, ids=ids, vectors=self.vectors_of(ids),
            held_terms=self.lexical.held_documents(ids), term_list=self.lexical.term_list(),
            fingerprints=[self.fingerprints[i] for i in ids.tolist()], deleted=changed[~held])

    def next_save(self, manifest: dict[str, Any] | None,
                  applied_sequence: int | None = None) -> CollectionSnapshot | CollectionDelta:
        """What to write next to the folder whose manifest is `manifest` (None: none readable): a delta where the
        folder is the one this collection last loaded or wrote and its deltas are still small, else a full
        snapshot. Only copies: call it under the caller's lock, then `write` off it, then `saved`."""
        if self.disk_mark is not None and delta_allowed(manifest, mark=self.disk_mark, items=len(self),
                                                        changed=len(self._changed)):
            return self.delta(self.disk_mark, applied_sequence)
        return self.snapshot(applied_sequence)

    def saved(self, written: CollectionSnapshot | CollectionDelta) -> None:
        """`written` is on disk (under the caller's lock): forget the changes it holds, and its folder's mark."""
        self._changed = {i: g for i, g in self._changed.items() if g > written.generation}
        self.disk_mark = written.mark

    def reader_copy(self) -> CollectionCopy:
        """The collection now, for a reader that searches it without the caller's lock (`CollectionCopy.open`).

        Only copies, as `snapshot()`: the vectors and ids (a memcpy each), the BM25 index's pointer copy
        (`BM25Index.copy`), the fingerprints (a dict copy), so it fits inside the writers' critical section.
        """
        ids, vectors = _ids_and_vectors(self.dense, self.dim)
        return CollectionCopy(self.dim, self.model_name, self.applied_sequence, ids, vectors, self.lexical.copy(),
                              dict(self.fingerprints))

    def save(self, directory: Path, *, applied_sequence: int | None = None) -> int:
        """Save in one go, as a delta where one will do (for callers that hold no lock or do not mind holding
        it); returns the bytes written."""
        pending = self.next_save(manifest_of(Path(directory)), applied_sequence)
        written = pending.write(Path(directory))
        self.saved(pending)
        return written

    @classmethod
    def load(cls, directory: Path, *, expect_model: str | None = None, expect_dim: int | None = None,
             ann: AnnSettings | None = None) -> Collection:
        """The collection saved in directory; IndexFormatError when it is missing, corrupt or made otherwise.
        `ann`: the settings of its approximate index (ann.py), trained here when the collection is large."""
        directory = Path(directory)
        config, dense_bytes, terms_bytes = read_files(directory)
        check_config(config, expect_model=expect_model, expect_dim=expect_dim)
        check_checksums(config, directory, dense_bytes, terms_bytes)
        collection = cls(int(config["dim"]), str(config["model"]))
        collection.ann = AnnSlot(ann)
        collection._restore(directory, dense_bytes, terms_bytes)
        changes = folded(read_deltas(directory, config, collection.dim))
        if changes is not None:  # one batch, so BM25 merges once, not once per delta
            collection.upsert(changes.ids.tolist(), changes.vectors, [list(tf.elements()) for tf in changes.terms],
                              changes.fingerprints)
            collection.delete(changes.deleted.tolist())
        collection.check_consistent()
        collection.applied_sequence = applied_sequence_of(config)
        collection._changed.clear()  # the folder holds all of it
        collection.disk_mark = config.get("mark")
        collection.refresh_ann()  # derived data, not saved: trained again here when the collection is large
        return collection

    def _restore(self, directory: Path, dense_bytes: bytes, terms_bytes: bytes) -> None:
        import faiss

        try:
            dense = faiss.deserialize_index(np.frombuffer(dense_bytes, dtype=np.uint8))
            if not isinstance(dense, faiss.IndexIDMap2):
                raise TypeError(f"expected an IndexIDMap2, found {type(dense).__name__}")
            self.dense = dense
            self._rows = None
            state, self.fingerprints = decode_terms(terms_bytes)
            self.lexical = BM25Index.from_state(state)
        except Exception as e:  # faiss raises RuntimeError, numpy and json ValueError, a missing array KeyError
            raise IndexFormatError(f"索引を復元できません（{directory}）: {e}") from e


@dataclass(frozen=True, eq=False)
class CollectionCopy:
    """A collection's contents at one moment (`Collection.reader_copy`), not yet searchable by FAISS."""

    dim: int
    model_name: str
    applied_sequence: int
    ids: Ids  # FAISS order, matching the rows of `vectors`
    vectors: Vectors
    lexical: BM25Index
    fingerprints: dict[int, str]

    def open(self) -> Collection:
        """An independent, searchable Collection holding the copy: its FAISS index is built here, off the lock.

        The vectors go in in the original's FAISS order, so searches, ties included, answer as the original
        did at the moment of the copy. Each call opens a collection of its own (the mutable parts are copied
        again, cheaply), so the copy itself stays as taken.
        """
        collection = Collection(self.dim, self.model_name)
        if len(self.ids):
            collection.dense.add_with_ids(self.vectors, self.ids)
        collection.lexical = self.lexical.copy()
        collection.fingerprints = dict(self.fingerprints)
        collection.applied_sequence = self.applied_sequence
        return collection


def _ids_and_vectors(dense: Any, dim: int) -> tuple[Ids, Vectors]:
    """Copies of an IndexIDMap2's ids and of its flat index's vectors, in FAISS order (a memcpy each)."""
    import faiss

    count = int(dense.ntotal)
    if not count:
        return np.empty(0, dtype=np.int64), np.empty((0, dim), dtype=np.float32)
    return faiss.vector_to_array(dense.id_map).astype(np.int64, copy=False), dense.index.reconstruct_n(0, count)
