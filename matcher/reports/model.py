"""The report's data: what the caller asks for (scope, options) and what comes back (Report and its parts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

MODES = ("hybrid", "dense")  # hybrid: the engine's score (match); dense: embeddings only

# A need whose best seed's raw cosine is below this is "unmet". e5 cosines are compressed:
# off-topic pairs sit near 0.79-0.82. On the demo corpus the needs' best cosines run 0.86-0.95
# (median 0.91); 0.875 flags the bottom ~8%, the niche needs written to be hard to meet
# (urushi curing, somen ageing, plaster-mould recycling …).
DEFAULT_UNMET_THRESHOLD = 0.875

Progress = Callable[[str, int, int], None]  # (stage, done, total)


# ---- inputs ------------------------------------------------------------
@dataclass(frozen=True)
class ReportScope:
    """Which needs the report covers. Empty fields do not restrict; given fields must all hold."""

    regions: tuple[str, ...] = ()
    prefectures: tuple[str, ...] = ()  # codes or names
    market_areas: tuple[str, ...] = ()  # a need qualifies if it has any of them
    since: datetime | None = None  # Need.extra["created_at"] >= since
    until: datetime | None = None  # Need.extra["created_at"] < until
    need_ids: tuple[int, ...] = ()
    include_confidential: bool = True  # reports go to coordinators, who may read confidential needs


@dataclass(frozen=True)
class ReportOptions:
    top_partners: int = 5  # partners listed per need
    flow_partners: int = 3  # partners of each need counted in the flow matrix
    candidates: int | None = None  # seeds per need per search; None = the engine's setting
    unmet_threshold: float = DEFAULT_UNMET_THRESHOLD
    assignment_cap: int | None = None  # needs per university in the constrained assignment; None = skip
    assignment_per_need: int = 1  # partners given to each need in the constrained assignment
    mode: str = "hybrid"  # "hybrid": engine.match's score, in batch; "dense": embeddings only (for comparison)
    sort: str = "overall"  # rank.SORTS, as engine.match(sort=…): 総合 (the adopted ranking) or 内容重視
    chunk: int = 128  # needs per batch search: ~10 bytes × chunk × seeds (130 MB at 10^5 seeds)


# ---- outputs -----------------------------------------------------------
@dataclass
class PartnerScore:
    university: str
    prefecture_code: str | None
    region: str | None
    score: float  # aggregated, in [0, 1]
    similarity: float  # best seed's raw cosine
    best_seed_id: int
    cross_region: bool | None
    seed_count: int = 0  # 実績・体制: the university's seeds in the index, shown beside the score, never in it


@dataclass
class NeedReport:
    need_id: int
    title: str
    prefecture_code: str | None
    prefecture: str | None
    region: str | None
    market_areas: tuple[str, ...]
    poster: str | None
    partners: list[PartnerScore]  # best first
    best_in_region: PartnerScore | None
    gain: float | None  # best partner's score − best in-region partner's (0 when none in region); None without a region
    best_similarity: float
    unmet: bool
    # The partners after `partners`, down to the flow_partners-th, when flow_partners > top_partners:
    # the flow matrix and the university table count them, the need's list (and the JSON) does not show them.
    further_partners: list[PartnerScore] = field(default_factory=list)

    @property
    def best(self) -> PartnerScore | None:
        return self.partners[0] if self.partners else None

    @property
    def crosses(self) -> bool | None:
        """Is the best partner outside the need's region? None when either region is unknown."""
        b = self.best
        if b is None or self.region is None or b.cross_region is None:
            return None
        return b.cross_region

    def flow_partners(self, k: int) -> list[PartnerScore]:
        """The best `k` partners, as far as the report kept them."""
        return (self.partners + self.further_partners)[:k]


@dataclass
class FlowMatrix:
    regions: list[str]  # row and column labels; rows = need regions, columns = partner regions
    counts: list[list[int]]
    weighted: list[list[float]]  # sum of partner scores
    partners_per_need: int

    def count(self, need_region: str, partner_region: str) -> int:
        return self.counts[self.regions.index(need_region)][self.regions.index(partner_region)]

    def weight(self, need_region: str, partner_region: str) -> float:
        return self.weighted[self.regions.index(need_region)][self.regions.index(partner_region)]


@dataclass
class SiloMeasure:
    needs: int  # needs with a known region and a partner
    crossing: int  # of them, whose best partner is outside the region
    share_crossing: float
    mean_gain_crossing: float  # mean gain over the crossing needs
    mean_gain_all: float  # mean gain over all counted needs (0 for those that stay)
    no_local_partner: int  # needs with no partner at all in their region


@dataclass
class GroupStat:
    key: str  # region, market area code or prefecture code
    label: str
    needs: int
    crossing: int
    unmet: int
    mean_gain: float
    mean_best_similarity: float

    @property
    def share_crossing(self) -> float:
        return self.crossing / self.needs if self.needs else 0.0

    @property
    def share_unmet(self) -> float:
        return self.unmet / self.needs if self.needs else 0.0


@dataclass
class UniversityReport:
    university: str
    prefecture_code: str | None
    region: str | None
    needs_served: int  # needs having it among their flow partners
    best_for: int  # needs having it as their best partner
    regions_served: list[str]  # regions of the needs it serves (flow partners), north to south
    cross_region_needs: int  # served needs from another region

    @property
    def region_count(self) -> int:
        return len(self.regions_served)


@dataclass
class ConcentrationRow:
    """A university's share of the needs' best-partner places beside its share of the seeds (concentration.py)."""

    university: str
    best_for: int  # needs it is the best partner of
    share_best: float  # of the needs that have a best partner
    seeds: int
    share_seeds: float  # of all seeds
    ratio: float | None  # share_best / share_seeds; None without seeds
    over_share: bool  # share_best > OVER_SHARE × share_seeds


@dataclass
class AssignmentReport:
    cap: int
    per_need: int
    assigned_needs: int  # needs that got at least one partner
    coverage: float  # share of needs with `per_need` partners
    coverage_met: float  # share of needs whose assigned best seed reaches the unmet threshold
    coverage_met_unconstrained: float
    mean_score: float  # mean over all needs × per_need slots of the assigned partners' scores (empty slot = 0)
    mean_score_unconstrained: float  # the same for each need's own best partners
    changed_needs: int  # needs whose partners differ from the unconstrained ones
    max_load_before: int
    max_load_after: int
    universities_used_before: int
    universities_used_after: int
    assignments: dict[int, list[str]]  # need id → universities


@dataclass
class ReportMeta:
    scope: str
    mode: str
    aggregation: str  # the rule partners are ordered by (rank.sort_rule of the sort and the engine's setting)
    candidates: int
    unmet_threshold: float
    needs: int
    seeds: int
    universities: int
    generated_at: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sort: str = "overall"


@dataclass
class PartnerOutcomeRow:
    """What became of one partner of the report's needs (issue 15): the introduction requests (紹介依頼) the
    posters made to it and their feedback on it (役に立った／役に立たなかった), as the service counts them
    (api/feedback.py)."""

    partner: str  # as the request or feedback named it: 「大学」, 「研究者（大学）」 or 「シーズ（大学）」
    level: str  # 大学・研究者・シーズ: the unit of the match results the poster acted on
    asked: int  # introduction requests, whatever became of them
    accepted: int
    declined: int
    pending: int  # not answered yet, within the waiting time
    ignored: int  # not answered past the waiting time (OutcomesScope.ignored_after_days)
    useful: int  # 役に立った
    not_useful: int  # 役に立たなかった


@dataclass
class OutcomesScope:
    """Which requests and feedback a report's outcomes count. Only the service has them (its database): a report
    made without it (the CLI) has no OutcomesScope, and its files have no outcomes section."""

    region: str | None  # the region block of the needs counted (a coordinator's own); None: every region
    ignored_after_days: int  # a request with no answer after this many days counts as ignored


@dataclass
class Report:
    meta: ReportMeta
    needs: list[NeedReport]
    flow: FlowMatrix
    flow_best: FlowMatrix  # best partner only
    silo: SiloMeasure
    by_region: list[GroupStat]
    by_market_area: list[GroupStat]
    by_prefecture: list[GroupStat]
    universities: list[UniversityReport]
    assignment: AssignmentReport | None
    concentration: list[ConcentrationRow] = field(default_factory=list)  # empty when seed counts are not given
    outcomes: list[PartnerOutcomeRow] = field(default_factory=list)  # the most acted-on partners first
    outcomes_scope: OutcomesScope | None = None  # None: made without the service's database, nothing counted

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, floats rounded to 4 places; derived shares and counts included."""
        data = asdict(self)
        for row in data["needs"]:
            del row["further_partners"]  # a need's JSON lists its `partners` only
        for group in ("by_region", "by_market_area", "by_prefecture"):
            for row, stat in zip(data[group], getattr(self, group), strict=True):
                row["share_crossing"] = round(stat.share_crossing, 4)
                row["share_unmet"] = round(stat.share_unmet, 4)
        for row, uni in zip(data["universities"], self.universities, strict=True):
            row["region_count"] = uni.region_count
        rounded: dict[str, Any] = _rounded(data)
        return rounded


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value
