"""Ranking: fusing dense and lexical scores, grouping seeds into researchers and universities,
aggregating their scores, and the cross-region guarantee.

Every scoring rule lives here, as pure functions over plain data: the engine
supplies the scores and the seed records, and the explanations shown beside a
score are built apart, in explain.py.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .records import Seed

# Weight of the dense score in the fused score; the rest is BM25.
# 0.5 is the plain min–max-normalised sum, which measured best on JSQuAD dev
# (README, "Benchmarks"); it is an engine setting (EngineSettings.dense_weight
# defaults to it), not a constant to tune per query.
DEFAULT_DENSE_WEIGHT = 0.5


@dataclass(frozen=True)
class Bounds:
    """Min and max of one score over a query's unfiltered candidates.

    Scores filtered to a scope (in-region only, say) are normalised with the
    bounds of the unfiltered candidates, so that scores of different scopes
    for one query can be compared and subtracted.
    """

    low: float
    high: float

    @classmethod
    def of(cls, scores: np.ndarray) -> Bounds:
        if scores.size == 0:
            return cls(0.0, 0.0)
        return cls(float(scores.min()), float(scores.max()))

    def normalise(self, scores: np.ndarray) -> np.ndarray:
        span = self.high - self.low
        if span <= 1e-12:
            # all candidates tie: a positive score carries full weight, none carries none
            return (scores > 0).astype(np.float32) if self.high > 0 else np.zeros_like(scores, dtype=np.float32)
        return np.clip((scores - self.low) / span, 0.0, 1.0).astype(np.float32)


def fuse(dense: np.ndarray, lexical: np.ndarray, dense_bounds: Bounds, lexical_bounds: Bounds,
         dense_weight: float = DEFAULT_DENSE_WEIGHT) -> np.ndarray:
    """Weighted sum of min–max-normalised dense and BM25 scores, in [0, 1]."""
    return dense_weight * dense_bounds.normalise(dense) + (1 - dense_weight) * lexical_bounds.normalise(lexical)


# ---- aggregation -------------------------------------------------------
# A partner's score from its seeds' fused scores (sorted, best first). The
# rules sit side by side so that `bench need2univ` can compare them; the
# engine's setting names the one it chose (README, "Benchmarks").

def _max(scores: Sequence[float]) -> float:
    """The best seed alone."""
    return scores[0]


def _top(k: int) -> Callable[[Sequence[float]], float]:
    """Mean over k slots of the k best seeds (missing seeds count 0), in [0, 1].

    Depth up to k rewards a partner with several matching seeds over one
    lucky hit; the cap at k stops sheer size from winning beyond that."""
    def rule(scores: Sequence[float]) -> float:
        return float(sum(scores[:k])) / k
    return rule


def _rms(k: int) -> Callable[[Sequence[float]], float]:
    """Root mean square over k slots of the k best seeds (missing seeds count 0), in [0, 1].

    Like _top, depth counts, but squaring makes one strong seed outweigh
    several weak ones: a small university with the one right seed is not
    buried under a large one with ten loosely related seeds."""
    def rule(scores: Sequence[float]) -> float:
        return math.sqrt(float(sum(s * s for s in scores[:k])) / k)
    return rule


def _decay(scores: Sequence[float], rate: float = 0.5, depth: int = 5) -> float:
    """Best seed plus a halving share of the next ones, normalised to [0, 1]."""
    full = sum(rate**i for i in range(depth))
    return sum(rate**i * s for i, s in enumerate(scores[:depth])) / full


def _sum(scores: Sequence[float]) -> float:
    """Every candidate seed counts: closest to the popularity baseline."""
    return float(sum(scores))


AGGREGATIONS: dict[str, Callable[[Sequence[float]], float]] = {
    "max": _max,
    "top3": _top(3),
    "top10": _top(10),
    "rms10": _rms(10),
    "decay": _decay,
    "sum": _sum,
}


def aggregate(groups: dict[str, list[float]], method: str) -> dict[str, float]:
    rule = AGGREGATIONS[method]
    return {key: rule(sorted(scores, reverse=True)) for key, scores in groups.items() if scores}


# ---- seeds → partners --------------------------------------------------
LEVELS = ("university", "researcher", "seed")  # what a partner can be: see partner_key


@dataclass(frozen=True)
class SeedScore:
    """One candidate seed of a query, with its scores."""

    seed: Seed
    fused: float  # in [0, 1]
    dense: float  # raw cosine
    lexical: float  # raw BM25


@dataclass
class Ranked:
    """A partner's place in a ranking: its key, aggregated score, and whether it lies outside the need's region."""

    key: str
    score: float
    cross_region: bool
    promoted: bool = False


def partner_key(seed: Seed, level: str) -> str | None:
    """The partner of `level` a seed counts for; None for a seed with no named researcher at that level."""
    if level == "university":
        return seed.university
    if level == "researcher":
        return seed.researcher.key if seed.researcher else None
    return str(seed.id)


def group_by_partner(rows: Iterable[tuple[int, float, float, float]], seeds: Mapping[int, Seed],
                     level: str) -> dict[str, list[SeedScore]]:
    """Candidate rows (seed id, fused, dense, lexical), best first, grouped by partner; each group stays best first."""
    groups: dict[str, list[SeedScore]] = defaultdict(list)
    for seed_id, fused, dense, lexical in rows:
        seed = seeds[seed_id]
        key = partner_key(seed, level)
        if key is not None:
            groups[key].append(SeedScore(seed, fused, dense, lexical))
    return groups


def rank_partners(groups: Mapping[str, Sequence[SeedScore]], method: str, *,
                  region_of: Callable[[Seed], str | None], need_region: str | None) -> list[Ranked]:
    """Partners by the aggregation `method` over their seeds' fused scores, best first (ties by key).

    A partner crosses regions when its best seed lies in a known region other
    than the need's; with no need region, nothing crosses.
    """
    scores = aggregate({key: [s.fused for s in hits] for key, hits in groups.items()}, method)
    ranked = []
    for key, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
        region = region_of(groups[key][0].seed)
        ranked.append(Ranked(key, score, bool(need_region and region and region != need_region)))
    return ranked


# ---- the cross-region guarantee ----------------------------------------
def ensure_cross_region(ranked: Sequence[Ranked], top_k: int, *, min_share: float = 0.3,
                        window: int = 10, tolerance: float = 0.25) -> list[Ranked]:
    """Top-k of `ranked` (best first), with enough partners from outside the need's region.

    Within the first `window` places, at least round(min_share × window) partners
    come from outside the need's region, whenever such partners score within
    `tolerance` of the cut (the score of the last place), as a share of it:
    relative, so it holds whatever scale the aggregation gives. They replace the
    lowest in-region partners and are marked `promoted`. If no outside partner
    is close enough, the list stays as the scores made it: the guarantee never
    shows a poor match.
    """
    head = list(ranked[:top_k])
    window = min(window, len(head))
    missing = round(min_share * window) - sum(r.cross_region for r in head[:window])
    if window == 0 or missing <= 0:
        return head
    cut = head[window - 1].score
    waiting = [r for r in ranked[window:] if r.cross_region and r.score >= cut * (1 - tolerance)][:missing]
    if not waiting:
        return head
    return _promote(ranked, head[:window], waiting)[:top_k]


def _promote(ranked: Sequence[Ranked], window: list[Ranked], waiting: list[Ranked]) -> list[Ranked]:
    """The window with its lowest in-region partners replaced by `waiting`, then the rest of `ranked`."""
    in_region = [r.key for r in window if not r.cross_region]
    dropped = set(in_region[len(in_region) - len(waiting):])
    kept = [r for r in window if r.key not in dropped]
    # promoted partners rank below every partner that earned its place
    promoted = kept + [replace(r, promoted=True) for r in waiting]
    used = {r.key for r in promoted}
    rest = [r for r in ranked if r.key not in used]  # score order; the dropped come first
    return promoted + rest
