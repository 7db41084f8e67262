"""The concentration figure: each university's share of best-partner places beside its share of seeds."""

from __future__ import annotations

import pytest

from matcher.market_areas import market_area_names
from matcher.regions import default_prefectures
from matcher.report_render.tables import CONCENTRATION_HEADER, report_tables
from matcher.reports import OVER_SHARE, NeedReport, PartnerScore, ReportOptions, summarise


def _need(need_id: int, best: str | None) -> NeedReport:
    partners = [PartnerScore(best, "01", "北海道", 0.9, 0.9, 1, False)] if best else []
    return NeedReport(need_id, f"n{need_id}", "01", "北海道", "北海道", (), None, partners, None,
                      0.9 if best else None, 0.9, False)


# 10 needs: A best for 6, B for 3, C for 1, one need without partners (not counted)
NEEDS = [_need(i, u) for i, u in enumerate(["A"] * 6 + ["B"] * 3 + ["C"] + [None])]
SEEDS = {"A": 10, "B": 30, "C": 50, "D": 10}  # 100 seeds; D is nobody's best


def _report(seeds=SEEDS):
    unis = [(name, "01", "北海道") for name in SEEDS]
    return summarise(NEEDS, unis, ReportOptions(), default_prefectures(), market_area_names(),
                     seeds_per_university=seeds)


def test_shares_of_best_places_beside_shares_of_seeds():
    rows = {c.university: c for c in _report().concentration}
    assert list(rows) == ["A", "B", "C"]  # most places first; D, best for none, is left out
    a = rows["A"]
    assert (a.best_for, a.share_best, a.seeds, a.share_seeds) == (6, pytest.approx(0.6), 10, pytest.approx(0.1))
    assert a.ratio == pytest.approx(6.0) and a.over_share
    assert rows["B"].share_best == pytest.approx(0.3) and rows["B"].share_seeds == pytest.approx(0.3)
    assert not rows["B"].over_share and not rows["C"].over_share


def test_the_flag_is_strictly_above_twice_the_seed_share():
    assert OVER_SHARE == 2.0
    rows = {c.university: c for c in _report({"A": 30, "B": 15, "C": 55}).concentration}
    assert rows["A"].share_best == pytest.approx(2 * rows["A"].share_seeds) and not rows["A"].over_share
    assert rows["B"].share_best == pytest.approx(2 * rows["B"].share_seeds) and not rows["B"].over_share
    rows = {c.university: c for c in _report({"A": 29, "B": 16, "C": 55}).concentration}
    assert rows["A"].over_share and not rows["B"].over_share


def test_without_seed_counts_there_is_no_figure():
    report = summarise(NEEDS, [], ReportOptions(), default_prefectures(), market_area_names())
    assert report.concentration == []


def test_the_tables_carry_the_figure_with_japanese_labels():
    report = _report()
    header, rows = report_tables(report)["concentration"]
    assert header == CONCENTRATION_HEADER
    assert "最良の連携先となった割合" in header and "シーズの割合" in header
    assert rows[0] == ["A", 6, 0.6, 10, 0.1, 6.0, "はい"] and rows[1][-1] == ""
    summary = dict(report_tables(report)["summary"][1])
    assert summary["最良の連携先の割合がシーズの割合の2倍を超える大学"] == 1
    assert report.to_dict()["concentration"][0]["over_share"] is True
