"""A searchable collection: FAISS vectors + BM25 terms under the items' own int64 ids.

FAISS holds L2-normalised vectors in an inner-product index wrapped in
IndexIDMap2, so the ids FAISS returns are the seeds' (or needs') own ids and
items can be added, replaced and removed without a rebuild.

Each item also has a fingerprint (a hash of the text that was embedded). The
source of truth (the corpus files now, the database later) is compared with
the fingerprints to find what is stale, so only changed items are re-embedded.

On disk a collection is a directory:

    dense.faiss     the FAISS index
    terms.json      BM25 term counts and fingerprints
    config.json     format version, model name, dimension, counts, checksums

Every file is written to a temp file in the same directory and moved into
place with os.replace; config.json goes last and records the checksums of the
other two, so a crash between writes leaves a set that load() rejects rather
than one that silently disagrees.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import IndexFormatError
from .lexical import BM25Index

FORMAT_VERSION = 1
DENSE_FILE = "dense.faiss"
TERMS_FILE = "terms.json"
CONFIG_FILE = "config.json"


def fingerprint(text: str, model_name: str) -> str:
    return hashlib.sha256(f"{model_name}\x00{text}".encode()).hexdigest()[:16]


class Collection:
    """Dense + lexical index of one kind of item (seeds or needs)."""

    def __init__(self, dim: int, model_name: str):
        import faiss

        self.dim = dim
        self.model_name = model_name
        self.dense = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.lexical = BM25Index()
        self.fingerprints: dict[int, str] = {}

    # ---- changes -------------------------------------------------------
    def upsert(self, ids: Sequence[int], vectors: np.ndarray, terms: Sequence[Sequence[str]], prints: Sequence[str]) -> None:
        ids_a = np.asarray(ids, dtype=np.int64)
        if len(ids_a) == 0:
            return
        if len(set(ids_a.tolist())) != len(ids_a):
            raise ValueError("duplicate ids in one upsert")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids_a), self.dim):
            raise ValueError(f"vectors must have shape ({len(ids_a)}, {self.dim}), got {vectors.shape}")
        self.dense.remove_ids(ids_a)  # an update is remove + add; ids absent are ignored
        self.dense.add_with_ids(vectors, ids_a)
        self.lexical.upsert_many(zip(ids_a.tolist(), terms))
        self.fingerprints.update(zip(ids_a.tolist(), prints))

    def delete(self, ids: Sequence[int]) -> int:
        ids_a = np.asarray(list(ids), dtype=np.int64)
        if len(ids_a) == 0:
            return 0
        removed = int(self.dense.remove_ids(ids_a))
        for doc_id in ids_a.tolist():
            self.lexical.delete(doc_id)
            self.fingerprints.pop(doc_id, None)
        return removed

    # ---- reading -------------------------------------------------------
    def __len__(self) -> int:
        return int(self.dense.ntotal)

    def __contains__(self, item_id: int) -> bool:
        return int(item_id) in self.fingerprints

    def ids(self) -> set[int]:
        return set(self.fingerprints)

    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        if len(ids) == 0:
            return np.empty((0, self.dim), dtype=np.float32)
        return self.dense.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def search_dense(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) per query row; missing hits are id -1."""
        k = max(1, min(k, len(self)))
        if len(self) == 0:
            n = len(queries)
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        return self.dense.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def check_consistent(self) -> None:
        """Raise IndexFormatError unless FAISS, BM25 and fingerprints hold the same ids."""
        lexical_ids = set(self.lexical.ids())
        if len(self) != len(self.fingerprints) or lexical_ids != set(self.fingerprints):
            raise IndexFormatError(
                f"索引の内容が一致しません（ベクトル {len(self)} 件、語彙 {len(lexical_ids)} 件、"
                f"指紋 {len(self.fingerprints)} 件）。再構築してください。"
            )

    # ---- persistence ---------------------------------------------------
    def save(self, directory: Path) -> None:
        import faiss

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.check_consistent()
        dense_bytes = faiss.serialize_index(self.dense).tobytes()
        terms_bytes = json.dumps(
            {"bm25": self.lexical.to_state(), "fingerprints": {str(k): v for k, v in self.fingerprints.items()}},
            ensure_ascii=False,
        ).encode()
        _atomic_write(directory / DENSE_FILE, dense_bytes)
        _atomic_write(directory / TERMS_FILE, terms_bytes)
        config = {
            "format_version": FORMAT_VERSION,
            "model": self.model_name,
            "dim": self.dim,
            "count": len(self),
            "faiss": "IDMap2,Flat,IP",
            "sha256": {DENSE_FILE: _sha256(dense_bytes), TERMS_FILE: _sha256(terms_bytes)},
        }
        _atomic_write(directory / CONFIG_FILE, json.dumps(config, ensure_ascii=False, indent=2).encode())

    @classmethod
    def load(cls, directory: Path, *, expect_model: str | None = None, expect_dim: int | None = None) -> "Collection":
        import faiss

        directory = Path(directory)
        try:
            config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
            dense_bytes = (directory / DENSE_FILE).read_bytes()
            terms_bytes = (directory / TERMS_FILE).read_bytes()
        except (OSError, ValueError) as e:
            raise IndexFormatError(f"索引を読み込めません（{directory}）: {e}") from e
        if config.get("format_version") != FORMAT_VERSION:
            raise IndexFormatError(f"索引の形式バージョンが違います（{config.get('format_version')} ≠ {FORMAT_VERSION}）。")
        if expect_model is not None and config.get("model") != expect_model:
            raise IndexFormatError(f"索引は別のモデル（{config.get('model')}）で作られています。")
        if expect_dim is not None and config.get("dim") != expect_dim:
            raise IndexFormatError("索引のベクトル次元がモデルと一致しません。")
        sums = config.get("sha256", {})
        if sums.get(DENSE_FILE) != _sha256(dense_bytes) or sums.get(TERMS_FILE) != _sha256(terms_bytes):
            raise IndexFormatError(f"索引ファイルが壊れているか、書き込み途中です（{directory}）。")
        collection = cls(int(config["dim"]), str(config["model"]))
        try:
            collection.dense = faiss.deserialize_index(np.frombuffer(dense_bytes, dtype=np.uint8))
            terms = json.loads(terms_bytes)
            collection.lexical = BM25Index.from_state(terms["bm25"])
            collection.fingerprints = {int(k): v for k, v in terms["fingerprints"].items()}
        except Exception as e:  # faiss raises RuntimeError, json ValueError, a bad state KeyError
            raise IndexFormatError(f"索引を復元できません（{directory}）: {e}") from e
        collection.check_consistent()
        return collection


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
