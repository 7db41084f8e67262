import numpy as np
import pytest

from matcher.cross_region import ensure_cross_region
from matcher.rank import (
    AGGREGATIONS,
    Bounds,
    Ranked,
    aggregate,
    fuse,
    group_by_partner,
    partner_key,
    rank_partners,
)


def ranked(flags, start=1.0, step=0.01):
    return [Ranked(f"p{i}", start - i * step, cross) for i, cross in enumerate(flags)]


def test_three_outside_partners_are_promoted_into_the_top_ten():
    partners = ranked([False] * 12 + [True] * 5)
    top = ensure_cross_region(partners, 10)
    assert len(top) == 10
    assert sum(p.cross_region for p in top) == 3
    assert [p.key for p in top if p.promoted] == ["p12", "p13", "p14"]
    assert [p.key for p in top[:7]] == [f"p{i}" for i in range(7)]  # the best in-region partners stay


def test_no_promotion_when_outside_partners_are_far_below_the_cut():
    partners = ranked([False] * 10) + [Ranked("far", 0.2, True)]
    top = ensure_cross_region(partners, 10, tolerance=0.25)
    assert [p.key for p in top] == [f"p{i}" for i in range(10)]


def test_partial_promotion_takes_only_the_close_ones():
    partners = ranked([False] * 10) + [Ranked("near", 0.90, True), Ranked("far", 0.5, True)]
    top = ensure_cross_region(partners, 10, tolerance=0.25)
    assert [p.key for p in top if p.cross_region] == ["near"]  # cut 0.91: 0.90 is within 25%, 0.5 is not


def test_lists_that_already_cross_are_untouched():
    partners = ranked([True, False, True, False, True, False, False, False, False, False, True])
    assert ensure_cross_region(partners, 10) == partners[:10]


def test_short_lists_scale_the_quota():
    partners = ranked([False] * 6 + [True] * 3)
    top = ensure_cross_region(partners, 5)
    assert sum(p.cross_region for p in top) == 2  # round(0.3 × 5)


def test_bounds_normalise_and_clip():
    bounds = Bounds.of(np.array([0.5, 0.7, 0.9]))
    np.testing.assert_allclose(bounds.normalise(np.array([0.5, 0.9, 1.0, 0.1])), [0, 1, 1, 0])
    assert Bounds(0, 0).normalise(np.array([0.0])).tolist() == [0.0]


def test_fuse_weights_dense_and_lexical():
    fused = fuse(np.array([1.0, 0.0]), np.array([0.0, 4.0]), Bounds(0, 1), Bounds(0, 4), dense_weight=0.75)
    np.testing.assert_allclose(fused, [0.75, 0.25])


@pytest.mark.parametrize("method", sorted(AGGREGATIONS))
def test_every_aggregation_prefers_the_stronger_partner(method):
    scores = aggregate({"strong": [0.9, 0.8], "weak": [0.3]}, method)
    assert scores["strong"] > scores["weak"]


def test_top10_counts_depth_up_to_ten_seeds_only():
    scores = aggregate({"one": [1.0], "three": [0.9, 0.8, 0.7], "huge": [0.1] * 500}, "top10")
    assert scores["three"] > scores["one"] > scores["huge"]
    assert all(0 <= s <= 1 for s in scores.values())


# ---- seeds → partners ----------------------------------------------------
def _seeds():
    from matcher.records import Researcher, Seed

    yamamoto = Researcher(name="山本 浩二", university="広島大学", department="生物圏科学研究科")
    return {
        1: Seed(id=1, title="カキのゲノム育種", university="広島大学", prefecture_code="34", researcher=yamamoto),
        2: Seed(id=2, title="カキの養殖", university="広島大学", prefecture_code="34", researcher=yamamoto),
        3: Seed(id=3, title="もみ殻の燃料化", university="長岡技術科学大学", prefecture_code="15"),
    }


@pytest.mark.parametrize(("level", "expected"), [
    ("university", {"広島大学": [1, 2], "長岡技術科学大学": [3]}),
    ("researcher", {"広島大学|生物圏科学研究科|山本 浩二": [1, 2]}),  # seed 3 names no researcher
    ("seed", {"1": [1], "2": [2], "3": [3]}),
])
def test_group_by_partner_keeps_each_partners_seeds_best_first(level, expected):
    rows = [(1, 0.9, 0.8, 3.0), (3, 0.7, 0.6, 2.0), (2, 0.5, 0.4, 1.0)]
    groups = group_by_partner(rows, _seeds(), level)
    assert {key: [s.seed.id for s in hits] for key, hits in groups.items()} == expected
    assert partner_key(_seeds()[3], "researcher") is None


def test_rank_partners_orders_by_aggregate_and_marks_other_regions():
    rows = [(1, 0.9, 0.8, 3.0), (3, 0.7, 0.6, 2.0), (2, 0.5, 0.4, 1.0)]
    groups = group_by_partner(rows, _seeds(), "university")
    regions = {"34": "中国", "15": "中部"}
    order = rank_partners(groups, "max", region_of=lambda s: regions[s.prefecture_code], need_region="中部")
    assert [(r.key, r.score, r.cross_region) for r in order] == [
        ("広島大学", 0.9, True), ("長岡技術科学大学", 0.7, False)]
    unplaced = rank_partners(groups, "max", region_of=lambda s: regions[s.prefecture_code], need_region=None)
    assert not any(r.cross_region for r in unplaced)  # with no need region, nothing crosses
