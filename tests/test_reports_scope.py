"""Report scope: which needs it selects, and the one wording shown by the report, the pages and the API.

No embedding model: the end-to-end cases run the benchmark's engine (random unit vectors).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from matcher.bench_report import build_engine
from matcher.records import Need
from matcher.regions import default_prefectures
from matcher.reports import ReportOptions, ReportScope, compute_report, describe_scope, select_needs

JST = timezone(timedelta(hours=9))


def test_an_unrestricted_scope_reads_as_every_need_in_the_country():
    assert describe_scope(ReportScope()) == "全国のすべてのニーズ"
    assert describe_scope(ReportScope(include_confidential=False)) == "全国のすべてのニーズ"


def test_prefectures_are_named_and_market_areas_carry_their_names():
    scope = ReportScope(regions=("中部", "九州"), prefectures=("15", "福岡県", "Hiroshima"), market_areas=("M3", "M4"))
    assert describe_scope(scope) == ("地域: 中部・九州、都道府県: 新潟県・福岡県・広島県、"
                                     "市場領域: M3 持続的一次生産システム・M4 有機廃棄物・有機排水処理")


def test_an_unknown_market_area_code_is_shown_as_given():
    assert describe_scope(ReportScope(market_areas=("M99",))) == "市場領域: M99"


@pytest.mark.parametrize(("since", "until", "text"), [
    (datetime(2025, 4, 1), datetime(2026, 4, 1), "期間: 2025-04-01〜2026-04-01"),
    (datetime(2025, 4, 1, tzinfo=JST), None, "期間: 2025-04-01〜"),
    (None, datetime(2026, 4, 1, tzinfo=JST), "期間: 〜2026-04-01"),
])
def test_the_period_is_shown_as_dates(since, until, text):
    assert describe_scope(ReportScope(since=since, until=until)) == text


def test_given_needs_are_counted_after_the_other_restrictions():
    scope = ReportScope(regions=("東北",), since=datetime(2025, 4, 1), need_ids=(3, 5, 8))
    assert describe_scope(scope) == "地域: 東北、期間: 2025-04-01〜、ニーズ 3 件を指定"


class _Needs:
    """What select_needs reads of an engine."""

    prefectures = default_prefectures()

    def __init__(self, *needs: Need):
        self.needs = {n.id: n for n in needs}


def _dated(need_id: int, day: datetime | None, **kwargs) -> Need:
    need = Need(id=need_id, title=f"n{need_id}", **kwargs)
    if day is not None:
        need.extra["created_at"] = day
    return need


def test_selection_by_ids_visibility_and_period():
    engine = _Needs(
        _dated(3, datetime(2025, 3, 31), prefecture_code="04"),
        _dated(1, datetime(2025, 4, 1), prefecture_code="04", visibility="confidential"),
        _dated(2, datetime(2026, 3, 31), prefecture_code="40"),
        _dated(4, datetime(2026, 4, 1)),
        _dated(5, None, prefecture_code="04"),
    )

    def ids(scope: ReportScope) -> list[int]:
        return [n.id for n in select_needs(engine, scope)]

    assert ids(ReportScope()) == [1, 2, 3, 4, 5]
    assert ids(ReportScope(need_ids=(5, 2, 99))) == [2, 5]
    assert ids(ReportScope(include_confidential=False)) == [2, 3, 4, 5]
    # since is inclusive, until exclusive; a need without a date is outside any period
    assert ids(ReportScope(since=datetime(2025, 4, 1), until=datetime(2026, 4, 1))) == [1, 2]
    assert ids(ReportScope(until=datetime(2025, 4, 1))) == [3]
    # a need without a prefecture is in no region and no prefecture
    assert ids(ReportScope(regions=("東北",))) == [1, 3, 5]
    assert ids(ReportScope(prefectures=("4", "宮城"), include_confidential=False)) == [3, 5]


def _report(options: ReportOptions, scope: ReportScope | None = None):
    engine, _ = build_engine(300, None)
    codes = [p.code for p in engine.prefectures]
    needs = [Need(id=i + 1, title=f"n{i + 1}", prefecture_code=codes[i % len(codes)]) for i in range(40)]
    vectors = np.random.default_rng(5).standard_normal((len(needs), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return compute_report(engine, scope or ReportScope(), options, needs=needs, need_vectors=vectors)


def test_the_report_is_described_by_its_scope_even_with_the_needs_given():
    scope = ReportScope(regions=("近畿",), market_areas=("M3",))
    assert _report(ReportOptions(candidates=50), scope).meta.scope == describe_scope(scope)


def test_flow_partners_beyond_the_listed_ones_count_in_the_flow_but_stay_out_of_the_json():
    report = _report(ReportOptions(top_partners=1, flow_partners=3, candidates=100))
    assert all(len(n.partners) == 1 and len(n.further_partners) == 2 for n in report.needs)
    assert sum(map(sum, report.flow.counts)) == 3 * len(report.needs)
    assert sum(map(sum, report.flow_best.counts)) == len(report.needs)
    served = sum(u.needs_served for u in report.universities)
    assert served == sum(len({p.university for p in n.flow_partners(3)}) for n in report.needs)
    data = report.to_dict()
    assert all(set(row) >= {"partners", "best_in_region"} and "further_partners" not in row for row in data["needs"])
    assert all(len(row["partners"]) == 1 for row in data["needs"])
