"""The seeds as arrays (`SeedTable`), and each need's candidate seeds, found in batch (`Searcher`).

`Searcher` runs a batch search (`search_batch.BatchSearch`, or its shards on
Ray) over chunks of needs: per need, the candidates and fused scores that
`engine.match` gets from `hybrid_search`, nationwide and within the need's
region (normalised on the nationwide bounds, so that the two compare and
subtract, as the engine's scopes do). Both answer `BatchCandidates`: flat
arrays, one entry per (need, seed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..index import fingerprint
from ..records import Need, Seed
from ..regions import REGION_ORDER
from ..search_batch import BlockSearch

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

    def seeds_per_university(self) -> dict[str, int]:
        counts = np.bincount(self.univ_of_row, minlength=len(self.universities)).tolist()
        return dict(zip(self.universities, counts, strict=True))

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
    score: np.ndarray  # float32, fused (in [0, 1])
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


class Searcher:
    """Each need's candidates, `step` needs at a time: nationwide, and within its own region.

    The search is the caller's (`shards.open_batch_search`: in this process, or sharded over Ray)."""

    stage = "シーズを検索・集約"

    def __init__(self, batch: BlockSearch, table: SeedTable, vectors: np.ndarray, terms: Sequence[Sequence[str]],
                 need_region_idx: np.ndarray, step: int):
        self.batch = batch
        self.vectors = vectors
        self.terms = terms
        self.need_region_idx = need_region_idx
        self.step = max(1, step)
        self.region_rows = {r: np.flatnonzero(table.seed_region_idx == r) for r in range(len(REGION_ORDER))}

    def blocks(self) -> Iterator[tuple[int, int, BatchCandidates, BatchCandidates]]:
        """(start, stop, nationwide, in-region) per block of needs; need_idx counts from the report's first need."""
        n = len(self.vectors)
        ranges = [(start, min(start + self.step, n)) for start in range(0, n, self.step)]
        inputs = ((self.vectors[a:b], self.terms[a:b], self.need_region_idx[a:b].astype(np.int64)) for a, b in ranges)
        for (start, stop), (found, within) in zip(ranges, self.batch.search_blocks(inputs, self.region_rows),
                                                  strict=True):
            yield (start, stop, BatchCandidates(found.query + start, found.column, found.fused, found.dense),
                   BatchCandidates(within.query + start, within.column, within.fused, within.dense))


def vocabulary_of(terms: Sequence[Sequence[str]]) -> set[str]:
    """Every term of the needs: the seeds' BM25 weights are built for these alone."""
    return {t for need_terms in terms for t in need_terms}


def need_terms(engine: Engine, needs: Sequence[Need]) -> list[list[str]]:
    """Each need's BM25 terms: as the need index holds them where it holds that very text (no tokenising,
    which would cost ~1 ms a need), else from the tokenizer, as `engine.match` tokenises its text."""
    index = engine.need_index
    out = []
    for need in needs:
        if index.fingerprints.get(need.id) == fingerprint(need.text, index.model_name):
            out.append(list(index.lexical.terms_of(need.id)))  # BM25 counts each distinct term once
        else:
            out.append(engine.tokenizer.terms(need.text))
    return out
