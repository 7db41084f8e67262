"""A searchable collection: FAISS vectors + BM25 terms under the items' own int64 ids.

FAISS holds L2-normalised vectors in an inner-product index wrapped in
IndexIDMap2, so the ids FAISS returns are the seeds' (or needs') own ids and
items can be added, replaced and removed without a rebuild.

Each item also has a fingerprint (a hash of the text that was embedded). The
source of truth is compared with the fingerprints to find what is stale, so
only changed items are re-embedded: the API service derives its index from the
database (api/service.py), the CLI its own from the corpus files (matcher/cli).

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
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .errors import IndexFormatError
from .lexical import BM25Index, DocIds, Ids

FORMAT_VERSION = 1
DENSE_FILE = "dense.faiss"
TERMS_FILE = "terms.json"
CONFIG_FILE = "config.json"

if TYPE_CHECKING:
    import faiss

Vectors = npt.NDArray[np.float32]


def fingerprint(text: str, model_name: str) -> str:
    return hashlib.sha256(f"{model_name}\x00{text}".encode()).hexdigest()[:16]


class Collection:
    """Dense + lexical index of one kind of item (seeds or needs)."""

    def __init__(self, dim: int, model_name: str):
        import faiss

        self.dim = dim
        self.model_name = model_name
        self.dense: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.lexical = BM25Index()
        self.fingerprints: dict[int, str] = {}

    # ---- changes -------------------------------------------------------
    def upsert(self, ids: Sequence[int], vectors: npt.ArrayLike, terms: Sequence[Sequence[str]],
               prints: Sequence[str]) -> None:
        """Add the items, or replace those already held; every argument has one entry per id."""
        ids_a = np.asarray(ids, dtype=np.int64)
        if len(ids_a) == 0:
            return
        vectors_a = np.ascontiguousarray(vectors, dtype=np.float32)
        self._check_batch(ids_a, vectors_a, terms, prints)
        self._remove_dense(ids_a)  # an update is remove + add; ids absent are ignored
        self.dense.add_with_ids(vectors_a, ids_a)
        id_list = ids_a.tolist()
        self.lexical.upsert_many(zip(id_list, terms, strict=True))
        self.fingerprints.update(zip(id_list, prints, strict=True))

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

        return int(self.dense.remove_ids(faiss.IDSelectorBatch(ids)))

    def delete(self, ids: DocIds) -> int:
        ids_a = np.asarray(list(ids), dtype=np.int64)
        if len(ids_a) == 0:
            return 0
        removed = self._remove_dense(ids_a)
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
    def load(cls, directory: Path, *, expect_model: str | None = None, expect_dim: int | None = None) -> Collection:
        """The collection saved in directory; IndexFormatError when it is missing, corrupt or made otherwise."""
        directory = Path(directory)
        config, dense_bytes, terms_bytes = _read_files(directory)
        _check_config(config, expect_model=expect_model, expect_dim=expect_dim)
        _check_checksums(config, directory, dense_bytes, terms_bytes)
        collection = cls(int(config["dim"]), str(config["model"]))
        collection._restore(directory, dense_bytes, terms_bytes)
        collection.check_consistent()
        return collection

    def _restore(self, directory: Path, dense_bytes: bytes, terms_bytes: bytes) -> None:
        import faiss

        try:
            self.dense = faiss.deserialize_index(np.frombuffer(dense_bytes, dtype=np.uint8))
            terms = json.loads(terms_bytes)
            self.lexical = BM25Index.from_state(terms["bm25"])
            self.fingerprints = {int(k): v for k, v in terms["fingerprints"].items()}
        except Exception as e:  # faiss raises RuntimeError, json ValueError, a bad state KeyError
            raise IndexFormatError(f"索引を復元できません（{directory}）: {e}") from e


def _read_files(directory: Path) -> tuple[dict[str, Any], bytes, bytes]:
    try:
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        dense_bytes = (directory / DENSE_FILE).read_bytes()
        terms_bytes = (directory / TERMS_FILE).read_bytes()
    except (OSError, ValueError) as e:
        raise IndexFormatError(f"索引を読み込めません（{directory}）: {e}") from e
    return config, dense_bytes, terms_bytes


def _check_config(config: dict[str, Any], *, expect_model: str | None, expect_dim: int | None) -> None:
    if config.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(f"索引の形式バージョンが違います（{config.get('format_version')} ≠ {FORMAT_VERSION}）。")
    if expect_model is not None and config.get("model") != expect_model:
        raise IndexFormatError(f"索引は別のモデル（{config.get('model')}）で作られています。")
    if expect_dim is not None and config.get("dim") != expect_dim:
        raise IndexFormatError("索引のベクトル次元がモデルと一致しません。")


def _check_checksums(config: dict[str, Any], directory: Path, dense_bytes: bytes, terms_bytes: bytes) -> None:
    """config.json is written last and holds the others' checksums: a mismatch means a torn or damaged set."""
    sums = config.get("sha256", {})
    if sums.get(DENSE_FILE) != _sha256(dense_bytes) or sums.get(TERMS_FILE) != _sha256(terms_bytes):
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
