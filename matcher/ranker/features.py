"""Features of one (need, partner) pair, computed from what the engine already has for a query.

The input is a query's candidate seeds grouped by partner (rank.group_by_partner: fused, raw cosine and raw
BM25 per seed, best fused first), the query's normalisation bounds, each partner's total seed count, and,
where the need has a place, where each partner is. Nothing here searches or embeds: the engine, the report
and the benchmark compute candidates their own way and hand them in, so that all of them feed a ranker the
same numbers.

The features fall into the two signals users see, plus place:

- 「内容の近さ」 (CONTENT): how well the partner's seeds match the need. Aggregations of the fused, dense and
  BM25 scores (max, mean of the top 3 / 10, rms10, log of the sum), and counts of seeds above fixed levels.
  The sums and counts grow with the number of matching seeds, so they carry some size: a large university
  has more seeds that match anything. That is the point of putting the seed count beside them: with both in
  one linear model, the content weights are measured with size held apart.
- 「実績・体制」 (CAPACITY): today only the log seed count. Past collaborations and accepted introductions go
  here when the records carry them.
- PLACE: whether the partner lies in the need's region, and the distance. Only for needs with a place; the
  need2univ needs are national ministries' and have none, so no model trained on them can weigh these.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..rank import Bounds, SeedScore

Matrix = npt.NDArray[np.float64]

# Raw cosine levels of multilingual-e5-small between a need and a seed title ("query: " / "passage: ").
# On need2univ dev the best seed of a need lies at about 0.87 and the 1000th at about 0.83: the levels
# count seeds that are clearly, strongly and very strongly on topic, whatever the query's own spread.
COSINE_LEVELS = (0.84, 0.86, 0.88)
# Levels of the fused score, which is min–max normalised per query: relative to the query's best candidate.
FUSED_LEVELS = (0.5, 0.7)

CONTENT_FEATURES: tuple[str, ...] = (
    "fused_max", "fused_top3", "fused_top10", "fused_rms10", "fused_sum_log",
    "dense_max", "dense_top3", "dense_top10", "dense_sum_log",
    "bm25_max", "bm25_top3", "bm25_top10", "bm25_sum_log",
    *(f"seeds_cos{int(level * 100)}_log" for level in COSINE_LEVELS),
    *(f"seeds_fused{int(level * 100)}_log" for level in FUSED_LEVELS),
    "candidates_log",
    "candidate_share",
)
CAPACITY_FEATURES: tuple[str, ...] = ("seed_count_log",)
PLACE_FEATURES: tuple[str, ...] = ("in_region", "distance_log")
FEATURES: tuple[str, ...] = CONTENT_FEATURES + CAPACITY_FEATURES + PLACE_FEATURES

SIGNAL_OF: dict[str, str] = {
    **dict.fromkeys(CONTENT_FEATURES, "content"),
    **dict.fromkeys(CAPACITY_FEATURES, "capacity"),
    **dict.fromkeys(PLACE_FEATURES, "place"),
}

# Where a partner is relative to the need: (in the need's region, distance in km, None where unknown).
Place = tuple[bool, float | None]
PlaceOf = Callable[[str], Place]


@dataclass(frozen=True)
class PartnerFeatures:
    """One row per partner, columns as `FEATURES`."""

    keys: list[str]
    values: Matrix  # (partners, len(FEATURES)), float64

    def column(self, name: str) -> npt.NDArray[np.float64]:
        return self.values[:, FEATURES.index(name)]

    def select(self, names: Sequence[str]) -> Matrix:
        return self.values[:, [FEATURES.index(n) for n in names]]


def _top_mean(scores: npt.NDArray[np.float64], k: int) -> float:
    """Mean over k slots of the k best (missing ones count 0), as rank's top-k rules."""
    return float(np.sort(scores)[::-1][:k].sum()) / k


def _rms(scores: npt.NDArray[np.float64], k: int) -> float:
    best = np.sort(scores)[::-1][:k]
    return math.sqrt(float((best * best).sum()) / k)


def _aggregates(scores: npt.NDArray[np.float64], *, top3: bool = True, rms: bool = False) -> list[float]:
    """max, [top3], top10, [rms10], log1p(sum): the ways a partner's seed scores are summed up."""
    row = [float(scores.max()) if scores.size else 0.0]
    if top3:
        row.append(_top_mean(scores, 3))
    row.append(_top_mean(scores, 10))
    if rms:
        row.append(_rms(scores, 10))
    row.append(math.log1p(float(scores.sum())))
    return row


def _row(hits: Sequence[SeedScore], dense_bounds: Bounds, lexical_bounds: Bounds, seed_count: int,
         place: Place | None) -> list[float]:
    fused = np.array([h.fused for h in hits], dtype=np.float64)
    cosine = np.array([h.dense for h in hits], dtype=np.float64)
    lexical = np.array([h.lexical for h in hits], dtype=np.float64)
    # normalised with the query's bounds, so that a feature means the same for a need with long text
    # (high BM25 everywhere) as for a short one
    dense = dense_bounds.normalise(cosine).astype(np.float64)
    bm25 = lexical_bounds.normalise(lexical).astype(np.float64)
    count = max(seed_count, len(hits))  # a caller's count can lag the index by a write; never below what matched
    row = [*_aggregates(fused, rms=True), *_aggregates(dense), *_aggregates(bm25)]
    row += [math.log1p(int((cosine >= level).sum())) for level in COSINE_LEVELS]
    row += [math.log1p(int((fused >= level).sum())) for level in FUSED_LEVELS]
    row += [math.log1p(len(hits)), len(hits) / count if count else 0.0]
    row.append(math.log(count) if count else 0.0)
    if place is None:
        row += [0.0, 0.0]
    else:
        in_region, km = place
        row += [float(in_region), math.log1p(km) if km is not None else 0.0]
    return row


def partner_features(groups: Mapping[str, Sequence[SeedScore]], bounds: tuple[Bounds, Bounds],
                     seed_counts: Mapping[str, int], place_of: PlaceOf | None = None) -> PartnerFeatures:
    """The features of every partner with at least one candidate seed, keys in sorted order.

    `bounds`: the query's (dense, lexical) bounds from its unfiltered search (search.Candidates), the same
    that made the fused scores. `seed_counts`: every seed a partner has in the index, matching or not.
    `place_of`: where a partner lies relative to the need; None when the need has no place (PLACE features 0).
    """
    keys = sorted(key for key, hits in groups.items() if hits)
    dense_bounds, lexical_bounds = bounds
    rows = [_row(groups[key], dense_bounds, lexical_bounds, seed_counts.get(key, 0),
                 place_of(key) if place_of else None) for key in keys]
    values = np.array(rows, dtype=np.float64).reshape(len(keys), len(FEATURES))
    return PartnerFeatures(keys, values)
