"""Derived values of the result dataclasses."""

from __future__ import annotations

from matcher.records import Seed, University
from matcher.regions import default_prefectures
from matcher.results import MatchResult, Partner, SeedHit, SyncReport


def partner(score: float, *, cross: bool, promoted: bool = False) -> Partner:
    seed = Seed(id=1, title="もみ殻の燃料化", university="長岡技術科学大学")
    hit = SeedHit(seed, score, 0.8, 2.0, ["籾殻"], [])
    return Partner(level="university", key=seed.university, name=seed.university,
                   university=University(seed.university, "15"), researcher=None, prefecture=None, region=None,
                   cross_region=cross, distance_km=None, score=score, similarity=0.8, seeds=[hit],
                   shared_terms=["籾殻", "燃料"], promoted=promoted)


def test_explanation_names_terms_closeness_best_seed_and_promotion():
    assert partner(0.5, cross=True, promoted=True).explanation == (
        "共通する語: 籾殻、燃料 / 内容の近さ 0.80（関連あり） / 最も近いシーズ「もみ殻の燃料化」"
        " / 地域外の有力候補として繰り上げ表示")


def test_gain_over_local_needs_a_prefecture_and_counts_a_missing_local_partner_as_zero():
    niigata = default_prefectures().get("15")
    shown = [partner(0.9, cross=True), partner(0.6, cross=False)]
    result = MatchResult("…", niigata, "all", "university", shown, best_in_region=shown[1], need_spans=[])
    assert round(result.gain_over_local, 6) == 0.3 and result.cross_region_count == 1
    assert MatchResult("…", niigata, "all", "university", shown, None, []).gain_over_local == 0.9
    assert MatchResult("…", None, "all", "university", shown, None, []).gain_over_local is None


def test_sync_report_changed_only_when_something_was_added_updated_or_removed():
    assert not SyncReport(unchanged=12).changed
    assert SyncReport(removed=1).changed
