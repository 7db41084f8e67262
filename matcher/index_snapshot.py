"""A collection's on-disk form, and the consistent copy it is written from.

Saving is split in two so that a background thread can save without holding up readers or writers:

1. `Collection.snapshot()` runs under the caller's lock and only copies: the FAISS vectors and ids
   (one memcpy each), the BM25 documents and the fingerprints (dict copies of references; the values
   are never changed in place). No serialisation, no hashing, no I/O.
2. `CollectionSnapshot.write(directory)` runs anywhere, lock-free: it rebuilds the FAISS index from the
   copied arrays, serialises everything, and writes the files atomically.

The directory holds

    dense.faiss     the FAISS index (IDMap2, Flat, inner product)
    terms.npz       BM25 term counts (one CSR matrix, its row ids and the term list) and the fingerprints,
                    as plain arrays (numpy's npz, no pickle): loading builds no per-document object
    config.json     the manifest: format version, model name, dimension, count, applied_sequence, checksums,
                    and the deltas written since this base (index_delta.py: most saves write only a delta)

Every file is written to a temp file in the same directory and moved into place with os.replace;
config.json goes last and records the sha256 of the other two, so a crash between writes leaves a set
that `read_files` + `check_checksums` reject rather than one that silently disagrees.

`applied_sequence` is the last change-log sequence the collection reflects (issue 12): a follower loads
the snapshot and replays the log after it.

Format 3 added the deltas and the folder's `mark`; a format-2 folder loads as a base without deltas, and its
next save is a full one. Format 2 replaced format 1's terms.json (a dict per document), whose parse and
per-document rebuild took 9 of the 11.5 s of a start-up at 10^5 seeds. A folder in format 1 is rejected like any
outdated index and rebuilt from the database (from the stored vectors: nothing is re-encoded).
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import IndexFormatError
from .index_delta import new_mark, remove_unlisted_deltas
from .index_files import CONFIG_FILE, read_config, sha256_of, written_beside
from .lexical import BM25Snapshot, BM25State
from .lexical_segments import Ids
from .text import tokenizer_id

FORMAT_VERSION = 3
READABLE_VERSIONS = (2, 3)  # format 2 is format 3 without deltas: loaded as a base alone
DENSE_FILE = "dense.faiss"
TERMS_FILE = "terms.npz"
LEGACY_TERMS_FILE = "terms.json"
FINGERPRINT_DTYPE = "S16"  # index.fingerprint(): 16 hex digits

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class CollectionSnapshot:
    """An immutable copy of one collection at one moment, ready to be written to disk off the lock."""

    dim: int
    model_name: str
    applied_sequence: int
    ids: Ids  # FAISS order, matching the rows of `vectors`
    vectors: Vectors
    bm25: BM25Snapshot
    fingerprints: dict[int, str]
    generation: int = 0  # the collection's change generation it covers (Collection.forget_changes)
    mark: str = field(default_factory=new_mark)

    def check_consistent(self) -> None:
        """Raise IndexFormatError unless vectors, BM25 and fingerprints hold the same ids."""
        prints = set(self.fingerprints)
        lexical_ids = self.bm25.ids()
        if len(self.ids) != len(prints) or lexical_ids != prints or set(self.ids.tolist()) != prints:
            raise IndexFormatError(
                f"索引の内容が一致しません（ベクトル {len(self.ids)} 件、語彙 {len(lexical_ids)} 件、"
                f"指紋 {len(prints)} 件）。再構築してください。"
            )

    def encode(self) -> tuple[bytes, bytes, bytes]:
        """(dense.faiss, terms.json, config.json) bytes; the config carries the others' checksums."""
        import faiss

        dense = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        if len(self.ids):
            dense.add_with_ids(self.vectors, self.ids)
        dense_bytes = faiss.serialize_index(dense).tobytes()
        terms_bytes = encode_terms(self.bm25.state(), self.fingerprints)
        config = {
            "format_version": FORMAT_VERSION,
            "model": self.model_name,
            "dim": self.dim,
            "count": len(self.ids),
            "faiss": "IDMap2,Flat,IP",
            "tokenizer": tokenizer_id(),
            "applied_sequence": self.applied_sequence,  # after the deltas, once there are some
            "base_applied_sequence": self.applied_sequence,
            "sha256": {DENSE_FILE: sha256_of(dense_bytes), TERMS_FILE: sha256_of(terms_bytes)},
            "mark": self.mark,  # new at every save: index_delta.py appends only to the folder it last saw
            "deltas": [],
        }
        return dense_bytes, terms_bytes, json.dumps(config, ensure_ascii=False, indent=2).encode()

    def write(self, directory: Path) -> int:
        """Write the snapshot into `directory`; returns the bytes written.

        Every file is written in full (and fsynced) beside the old ones first, and only then put in place,
        config.json last: a full disk or any other failure while writing leaves the previous snapshot whole.
        (A crash between the renames leaves files whose checksums do not match: refused on load, and rebuilt
        from the database.)
        """
        self.check_consistent()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        dense_bytes, terms_bytes, config_bytes = self.encode()
        written: list[tuple[str, Path]] = []
        try:
            for name, data in ((DENSE_FILE, dense_bytes), (TERMS_FILE, terms_bytes), (CONFIG_FILE, config_bytes)):
                written.append((written_beside(directory / name, data), directory / name))
        except BaseException:
            for tmp, _ in written:
                Path(tmp).unlink(missing_ok=True)
            raise
        for tmp, path in written:
            os.replace(tmp, path)
        (directory / LEGACY_TERMS_FILE).unlink(missing_ok=True)  # format 1's, which nothing reads any more
        remove_unlisted_deltas(directory, {})  # the old base's deltas
        return len(dense_bytes) + len(terms_bytes) + len(config_bytes)


def remove_leftover_temp_files(directory: Path) -> int:
    """Delete the temp files of writes that a crash cut short; returns how many. Call it only while no
    snapshot of this directory is being written (api/index_upkeep.py holds the writers' lock)."""
    removed = 0
    for path in Path(directory).glob(".*.tmp"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def read_files(directory: Path) -> tuple[dict[str, Any], bytes, bytes]:
    config = read_config(directory)
    try:
        dense_bytes = (directory / DENSE_FILE).read_bytes()
        terms_bytes = (directory / TERMS_FILE).read_bytes()
    except OSError as e:
        raise IndexFormatError(f"索引を読み込めません（{directory}）: {e}") from e
    return config, dense_bytes, terms_bytes


def check_config(config: dict[str, Any], *, expect_model: str | None, expect_dim: int | None) -> None:
    if config.get("format_version") not in READABLE_VERSIONS:
        raise IndexFormatError(f"索引の形式バージョンが違います（{config.get('format_version')} ≠ {FORMAT_VERSION}）。")
    if expect_model is not None and config.get("model") != expect_model:
        raise IndexFormatError(f"索引は別のモデル（{config.get('model')}）で作られています。")
    if expect_dim is not None and config.get("dim") != expect_dim:
        raise IndexFormatError("索引のベクトル次元がモデルと一致しません。")
    if config.get("tokenizer") != tokenizer_id():
        raise IndexFormatError(f"索引は別の語の切り方（{config.get('tokenizer')}）で作られています。"
                               "データベースから作り直します。")
    applied_sequence_of(config)


def applied_sequence_of(config: dict[str, Any]) -> int:
    """The snapshot's applied sequence; 0 for snapshots written before it was recorded."""
    sequence = config.get("applied_sequence", 0)
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise IndexFormatError(f"索引の適用済み番号が不正です（{sequence!r}）。")
    return sequence


def check_checksums(config: dict[str, Any], directory: Path, dense_bytes: bytes, terms_bytes: bytes) -> None:
    """config.json is written last and holds the others' checksums: a mismatch means a torn or damaged set."""
    sums = config.get("sha256", {})
    if not isinstance(sums, dict) or sums.get(DENSE_FILE) != sha256_of(dense_bytes) \
            or sums.get(TERMS_FILE) != sha256_of(terms_bytes):
        raise IndexFormatError(f"索引ファイルが壊れているか、書き込み途中です（{directory}）。")


def encode_terms(state: BM25State, fingerprints: dict[int, str]) -> bytes:
    """terms.npz: the BM25 state's arrays, its parameters and term list, and the fingerprints, as one npz."""
    buffer = io.BytesIO()
    np.savez(
        buffer,
        bm25_params=np.array([state.k1, state.b], dtype=np.float64),
        bm25_row_ids=state.row_ids,
        bm25_indptr=state.indptr,
        bm25_term_ids=state.term_ids,
        bm25_counts=state.counts,
        # one JSON list, since numpy's fixed-width strings would pad every term to the longest
        bm25_terms=np.frombuffer(json.dumps(state.terms, ensure_ascii=False).encode(), dtype=np.uint8),
        fingerprint_ids=np.fromiter(fingerprints.keys(), dtype=np.int64, count=len(fingerprints)),
        fingerprints=np.array(list(fingerprints.values()), dtype=FINGERPRINT_DTYPE).reshape(-1),
    )
    return buffer.getvalue()


def decode_terms(terms_bytes: bytes) -> tuple[BM25State, dict[int, str]]:
    """The inverse of encode_terms; ValueError or KeyError when the file is not one it wrote."""
    with np.load(io.BytesIO(terms_bytes), allow_pickle=False) as arrays:
        k1, b = (float(x) for x in arrays["bm25_params"])
        terms = json.loads(arrays["bm25_terms"].tobytes().decode())
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise ValueError("the term list is not a list of strings")
        state = BM25State(k1, b, arrays["bm25_row_ids"].astype(np.int64), arrays["bm25_indptr"].astype(np.int64),
                          arrays["bm25_term_ids"].astype(np.int32), arrays["bm25_counts"].astype(np.uint32), terms)
        ids = arrays["fingerprint_ids"].astype(np.int64).tolist()
        values = [v.decode("ascii") for v in arrays["fingerprints"].astype(FINGERPRINT_DTYPE).tolist()]
    if len(ids) != len(values):
        raise ValueError("fingerprint ids and values differ in number")
    return state, dict(zip(ids, values, strict=True))
