"""What the engine returns: ranked partners with their evidence, needs for a seed, and sync counts.

Plain dataclasses with no behaviour beyond derived read-only properties, so that
the CLI, the API and the reports can depend on them without depending on the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .records import Liaison, Need, Researcher, Seed, University
from .regions import Prefecture


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of a text where a shared term occurs, for highlighting."""

    start: int
    end: int
    term: str


@dataclass
class SeedHit:
    seed: Seed
    score: float  # fused, in [0, 1]
    similarity: float  # cosine of need and seed
    lexical: float  # BM25
    shared_terms: list[str]
    seed_spans: list[Span]


@dataclass
class Partner:
    level: str
    key: str
    name: str
    university: University
    researcher: Researcher | None
    prefecture: Prefecture | None
    region: str | None
    cross_region: bool | None  # None when the need has no prefecture
    distance_km: float | None
    score: float
    similarity: float  # best seed's cosine: an absolute measure, unlike the fused score
    seeds: list[SeedHit]
    shared_terms: list[str]
    promoted: bool = False

    @property
    def contact(self) -> Liaison | None:
        return self.university.liaison

    @property
    def explanation(self) -> str:
        parts = []
        if self.shared_terms:
            parts.append("共通する語: " + "、".join(self.shared_terms[:6]))
        parts.append(f"内容の近さ {self.similarity:.2f}")
        if self.seeds:
            parts.append(f"最も近いシーズ「{self.seeds[0].seed.title}」")
        if self.promoted:
            parts.append("地域外の有力候補として繰り上げ表示")
        return " / ".join(parts)


@dataclass
class MatchResult:
    text: str
    prefecture: Prefecture | None
    scope: str
    level: str
    partners: list[Partner]
    best_in_region: Partner | None
    need_spans: list[Span]  # shared terms highlighted in the need, over all partners shown
    query_terms: list[str] = field(default_factory=list)

    @property
    def cross_region_count(self) -> int:
        return sum(1 for p in self.partners if p.cross_region)

    @property
    def gain_over_local(self) -> float | None:
        """Score of the best partner shown minus that of the best in-region partner."""
        if not self.partners or self.prefecture is None:
            return None
        local = self.best_in_region.score if self.best_in_region else 0.0
        return self.partners[0].score - local


@dataclass
class NeedHit:
    need: Need
    score: float
    similarity: float
    shared_terms: list[str]
    cross_region: bool | None
    distance_km: float | None


@dataclass
class SyncReport:
    """How `Engine.sync_*` changed an index."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    encoded: int = 0  # of the added and updated, how many were embedded; the rest had known vectors

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)
