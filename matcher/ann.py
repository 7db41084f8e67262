"""An approximate dense index beside the exact vectors, chosen by size (issue 16).

A collection below `AnnSettings.threshold` vectors is searched exactly, as always (search.py). Above it, an
IVF index (FAISS IndexIVFFlat or IndexIVFScalarQuantizer 8-bit, nlist ≈ 4√N, inner product) is trained on the
collection's own vectors, and a search asks it for a short list of candidates that search.py then scores
exactly (`exact_cosines`): every score shown is exact, only the choice of candidates is approximate.

nprobe is chosen when the index is built: the smallest power of two whose candidates, re-scored exactly,
give recall@k ≥ `target_recall` of the exact top k (k = `recall_k`), averaged over a sample of queries (the
caller's, or midpoints of random pairs of stored vectors); ann_partners.py can raise it further until the
partners lists of sample needs match the exact search's. The chosen nprobe and the recall measured are
kept (`DenseAnn.describe`). An index that needs more than `max_probe_share` of its lists to get there is
no faster than the exact product and is not used (`AnnSlot.active`): on e5 vectors with need queries and
1,000 candidates per search, that was the case at 10^4 and 10^5 seeds (docs/benchmarks.md, issue 16).

A scope (a region, or everything outside it) is searched in the same index with an id filter and nprobe
scaled by 1 / (the scope's share of the vectors), since a filter keeping a share f of each list finds in
nprobe / f lists what the whole index finds in nprobe; search.py sends scopes below `AnnSettings.scope_share`
to the exact path on their own vectors instead (few vectors: already fast). A filtered IVF search at the
unscaled nprobe is what lost recall in the issue's measurement (0.54).

Writes keep it in step: upserts replace their vectors in the inverted lists (no retraining), deletes remove
them (a hash-table direct map makes both O(1) per id). The lists' centroids were fitted to the vectors of
the moment of training, so once the collection has grown or changed by `retrain_factor` since, the index is
`stale` and a rebuild is due: `AnnSlot.begin_rebuild` (copies, under the caller's lock), `AnnRebuild.build`
(training, off the lock, while writes go on into the old index), `AnnSlot.finish_rebuild` (under the lock:
the writes made meanwhile are applied to the new index). The index is derived data, not saved: it is
trained again when a saved collection is loaded (`index.Collection.load`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Ids = np.ndarray
KINDS = ("ivf-flat", "ivf-sq8")


@dataclass(frozen=True)
class AnnSettings:
    # below this many vectors the exact search is used: at 10^5 e5-like vectors an IVF index had to probe
    # 81% of its lists (1,024 of 1,264) for the partners lists to match the exact search's, and its search
    # was slower than the exact product (11 vs 9 ms); at 10^4, every list (docs/benchmarks.md, issue 16)
    threshold: int = 200_000
    kind: str = "ivf-sq8"
    target_recall: float = 0.99
    # the dense candidates the calibration's recall is measured on: the engine's (search.DEFAULT_CANDIDATES).
    # With midpoint queries, recall@1000 tracked need queries' within 0.01 at 10^5; recall@200 did not
    recall_k: int = 1000
    sample_queries: int = 100
    retrain_factor: float = 2.0  # grown, or changed, by this factor since training: stale
    scope_share: float = 0.25  # a scope holding less of the vectors is searched exactly on its own vectors
    # an index that must probe more of its lists than this to meet the target is not used: at 10^5 e5-like
    # vectors, 1,024 of 1,264 lists made the dense half slower than the exact product (docs/benchmarks.md)
    max_probe_share: float = 0.5
    points_per_list: int = 64  # k-means training sample: this many vectors per list
    rng_seed: int = 0


def list_count(n: int) -> int:
    """nlist ≈ 4√N, at least one list per 39 vectors of training sample FAISS wants, and at least 1."""
    return max(1, min(int(4 * math.sqrt(n)), n // 39))


def oversampling(kind: str) -> float:
    """Candidates asked of the index per one wanted: SQ8's scores are rounded (~1e-3), so its order near the
    cut is rough and more candidates are re-scored; IVF-Flat's are float32 products, off by ~1e-6 only."""
    return 2.0 if kind == "ivf-sq8" else 1.05


@dataclass
class DenseAnn:
    """A trained IVF index over a collection's vectors, under the items' own ids."""

    index: Any  # faiss.IndexIVF
    kind: str
    nprobe: int = 1
    recall: float = 0.0  # measured at build time, at recall_k
    recall_k: int = 0
    recall_measure: str = ""
    trained_size: int = 0
    changes: int = 0  # vectors added, replaced or removed since training

    @property
    def nlist(self) -> int:
        return int(self.index.nlist)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def stale(self, factor: float) -> bool:
        return len(self) >= factor * self.trained_size or self.changes * (factor - 1) >= self.trained_size

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "nlist": self.nlist, "nprobe": self.nprobe, "recall": round(self.recall, 4),
                "recall_measure": self.recall_measure, "trained_size": self.trained_size, "vectors": len(self)}

    # ---- writes -----------------------------------------------------------
    def upsert(self, ids: Ids, vectors: np.ndarray) -> None:
        """Add the vectors, replacing those of ids already held."""
        if len(ids):
            self._remove(ids)
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
            self.changes += len(ids)

    def remove(self, ids: Ids) -> None:
        self.changes += self._remove(ids)

    def _remove(self, ids: Ids) -> int:
        import faiss

        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return 0
        # a hash-table direct map removes only by an IDSelectorArray; ids not held are skipped
        return int(self.index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids))))

    # ---- search -----------------------------------------------------------
    def candidates(self, query: np.ndarray, k: int, allowed: Ids | None = None) -> Ids:
        """Ids of about `k` × oversampling stored vectors likely to hold the `k` of highest cosine with
        `query` (among `allowed` ids when given), for the caller to score exactly."""
        import faiss

        wanted = min(len(self), math.ceil(k * oversampling(self.kind)) + 8)
        nprobe, selector = self.nprobe, None
        if allowed is not None:
            share = max(len(allowed), 1) / max(len(self), 1)
            nprobe = min(self.nlist, math.ceil(self.nprobe / min(share, 1.0)))
            selector = id_selector(np.asarray(allowed, dtype=np.int64))
        params: Any = faiss.SearchParametersIVF()
        params.nprobe, params.sel = nprobe, selector
        _, found = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), wanted, params=params)
        ids: Ids = found[0][found[0] >= 0]
        return ids


def id_selector(ids: Ids) -> Any:
    """A FAISS selector of `ids`: a bitmap over 0 … max id where that is small (one bit per id: built by numpy
    in ~0.3 ms at 10^5), else FAISS's hash set."""
    import faiss

    if len(ids) and ids.min() >= 0 and ids.max() < 64 * len(ids) + 4096:
        mask = np.zeros(int(ids.max()) + 1, dtype=bool)
        mask[ids] = True
        bits = np.packbits(mask, bitorder="little")
        selector: Any = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))
        selector.held = bits  # the selector reads the numpy buffer: keep it alive as long as the selector
        return selector
    return faiss.IDSelectorBatch(len(ids), faiss.swig_ptr(np.ascontiguousarray(ids)))


def train(ids: Ids, vectors: np.ndarray, settings: AnnSettings, queries: np.ndarray | None = None) -> DenseAnn:
    """An IVF index over `vectors` (under `ids`), trained on them, with nprobe calibrated (module docstring)."""
    import faiss

    if settings.kind not in KINDS:
        raise ValueError(f"unknown ANN kind {settings.kind!r}: one of {', '.join(KINDS)}")
    n, dim = vectors.shape
    nlist = list_count(n)
    quantizer = faiss.IndexFlatIP(dim)
    index: Any
    if settings.kind == "ivf-flat":
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
    index.cp.max_points_per_centroid = settings.points_per_list  # k-means on a sample, not all N
    index.cp.seed = settings.rng_seed
    index.train(np.ascontiguousarray(vectors, dtype=np.float32))
    untyped: Any = faiss  # DirectMap is missing from faiss's type stubs
    index.set_direct_map_type(untyped.DirectMap.Hashtable)
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    ann = DenseAnn(index, settings.kind, trained_size=n)  # FAISS's wrapper keeps `quantizer` alive with `index`
    calibrate(ann, ids, vectors, settings, queries)
    return ann


def calibrate(ann: DenseAnn, ids: Ids, vectors: np.ndarray, settings: AnnSettings,
              queries: np.ndarray | None = None) -> None:
    """Set `ann.nprobe` for recall@recall_k ≥ the target on `queries`, by default midpoints of random pairs of
    stored vectors: queries that are no stored text, lying between topics as a need's does (a stored vector
    itself is a far easier query: its own list holds its neighbours)."""
    rng = np.random.default_rng(settings.rng_seed)
    if queries is None:
        count = min(settings.sample_queries, len(vectors))
        pairs = vectors[rng.integers(0, len(vectors), count)] + vectors[rng.integers(0, len(vectors), count)]
        queries = pairs / np.maximum(np.linalg.norm(pairs, axis=1, keepdims=True), 1e-12)
    k = min(settings.recall_k, len(ids))
    exact = exact_top(queries, vectors, ids, k)
    choose_nprobe(ann, lambda index: recall_of(index, queries, vectors, ids, exact, k), settings.target_recall)
    ann.recall_k, ann.recall_measure = k, f"dense candidates, recall@{k}"


REFINE_STEPS = 3  # bisections after the doubling: nprobe to within 1/16 of the doubling's step


def choose_nprobe(ann: DenseAnn, recall: Callable[[DenseAnn], float], target: float, start: int = 1,
                  refine: int = REFINE_STEPS) -> None:
    """Set `ann.nprobe` to the smallest of start, 2·start, 4·start … (or nlist) whose `recall(ann)` meets
    `target`, then bisected `refine` times between it and the last one that missed (recall grows with
    nprobe), and `ann.recall` to what the chosen nprobe measured. The doubling alone overshot: at 10^6
    seeds 1,024 of 4,000 lists missed the partners' target and 2,048 probed past `max_probe_share`."""
    missed = None  # the largest nprobe known to miss the target
    nprobe = start
    while True:
        ann.nprobe = min(nprobe, ann.nlist)
        ann.recall = recall(ann)
        if ann.recall >= target or ann.nprobe == ann.nlist:
            break
        missed, nprobe = ann.nprobe, nprobe * 2
    chosen, measured = ann.nprobe, ann.recall
    if missed is not None and measured >= target:
        for _ in range(refine):
            middle = (missed + chosen) // 2
            if middle in (missed, chosen):
                break
            ann.nprobe = middle
            found = recall(ann)
            if found >= target:
                chosen, measured = middle, found
            else:
                missed = middle
    ann.nprobe, ann.recall = chosen, measured


def exact_top(queries: np.ndarray, vectors: np.ndarray, ids: Ids, k: int) -> list[set[int]]:
    """The ids of each query's `k` stored vectors of highest float64 cosine."""
    out = []
    for query in np.atleast_2d(queries):
        cosines = vectors.astype(np.float64, copy=False) @ query.astype(np.float64)
        out.append(set(ids[np.argpartition(-cosines, k - 1)[:k]].tolist()))
    return out


def recall_of(ann: DenseAnn, queries: np.ndarray, vectors: np.ndarray, ids: Ids, exact: list[set[int]],
              k: int) -> float:
    """Mean share of each query's exact top k that the index's candidates, re-scored exactly, rank top k."""
    order = np.argsort(ids, kind="stable")
    shares = []
    for query, wanted in zip(np.atleast_2d(queries), exact, strict=True):
        found = ann.candidates(query, k)
        rows = order[np.searchsorted(ids, found, sorter=order)]
        cosines = vectors[rows].astype(np.float64) @ query.astype(np.float64)
        best = found[np.argsort(-cosines, kind="stable")[:k]]
        shares.append(len(wanted.intersection(best.tolist())) / k)
    return float(np.mean(shares))


@dataclass
class AnnRebuild:
    """A rebuild in progress: the vectors as they were when it began, and the ids written since."""

    ids: Ids
    vectors: np.ndarray
    settings: AnnSettings
    touched: set[int] = field(default_factory=set)

    def build(self, queries: np.ndarray | None = None) -> DenseAnn:
        """Train the new index (seconds at 10^5): off the caller's lock; writes go on meanwhile."""
        return train(self.ids, self.vectors, self.settings, queries)


class AnnSlot:
    """A collection's ANN index, if any, and the one rebuild that may be in progress."""

    def __init__(self, settings: AnnSettings | None = None) -> None:
        self.settings = settings or AnnSettings()
        self.index: DenseAnn | None = None
        self.rebuild: AnnRebuild | None = None

    def active(self, size: int) -> DenseAnn | None:
        """The index to search a collection of `size` vectors with: None (exact search) below the threshold, or
        where the index probes too many of its lists to be faster than the exact product."""
        index = self.index
        if index is None or size < self.settings.threshold:
            return None
        return index if index.nprobe <= self.settings.max_probe_share * index.nlist else None

    def due(self, size: int) -> bool:
        """Whether a (re)build is due: large enough, and no index yet, or a stale one."""
        if size < self.settings.threshold or self.rebuild is not None:
            return False
        return self.index is None or self.index.stale(self.settings.retrain_factor)

    def upsert(self, ids: Ids, vectors: np.ndarray) -> None:
        if self.index is not None:
            self.index.upsert(ids, vectors)
        if self.rebuild is not None:
            self.rebuild.touched.update(np.asarray(ids).tolist())

    def remove(self, ids: Ids) -> None:
        if self.index is not None:
            self.index.remove(ids)
        if self.rebuild is not None:
            self.rebuild.touched.update(np.asarray(ids).tolist())

    def begin_rebuild(self, ids: Ids, vectors: np.ndarray) -> AnnRebuild:
        """Under the caller's lock: `ids` and `vectors` must be copies (the collection goes on changing)."""
        self.rebuild = AnnRebuild(ids, vectors, self.settings)
        return self.rebuild

    def finish_rebuild(self, built: DenseAnn, held: set[int], vectors_of: Any) -> None:
        """Under the caller's lock: install `built`, after applying to it the writes made since the rebuild
        began (`held`: the ids the collection holds now; `vectors_of(ids)`: their vectors now)."""
        touched = np.fromiter(self.rebuild.touched if self.rebuild else (), dtype=np.int64)
        kept = np.fromiter((i in held for i in touched.tolist()), dtype=bool, count=len(touched))
        built.remove(touched[~kept])
        built.upsert(touched[kept], vectors_of(touched[kept]))
        built.changes = 0  # the writes were made before this index served: it is as fresh as trained
        self.index, self.rebuild = built, None

    def drop(self) -> None:
        self.index, self.rebuild = None, None
