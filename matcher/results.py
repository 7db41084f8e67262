"""What the engine returns: ranked partners with their evidence, needs for a seed, and sync counts.

Plain dataclasses with no behaviour beyond derived read-only properties, so that
the CLI, the API and the reports can depend on them without depending on the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .records import Liaison, Need, Researcher, Seed, University
from .regions import Prefecture

# Closeness bands: the cosine of the need and a seed (multilingual-e5-small), in words. Chosen from the demo
# (corpora/, its 121 needs matched as the results page does, 10 partners each): the best listed seed of a
# shown partner has cosine 0.847 (5th percentile), 0.874 (median), 0.905 (90th percentile); that of a need's
# first partner 0.858 (8th percentile), 0.887 (25th), 0.906 (median).
# - 近い from 0.875: the batch report's threshold for an unmet need (matcher/reports/model.py,
#   DEFAULT_UNMET_THRESHOLD), so that a page and the report read a closeness alike; it is about the median
#   of the shown partners (on the demo 52% of them fall below it, and the first partner of 20 of the 121 needs).
# - とても近い from 0.90: the 90th percentile of the shown partners, which the first partner of 59% of the
#   needs reaches; on the demo it marks seeds on the need's very subject (the CNF car-part need: the three
#   CNF car-part seeds 0.92–0.94 and a CNF film 0.904; a lipid-nanoparticle seed 0.874 is 関連あり).
# - 関連あり below: the fields overlap at most; the page says so instead of showing a bare number.
CLOSENESS_BANDS: tuple[tuple[float, str], ...] = ((0.90, "とても近い"), (0.875, "近い"))
LOWEST_BAND = "関連あり"


CLOSE_FLOOR = CLOSENESS_BANDS[-1][0]  # a seed at least 近い: what 「内容の近さ」 counts


def closeness_band(similarity: float) -> str:
    """The band a cosine falls in: とても近い, 近い or 関連あり."""
    return next((name for floor, name in CLOSENESS_BANDS if similarity >= floor), LOWEST_BAND)


@dataclass(frozen=True)
class Span:
    """Characters [start, end) of a text where a shared term occurs, for highlighting."""

    start: int
    end: int
    term: str  # the lemma key it matched on; the text shows text[start:end]


@dataclass
class SeedHit:
    seed: Seed
    score: float  # fused, in [0, 1]
    similarity: float  # cosine of need and seed
    lexical: float  # BM25
    shared_terms: list[str]  # the terms that carried the match, as the seed's text writes them, best first
    seed_spans: list[Span]  # where those terms occur in the seed's text
    # every shared term that may explain the match (lemma key → its part of `lexical`), best first
    term_weights: dict[str, float] = field(default_factory=dict)


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
    seeds: list[SeedHit]  # the best seeds, those within the engine's floor of the best one (at least one)
    shared_terms: list[str]  # the terms that carried the match over `seeds`, as the need writes them
    promoted: bool = False
    term_weights: dict[str, float] = field(default_factory=dict)  # the lemma keys of `shared_terms`, weighted
    distance_basis: str | None = None  # places.DistanceBasis: what `distance_km` is measured between
    municipality: str | None = None  # of the university's main address, where the master knows it
    # the two signals (issue 17), shown apart so that no size advantage hides in `score`:
    close_seeds: int = 0  # 内容の近さ: its candidate seeds at least 近い (cosine ≥ CLOSE_FLOOR)
    seed_count: int = 0  # 実績・体制: its seeds in the index, matching or not (rank.SeedCounts)

    @property
    def distance_label(self) -> str | None:
        """The distance in words: 約120 km, 同じ県内, 約44 km（県庁所在地間）; None where a place is unknown."""
        return distance_label(self.distance_km, self.distance_basis)

    @property
    def content_fit(self) -> str:
        """「内容の近さ」 in words: the best seed's band and closeness, and how many of its seeds are at least 近い."""
        close = f"、近い以上のシーズ {self.close_seeds}件" if self.close_seeds else ""
        return f"{self.closeness}（最も近いシーズ {self.similarity:.2f}{close}）"

    @property
    def track_record(self) -> str:
        """「実績・体制」 in words: today the seeds the partner has registered, whatever they are about."""
        whose = {"researcher": "この研究者の", "seed": "所属大学の"}.get(self.level, "")
        return f"{whose}登録シーズ {self.seed_count:,}件"

    @property
    def closeness(self) -> str:
        """The band of `similarity` in words (とても近い／近い／関連あり)."""
        return closeness_band(self.similarity)

    @property
    def contact(self) -> Liaison | None:
        return self.university.liaison

    @property
    def explanation(self) -> str:
        parts = []
        if self.shared_terms:
            parts.append("共通する語: " + "、".join(self.shared_terms[:6]))
        parts.append(f"内容の近さ {self.similarity:.2f}（{self.closeness}）")
        if self.seed_count:
            parts.append(f"実績・体制 {self.track_record}")
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
    sort: str = "overall"  # rank.SORTS: 総合 (the adopted ranking) or 内容重視 (content fit alone)

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
    shared_terms: list[str]  # as the need's text writes them
    cross_region: bool | None
    distance_km: float | None
    distance_basis: str | None = None

    @property
    def closeness(self) -> str:
        return closeness_band(self.similarity)

    @property
    def distance_label(self) -> str | None:
        return distance_label(self.distance_km, self.distance_basis)


def distance_label(km: float | None, basis: str | None) -> str | None:
    """How a distance is shown (places.py says when each applies)."""
    if basis == "same_prefecture":
        return "同じ県内"
    if km is None:
        return None
    figure = f"約{round(km):,} km"
    return f"{figure}（県庁所在地間）" if basis == "prefecture_capitals" else figure


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
