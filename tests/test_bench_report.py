"""`bench report-scale` runs end to end at a small size, with BM25 in its default (hybrid) mode (no timing asserted)."""

from __future__ import annotations

from matcher.bench_report import report_scale


def test_report_scale_runs_the_hybrid_batch_path_with_terms():
    result = report_scale(needs=40, seeds=600, kaken=None, candidates=50)
    assert result["mode"] == "hybrid" and result["needs"] == 40 and result["seeds"] == 600
    assert result["terms_per_seed"] > 1 and result["distinct_terms_per_need"] > 10  # BM25 has work to do
    stages = result["stages_s"]
    assert isinstance(stages, dict) and {"search_s", "aggregate_s", "summarise_s"} <= set(stages)
    assert 0 <= result["share_crossing"] <= 1
