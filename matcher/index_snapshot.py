"""A collection's on-disk form, and the consistent copy it is written from.

Saving is split in two so that a background thread can save without holding up readers or writers:

1. `Collection.snapshot()` runs under the caller's lock and only copies: the FAISS vectors and ids
   (one memcpy each), the BM25 documents and the fingerprints (dict copies of references; the values
   are never changed in place). No serialisation, no hashing, no I/O.
2. `CollectionSnapshot.write(directory)` runs anywhere, lock-free: it rebuilds the FAISS index from the
   copied arrays, serialises everything, and writes the files atomically.

The directory holds

    dense.faiss     the FAISS index (IDMap2, Flat, inner product)
    terms.json      BM25 term counts and fingerprints
    config.json     format version, model name, dimension, count, applied_sequence, checksums

Every file is written to a temp file in the same directory and moved into place with os.replace;
config.json goes last and records the sha256 of the other two, so a crash between writes leaves a set
that `read_files` + `check_checksums` reject rather than one that silently disagrees.

`applied_sequence` is the last change-log sequence the collection reflects (issue 12): a follower loads
the snapshot and replays the log after it. Snapshots from before it existed read as 0 (replay it all),
so the format version stays 1.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import IndexFormatError
from .lexical import BM25Snapshot, Ids

FORMAT_VERSION = 1
DENSE_FILE = "dense.faiss"
TERMS_FILE = "terms.json"
CONFIG_FILE = "config.json"

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

    def check_consistent(self) -> None:
        """Raise IndexFormatError unless vectors, BM25 and fingerprints hold the same ids."""
        prints = set(self.fingerprints)
        if len(self.ids) != len(prints) or set(self.bm25.docs) != prints or set(self.ids.tolist()) != prints:
            raise IndexFormatError(
                f"索引の内容が一致しません（ベクトル {len(self.ids)} 件、語彙 {len(self.bm25.docs)} 件、"
                f"指紋 {len(prints)} 件）。再構築してください。"
            )

    def encode(self) -> tuple[bytes, bytes, bytes]:
        """(dense.faiss, terms.json, config.json) bytes; the config carries the others' checksums."""
        import faiss

        dense = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        if len(self.ids):
            dense.add_with_ids(self.vectors, self.ids)
        dense_bytes = faiss.serialize_index(dense).tobytes()
        terms_bytes = json.dumps(
            {"bm25": self.bm25.to_state(), "fingerprints": {str(k): v for k, v in self.fingerprints.items()}},
            ensure_ascii=False,
        ).encode()
        config = {
            "format_version": FORMAT_VERSION,
            "model": self.model_name,
            "dim": self.dim,
            "count": len(self.ids),
            "faiss": "IDMap2,Flat,IP",
            "applied_sequence": self.applied_sequence,
            "sha256": {DENSE_FILE: _sha256(dense_bytes), TERMS_FILE: _sha256(terms_bytes)},
        }
        return dense_bytes, terms_bytes, json.dumps(config, ensure_ascii=False, indent=2).encode()

    def write(self, directory: Path) -> int:
        """Write the snapshot into `directory` atomically (config.json last); returns the bytes written."""
        self.check_consistent()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        dense_bytes, terms_bytes, config_bytes = self.encode()
        _atomic_write(directory / DENSE_FILE, dense_bytes)
        _atomic_write(directory / TERMS_FILE, terms_bytes)
        _atomic_write(directory / CONFIG_FILE, config_bytes)
        return len(dense_bytes) + len(terms_bytes) + len(config_bytes)


def read_files(directory: Path) -> tuple[dict[str, Any], bytes, bytes]:
    try:
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        dense_bytes = (directory / DENSE_FILE).read_bytes()
        terms_bytes = (directory / TERMS_FILE).read_bytes()
    except (OSError, ValueError) as e:
        raise IndexFormatError(f"索引を読み込めません（{directory}）: {e}") from e
    if not isinstance(config, dict):
        raise IndexFormatError(f"索引の設定ファイルが壊れています（{directory}）。")
    return config, dense_bytes, terms_bytes


def check_config(config: dict[str, Any], *, expect_model: str | None, expect_dim: int | None) -> None:
    if config.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(f"索引の形式バージョンが違います（{config.get('format_version')} ≠ {FORMAT_VERSION}）。")
    if expect_model is not None and config.get("model") != expect_model:
        raise IndexFormatError(f"索引は別のモデル（{config.get('model')}）で作られています。")
    if expect_dim is not None and config.get("dim") != expect_dim:
        raise IndexFormatError("索引のベクトル次元がモデルと一致しません。")
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
    if not isinstance(sums, dict) or sums.get(DENSE_FILE) != _sha256(dense_bytes) \
            or sums.get(TERMS_FILE) != _sha256(terms_bytes):
        raise IndexFormatError(f"索引ファイルが壊れているか、書き込み途中です（{directory}）。")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
