"""Benchmark of incremental snapshots (issue 12: bytes written per change ≤ 64 KB): part of `matcher bench index`.

From a base snapshot of the collection, rounds of `per_round` changes (90% updates of random items, 5% new
items, 5% removals) each followed by a save, as the service's upkeep saves every 500 changes, until the
deltas have grown enough for a new base and that base is written: one whole cycle of the policy in
matcher/index_delta.py. Bytes are counted as `save` reports them (every file it writes, manifest included),
so the figure per change is exact and does not depend on how busy the machine is; times have wall and CPU.
Also timed: the copy under the caller's lock (`next_save`), a delta's write, and a load of the folder with
the longest chain of deltas of the cycle against a load of the base alone.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .bench_timing import Figures, once, summary, timed
from .index import Collection
from .index_delta import delta_allowed, manifest_of

if TYPE_CHECKING:
    from .bench_index import Corpus

MAX_ROUNDS = 400


def bench_incremental(collection: Collection, corpus: Corpus, *, per_round: int = 500) -> Figures:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        full_bytes = collection.save(folder)
        load_base = timed(lambda: Collection.load(folder))
        next_id = max(collection.ids()) + 1
        rounds: list[tuple[str, int]] = []
        copies, writes = [], []
        load_longest: tuple[float, float] | None = None
        longest = 0
        while len(rounds) < MAX_ROUNDS:
            next_id = _change(collection, corpus, per_round, next_id)
            copy, write, written = _save(collection, folder)
            copies.append(copy)
            writes.append(write)
            manifest = manifest_of(folder) or {}
            deltas = len(manifest.get("deltas", []))
            rounds.append(("delta" if deltas else "base", written))
            if not deltas:
                break  # the cycle's second base
            if not delta_allowed(manifest, mark=collection.disk_mark, items=len(collection), changed=per_round):
                longest = deltas
                load_longest = timed(lambda: Collection.load(folder))
        changes = per_round * len(rounds)
        delta_sizes = [b for kind, b in rounds if kind == "delta"]
        return {
            "changes_per_save": per_round, "saves_in_cycle": len(rounds), "changes_in_cycle": changes,
            "full_snapshot_bytes": full_bytes,
            "delta_bytes_p50": int(np.median(delta_sizes)) if delta_sizes else None,
            "bytes_per_change_over_cycle": round(sum(b for _, b in rounds) / changes),
            "before_bytes_per_change_full_every_save": round(full_bytes / per_round),
            "copy_under_lock": summary(copies), "write_off_lock": summary(writes[:-1] or writes),
            "load_base_only": once(load_base),
            "load_longest_chain": {"deltas": longest, **once(load_longest)} if load_longest else None,
        }


def _save(collection: Collection, folder: Path) -> tuple[tuple[float, float], tuple[float, float], int]:
    """One save as the service makes it: (copy time, write time, bytes written)."""
    pending: list[Any] = []
    copy = timed(lambda: pending.append(collection.next_save(manifest_of(folder))))
    written: list[int] = []
    write = timed(lambda: written.append(pending[0].write(folder)))
    collection.saved(pending[0])
    return copy, write, written[0]


def _change(collection: Collection, corpus: Corpus, count: int, next_id: int) -> int:
    """`count` changes: updates, new items and removals; returns the next unused id."""
    held = np.fromiter(collection.ids(), dtype=np.int64)
    kinds = corpus.rng.choice(3, size=count, p=[0.90, 0.05, 0.05])
    updated = corpus.rng.choice(held, size=int((kinds == 0).sum()), replace=False).tolist()
    added = list(range(next_id, next_id + int((kinds == 1).sum())))
    ids = updated + added
    collection.upsert(ids, corpus.vectors(len(ids)), corpus.terms(len(ids)), [f"g{i}" for i in ids])
    removable = np.setdiff1d(held, np.asarray(updated, dtype=np.int64))
    collection.delete(corpus.rng.choice(removable, size=int((kinds == 2).sum()), replace=False).tolist())
    return next_id + len(added)
