"""Incremental snapshots: a full snapshot (the base) plus delta files of what changed since (issue 12).

A full snapshot at 10^5 seeds is 235 MB; written every 500 changes that was 471 KB per change, against a
budget of 64 KB. Most saves now write only a delta: the current state (vector, BM25 term counts,
fingerprint) of each item changed since the last save, and the ids removed. config.json, the manifest,
lists the base's files and the deltas in order, each with its sha256, and the sequence each reflects.

    delta-000001.npz   items changed since the base, as they were at that save; ids removed
    delta-000002.npz   ... since delta 1; and so on

A base is written again (and the deltas deleted) when the deltas would hold more than
max(REBASE_FRACTION × items, REBASE_MIN_ITEMS) item states in all, or MAX_DELTAS files. With the fraction
at 10%, a base costs ≈ 2.35 KB × N / (0.1 N) ≈ 24 KB per change at any N, and a delta ≈ 2.5 KB per changed
item (`matcher bench index` measures it), while a start-up applies at most 10% of N item states on top of
loading the base.

Which items changed is the collection's own record (`Collection` keeps ids with a generation counter,
forgotten once a save that holds them is on disk). That record only describes the folder if the folder is
the one this collection last loaded or wrote: each manifest carries a random `mark`, new at every save,
and a delta is appended only where the folder's mark is the collection's. Anything else (another worker
wrote since, a folder of an older format, a torn manifest) gets a full base, so a delta never lands on a
state it does not extend.

Writing a delta: the delta file goes in under a new name (temp file, fsync, rename), then the manifest,
rewritten with the delta appended, replaces the old one: a crash in between leaves the old manifest,
which does not list the new file, and the orphan is deleted at the next base.
"""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import IndexFormatError
from .index_files import CONFIG_FILE, read_config, sha256_of, written_beside
from .lexical_segments import Ids

DELTA_PATTERN = "delta-*.npz"
REBASE_FRACTION = 0.10
REBASE_MIN_ITEMS = 1000
MAX_DELTAS = 64
FINGERPRINT_DTYPE = "S16"

Vectors = npt.NDArray[np.float32]
HeldTerms = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]  # (global term ids, counts) of one document


def new_mark() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, eq=False)
class ItemStates:
    """Items as they are at one moment: ids, vectors, BM25 term counts and fingerprints (one entry each),
    and the ids no longer held. What a delta file stores, and what applying it puts back."""

    ids: Ids
    vectors: Vectors
    terms: list[Counter[str]]
    fingerprints: list[str]
    deleted: Ids

    def __len__(self) -> int:
        return len(self.ids) + len(self.deleted)

    def encode(self, applied_sequence: int) -> bytes:
        """One npz (no pickle): the term counts as a CSR matrix over the delta's own term list."""
        vocabulary: dict[str, int] = {}
        indptr = [0]
        term_ids: list[int] = []
        counts: list[int] = []
        for tf in self.terms:
            for term, count in tf.items():
                term_ids.append(vocabulary.setdefault(term, len(vocabulary)))
                counts.append(count)
            indptr.append(len(term_ids))
        buffer = io.BytesIO()
        np.savez(
            buffer,
            applied_sequence=np.array([applied_sequence], dtype=np.int64),
            ids=self.ids.astype(np.int64),
            vectors=self.vectors.astype(np.float32),
            fingerprints=np.array(self.fingerprints, dtype=FINGERPRINT_DTYPE).reshape(-1),
            term_indptr=np.asarray(indptr, dtype=np.int64),
            term_ids=np.asarray(term_ids, dtype=np.int32),
            term_counts=np.asarray(counts, dtype=np.uint32),
            terms=np.frombuffer(json.dumps(list(vocabulary), ensure_ascii=False).encode(), dtype=np.uint8),
            deleted=self.deleted.astype(np.int64),
        )
        return buffer.getvalue()

    @classmethod
    def decode(cls, data: bytes, dim: int) -> ItemStates:
        """The inverse of encode; ValueError or KeyError when the bytes are not a delta it wrote."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            ids = arrays["ids"].astype(np.int64)
            vectors = arrays["vectors"].astype(np.float32).reshape(-1, dim)
            prints = [v.decode("ascii") for v in arrays["fingerprints"].astype(FINGERPRINT_DTYPE).tolist()]
            indptr = arrays["term_indptr"].astype(np.int64)
            term_ids = arrays["term_ids"].astype(np.int64)
            counts = arrays["term_counts"].astype(np.int64)
            vocabulary = json.loads(arrays["terms"].tobytes().decode())
            deleted = arrays["deleted"].astype(np.int64)
        if not (len(ids) == len(vectors) == len(prints) == len(indptr) - 1) or len(term_ids) != len(counts):
            raise ValueError("the delta's arrays differ in length")
        if not isinstance(vocabulary, list) or (len(term_ids) and int(term_ids.max()) >= len(vocabulary)):
            raise ValueError("the delta's term ids point outside its term list")
        terms = [Counter({vocabulary[t]: c for t, c in zip(term_ids[a:b].tolist(), counts[a:b].tolist(), strict=True)})
                 for a, b in zip(indptr[:-1].tolist(), indptr[1:].tolist(), strict=True)]
        return cls(ids, vectors, terms, prints, deleted)


@dataclass(frozen=True, eq=False)
class CollectionDelta:
    """What changed in a collection since its last save, copied under the caller's lock; `write` runs off it.

    The BM25 rows are held as (global term ids, counts) with a copy of the term list, so that turning them
    into term counts, like all serialisation, happens outside the lock.
    """

    dim: int
    applied_sequence: int
    extends_mark: str  # the folder's mark this delta was planned against
    generation: int  # the collection's change generation it covers (Collection.forget_changes)
    ids: Ids
    vectors: Vectors
    held_terms: list[HeldTerms]
    term_list: list[str]
    fingerprints: list[str]
    deleted: Ids
    mark: str = field(default_factory=new_mark)

    def states(self) -> ItemStates:
        terms = [Counter({self.term_list[t]: int(c) for t, c in zip(ids.tolist(), counts.tolist(), strict=True)})
                 for ids, counts in self.held_terms]
        return ItemStates(self.ids, self.vectors, terms, self.fingerprints, self.deleted)

    def write(self, directory: Path) -> int:
        """Append the delta to the folder's manifest; returns the bytes written (delta file + manifest)."""
        directory = Path(directory)
        config = read_config(directory)
        if config.get("mark") != self.extends_mark:
            raise IndexFormatError(f"索引フォルダが別の書き込みで変わりました（{directory}）。全体を保存し直します。")
        deltas = list(config.get("deltas", []))
        data = b""
        if len(self.ids) or len(self.deleted):  # else only the manifest's sequence moves on
            number = max((int(str(d["file"])[6:12]) for d in deltas), default=0) + 1
            name = f"delta-{number:06d}.npz"
            data = self.states().encode(self.applied_sequence)
            Path(written_beside(directory / name, data)).replace(directory / name)
            deltas.append({"file": name, "sha256": sha256_of(data), "applied_sequence": self.applied_sequence,
                           "items": len(self.ids), "deleted": len(self.deleted)})
        manifest = {**config, "applied_sequence": self.applied_sequence, "mark": self.mark, "deltas": deltas}
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        Path(written_beside(directory / CONFIG_FILE, manifest_bytes)).replace(directory / CONFIG_FILE)
        return len(data) + len(manifest_bytes)


def delta_allowed(config: dict[str, Any] | None, *, mark: str | None, items: int, changed: int) -> bool:
    """Whether the next save of a collection of `items` items, with `changed` ids changed since it last matched
    the folder (whose manifest is `config`), may be a delta rather than a new base."""
    if config is None or mark is None or config.get("mark") != mark:
        return False
    deltas: Sequence[dict[str, Any]] = config.get("deltas", [])
    held = sum(int(d.get("items", 0)) + int(d.get("deleted", 0)) for d in deltas) + changed
    return len(deltas) < MAX_DELTAS and held <= max(REBASE_FRACTION * items, REBASE_MIN_ITEMS)


def manifest_of(directory: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None where there is none readable (the next save is then a full one)."""
    try:
        return read_config(directory)
    except IndexFormatError:
        return None


def read_deltas(directory: Path, config: dict[str, Any], dim: int) -> list[ItemStates]:
    """The deltas the manifest lists, in order, each checked against its sha256."""
    found = []
    for entry in config.get("deltas", []):
        path = Path(directory) / str(entry.get("file", ""))
        try:
            data = path.read_bytes()
            if sha256_of(data) != entry.get("sha256"):
                raise ValueError("checksum mismatch")
            found.append(ItemStates.decode(data, dim))
        except (OSError, ValueError, KeyError) as e:
            raise IndexFormatError(f"索引の差分ファイルを読めません（{path}）: {e}") from e
    return found


def folded(deltas: Sequence[ItemStates]) -> ItemStates | None:
    """The deltas as one: each id's last state, later deltas winning; None when there are none."""
    if not deltas:
        return None
    last: dict[int, tuple[int, int]] = {}  # id → (delta, row) of its last state
    removed: set[int] = set()
    for k, delta in enumerate(deltas):
        for row, item_id in enumerate(delta.ids.tolist()):
            last[item_id] = (k, row)
            removed.discard(item_id)
        for item_id in delta.deleted.tolist():
            last.pop(item_id, None)
            removed.add(item_id)
    ids = np.fromiter(last, dtype=np.int64, count=len(last))
    vectors = np.empty((len(last), deltas[0].vectors.shape[1]), dtype=np.float32)
    terms, prints = [], []
    for row, (k, r) in enumerate(last.values()):
        vectors[row] = deltas[k].vectors[r]
        terms.append(deltas[k].terms[r])
        prints.append(deltas[k].fingerprints[r])
    deleted = np.fromiter(sorted(removed), dtype=np.int64, count=len(removed))
    return ItemStates(ids, vectors, terms, prints, deleted)


def remove_unlisted_deltas(directory: Path, config: dict[str, Any]) -> int:
    """Delete delta files the manifest does not list (an old base's, or one a crash left unlisted)."""
    listed = {str(d.get("file")) for d in config.get("deltas", [])}
    removed = 0
    for path in Path(directory).glob(DELTA_PATTERN):
        if path.name not in listed:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
