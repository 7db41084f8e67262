"""A judged need with everything the methods compared need: its candidate partners' features, the
ranking every fixed rule gives it, and its relevance judgements.

Built from one search of the need (search.hybrid_search, as the engine does it), so that the fixed rules,
the learned ranker and the features all see the same candidates. For a need with no place the fixed
rules' rankings are exactly engine.match's: rank.rank_partners over the same groups, with nothing to
promote across regions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..rank import AGGREGATIONS, group_by_partner, rank_partners
from ..records import Seed
from ..search import Candidates
from .features import PartnerFeatures, PlaceOf, partner_features

# Rules that are no engine setting but were measured as references (issue 17: "dense sum over the top
# 2,000 seeds"): ordering by one feature, best first. Named apart from rank.AGGREGATIONS so that the
# decision knows which rules the engine could switch to today.
REFERENCE_RULES: dict[str, str] = {"dense_sum": "dense_sum_log"}


@dataclass(frozen=True)
class JudgedNeed:
    query_id: str
    project: str  # the fold unit: no project's needs are split between training and test
    features: PartnerFeatures
    relevant: Mapping[str, float]  # every judged partner, candidate or not
    rules: Mapping[str, list[str]]  # fixed rule (rank.AGGREGATIONS and REFERENCE_RULES) → its top partners


def judged_need(query_id: str, project: str, found: Candidates, seeds: Mapping[int, Seed],
                seed_counts: Mapping[str, int], relevant: Mapping[str, float], *, top_k: int = 10,
                place_of: PlaceOf | None = None) -> JudgedNeed:
    """`found`: the need's unfiltered candidates (the engine's search); partners are universities."""
    groups = group_by_partner(found.rows(), seeds, "university")
    features = partner_features(groups, (found.dense_bounds, found.lexical_bounds), seed_counts, place_of)
    rules = {method: [r.key for r in rank_partners(groups, method, region_of=lambda _: None, need_region=None)[:top_k]]
             for method in AGGREGATIONS}
    for name, feature in REFERENCE_RULES.items():
        column = features.column(feature)
        order = sorted(range(len(features.keys)), key=lambda i: (-column[i], features.keys[i]))
        rules[name] = [features.keys[i] for i in order[:top_k]]
    return JudgedNeed(query_id, project, features, dict(relevant), rules)


@dataclass
class JudgedSet:
    """One set of judged needs (a queries folder against a seeds file), each searched once."""

    name: str
    needs: list[JudgedNeed]
    popularity: list[str]  # every partner by its number of seeds, most first
    info: dict[str, object]  # where it came from, sizes, timings (for the benchmark's JSON)
