"""The seeds as arrays (`SeedTable`) and the two ways to find each need's candidate seeds.

`DenseSearcher` is the default, batched path: one FAISS search per chunk of
needs nationwide and one per regional block over that block's seeds.
`HybridSearcher` gives the engine's fused (dense + BM25) scores, one
`hybrid_search` per need. Both answer `BatchCandidates`: flat arrays, one entry
per (need, seed), scored in [0, 1] against the bounds of the need's nationwide
candidates, so that nationwide and in-region scores compare and subtract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..rank import Bounds
from ..records import Need, Seed
from ..regions import REGION_ORDER
from ..search import hybrid_search

if TYPE_CHECKING:
    from ..engine import Engine

REGION_INDEX = {r: i for i, r in enumerate(REGION_ORDER)}


def region_indices(regions: Sequence[str | None]) -> np.ndarray:
    """Index in REGION_ORDER per region, -1 where unknown (int16)."""
    return np.array([REGION_INDEX.get(r, -1) if r else -1 for r in regions], dtype=np.int16)


@dataclass
class SeedTable:
    """Seeds as arrays: row → id, university index (universities sorted by name), region."""

    seed_ids: np.ndarray  # int64, sorted: row order
    univ_of_row: np.ndarray  # int32
    universities: list[str]  # sorted by name: index order is the engine's tie-break order
    univ_pref: list[str | None]
    univ_region: list[str | None]
    univ_region_idx: np.ndarray  # int16, -1 unknown
    seed_region_idx: np.ndarray  # int16 per row, -1 unknown

    @classmethod
    def build(cls, engine: Engine) -> SeedTable:
        ids = np.asarray(sorted(engine.seeds), dtype=np.int64)
        seeds = [engine.seeds[i] for i in ids.tolist()]
        names = sorted({s.university for s in seeds})
        index = {n: i for i, n in enumerate(names)}
        univ_pref = [_university_prefecture(engine, name) for name in names]
        univ_region = [engine.prefectures.get(code).region if code else None for code in univ_pref]
        seed_regions = _seed_regions(engine, seeds, dict(zip(names, univ_pref, strict=True)))
        return cls(ids, np.fromiter((index[s.university] for s in seeds), dtype=np.int32, count=len(seeds)),
                   names, univ_pref, univ_region, region_indices(univ_region), region_indices(seed_regions))

    def rows_of(self, seed_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.seed_ids, seed_ids).astype(np.int64)

    def university_rows(self) -> list[tuple[str, str | None, str | None]]:
        """(name, prefecture code, region) per university, in index order."""
        return list(zip(self.universities, self.univ_pref, self.univ_region, strict=True))


def _university_prefecture(engine: Engine, name: str) -> str | None:
    university = engine.universities.get(name)
    return university.prefecture_code if university else None


def _seed_regions(engine: Engine, seeds: Sequence[Seed], univ_code: dict[str, str | None]) -> list[str | None]:
    """A seed lies where it says, else where its university does; an unknown code has no region."""
    region_of_code = {p.code: p.region for p in engine.prefectures}
    return [region_of_code.get(s.prefecture_code or univ_code.get(s.university) or "") for s in seeds]


@dataclass
class BatchCandidates:
    """Flat arrays, one entry per (need, seed) candidate."""

    need_idx: np.ndarray  # int64, index of the need in the report
    seed_row: np.ndarray  # int64
    score: np.ndarray  # float32, normalised (dense) or fused (hybrid)
    cosine: np.ndarray  # float32

    @classmethod
    def empty(cls) -> BatchCandidates:
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float32)
        return cls(empty_i, empty_i, empty_f, empty_f)

    @classmethod
    def concat(cls, parts: Sequence[BatchCandidates]) -> BatchCandidates:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("need_idx", "seed_row", "score", "cosine")))


class Searcher(Protocol):
    """Finds the candidates of the needs start:stop of the report, `step` needs at a time."""

    stage: str  # what the progress shows
    step: int

    def search(self, start: int, stop: int) -> BatchCandidates: ...


class DenseSearcher:
    """The batched dense path: one FAISS search per chunk nationwide, one per region for the in-region seeds.

    The candidates of a need are its nationwide top k, except the seeds of its
    own region, plus the top k of its own region's seeds. That is the union of
    the two top-k lists without a merge: an in-region seed among the nationwide
    top k has fewer than k seeds of any region above it, so it is also among
    the in-region top k.
    """

    stage = "シーズを検索・集約"

    def __init__(self, engine: Engine, table: SeedTable, k: int, vectors: np.ndarray, need_region_idx: np.ndarray,
                 step: int):
        import faiss

        self.collection = engine.seed_index
        self.table = table
        self.vectors = vectors
        self.need_region_idx = need_region_idx
        self.step = step
        self.k = max(1, min(k, len(self.collection))) if len(self.collection) else 0
        # region index → (its seeds' rows, a flat index of their vectors, k within the region)
        self.regions: dict[int, tuple[np.ndarray, Any, int]] = {}
        for r in range(len(REGION_ORDER)):
            rows = np.flatnonzero(table.seed_region_idx == r)
            if len(rows):
                flat = faiss.IndexFlatIP(self.collection.dim)
                flat.add(np.ascontiguousarray(self.collection.vectors_of(table.seed_ids[rows]), dtype=np.float32))
                self.regions[r] = (rows, flat, min(self.k, len(rows)))

    def search(self, start: int, stop: int) -> BatchCandidates:
        vectors, region_idx = self.vectors[start:stop], self.need_region_idx[start:stop]
        if len(vectors) == 0 or self.k == 0:
            return BatchCandidates.empty()
        sims, ids = self.collection.dense.search(vectors, self.k)
        valid = ids >= 0
        bounds = [Bounds.of(row[ok]) for row, ok in zip(sims, valid, strict=True)]
        parts = [self._nationwide(sims, ids, valid, region_idx, bounds)]
        for r in self.regions:
            members = np.flatnonzero(region_idx == r)
            if len(members):
                parts.append(self._in_region(r, vectors, members, bounds))
        found = BatchCandidates.concat(parts)
        found.need_idx += start
        return found

    def _nationwide(self, sims: np.ndarray, ids: np.ndarray, valid: np.ndarray, region_idx: np.ndarray,
                    bounds: list[Bounds]) -> BatchCandidates:
        """The nationwide hits, less those of the need's own region (the in-region search brings them)."""
        rows = np.zeros_like(ids)
        rows[valid] = self.table.rows_of(ids[valid])
        own = (self.table.seed_region_idx[rows] == region_idx[:, None]) & (region_idx[:, None] >= 0)
        keep = valid & ~own
        need = np.repeat(np.arange(len(sims), dtype=np.int64), self.k).reshape(sims.shape)
        scores = _normalised(bounds, sims, valid)
        return BatchCandidates(need[keep], rows[keep], scores[keep], sims[keep].astype(np.float32))

    def _in_region(self, r: int, vectors: np.ndarray, members: np.ndarray, bounds: list[Bounds]) -> BatchCandidates:
        """The top k of region r's seeds for the needs `members` (of region r), on their nationwide bounds."""
        region_rows, flat, kr = self.regions[r]
        sims, local = flat.search(vectors[members], kr)
        ok = local >= 0
        scores = _normalised([bounds[m] for m in members.tolist()], sims, ok)
        need = np.repeat(members, kr).reshape(len(members), kr)
        return BatchCandidates(need[ok].astype(np.int64), region_rows[local[ok]], scores[ok],
                               sims[ok].astype(np.float32))


def _normalised(bounds: Sequence[Bounds], sims: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Each row of cosines on its need's bounds; FAISS pads missing hits with -3.4e38, zeroed first."""
    hits = np.where(found, sims, np.float32(0))
    return np.stack([b.normalise(row) for b, row in zip(bounds, hits, strict=True)])


class HybridSearcher:
    """The engine's hybrid scores: one `hybrid_search` per need (nationwide, then its region with the same bounds)."""

    stage = "シーズを検索・集約（語の一致を含む）"
    step = 64

    def __init__(self, engine: Engine, table: SeedTable, k: int, needs: Sequence[Need], vectors: np.ndarray,
                 need_regions: Sequence[str | None]):
        self.engine = engine
        self.table = table
        self.k = k
        self.needs = needs
        self.vectors = vectors
        self.need_regions = need_regions
        self.region_ids = {r: table.seed_ids[table.seed_region_idx == i] for i, r in enumerate(REGION_ORDER)}

    def search(self, start: int, stop: int) -> BatchCandidates:
        return BatchCandidates.concat([self._one(i) for i in range(start, stop)])

    def _one(self, i: int) -> BatchCandidates:
        index, weight = self.engine.seed_index, self.engine.settings.dense_weight
        terms = self.engine.tokenizer.terms(self.needs[i].text)
        found = hybrid_search(index, self.vectors[i], terms, candidates=self.k, dense_weight=weight)
        ids, fused, cos = [found.ids], [found.fused], [found.dense]
        region = self.need_regions[i]
        if region is not None:
            local = hybrid_search(index, self.vectors[i], terms, candidates=self.k, allowed=self.region_ids[region],
                                  bounds=(found.dense_bounds, found.lexical_bounds), dense_weight=weight)
            ids.append(local.ids)
            fused.append(local.fused)
            cos.append(local.dense)
        all_ids = np.concatenate(ids)
        _, first = np.unique(all_ids, return_index=True)  # a seed found in both searches counts once
        return BatchCandidates(np.full(len(first), i, dtype=np.int64), self.table.rows_of(all_ids[first]),
                               np.concatenate(fused)[first].astype(np.float32),
                               np.concatenate(cos)[first].astype(np.float32))
