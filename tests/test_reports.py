"""Batch reports: correctness on a small corpus known by hand, and the pure parts on given score tables.

The corpus (tests/data/reports) has four universities, each with two seeds on
one topic only, in four regions:

    北海道大学 (01 北海道)  乳牛の乳房炎        seeds 1, 2
    東北大学   (04 東北)    地熱発電           seeds 3, 4
    広島大学   (34 中国)    養殖カキ           seeds 5, 6
    九州大学   (40 九州)    有明海の海苔        seeds 7, 8

and eight needs, each (but 108) clearly on one topic:

    need  region  topic     best partner (region)   best in-region   crosses?
    101   北海道   乳房炎    北海道大学 (北海道)       北海道大学        no   gain 0
    102   北海道   海苔      九州大学 (九州)           北海道大学        yes  gain > 0
    103   東北     地熱      東北大学 (東北)           東北大学          no   gain 0
    104   東北     カキ      広島大学 (中国)           東北大学          yes  gain > 0
    105   九州     海苔      九州大学 (九州)           九州大学          no   gain 0
    106   中国     乳房炎    北海道大学 (北海道)       広島大学          yes  gain > 0
    107   関東     地熱      東北大学 (東北)           none              yes  gain = best score
    108   近畿     写本修復  (nobody fits; any)        none              yes  (no 近畿 university)

Flow matrix of the best partners (rows: need region, columns: partner region):

              北海道 東北 関東 中部 近畿 中国 四国 九州
    北海道       1     .    .    .    .    .    .    1      (101 → 北海道, 102 → 九州)
    東北         .     1    .    .    .    1    .    .      (103 → 東北, 104 → 中国)
    関東         .     1    .    .    .    .    .    .      (107 → 東北)
    近畿         one partner, outside 近畿                      (108: whichever)
    中国         1     .    .    .    .    .    .    .      (106 → 北海道)
    九州         .     .    .    .    .    .    .    1      (105 → 九州)

Silo measure: 8 needs, 5 cross (102, 104, 106, 107, 108): share 5/8 = 0.625;
no in-region partner at all: 107 and 108 (2). Unmet at the default threshold (0.875):
only 108 (its best seed cosine is ~0.79; the on-topic needs are ≥ 0.89).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from matcher.market_areas import market_area_names
from matcher.rank import AGGREGATIONS
from matcher.regions import REGION_ORDER, default_prefectures
from matcher.reports import (
    Groups,
    NeedReport,
    PartnerScore,
    ReportOptions,
    ReportScope,
    aggregate_candidates,
    compute_report,
    constrained_assignment,
    select_needs,
    summarise,
)

from .aggregation_reference import REFERENCE
from .conftest import ROOT

REPORTS = ROOT / "tests" / "data" / "reports"

BEST = {101: "北海道大学", 102: "九州大学", 103: "東北大学", 104: "広島大学", 105: "九州大学", 106: "北海道大学",
        107: "東北大学"}
IN_REGION = {101: "北海道大学", 102: "北海道大学", 103: "東北大学", 104: "東北大学", 105: "九州大学", 106: "広島大学",
             107: None, 108: None}


@pytest.fixture(scope="module")
def report_engine(encoder):
    from matcher.corpus import load_corpus
    from matcher.engine import Engine

    corpus = load_corpus(REPORTS)
    engine = Engine(encoder, universities=corpus.universities.values())
    engine.sync_seeds(corpus.seeds)
    engine.sync_needs(corpus.needs)
    return engine


@pytest.fixture(scope="module")
def need_vectors(report_engine):
    needs = select_needs(report_engine, ReportScope())
    return needs, report_engine.encoder.encode_queries([n.text for n in needs])


@pytest.fixture(scope="module", params=["dense", "hybrid"])
def report(request, report_engine, need_vectors):
    needs, vectors = need_vectors
    return compute_report(report_engine, options=ReportOptions(mode=request.param, assignment_cap=1),
                          needs=needs, need_vectors=vectors)


def test_per_need_partners_match_the_hand_table(report):
    by_id = {n.need_id: n for n in report.needs}
    assert sorted(by_id) == list(range(101, 109))
    for need_id, university in BEST.items():
        assert by_id[need_id].best.university == university, need_id
    for need_id, university in IN_REGION.items():
        local = by_id[need_id].best_in_region
        assert (local.university if local else None) == university, need_id
    for need_id in (101, 103, 105):
        assert by_id[need_id].gain == 0.0 and by_id[need_id].crosses is False
    for need_id in (102, 104, 106):
        n = by_id[need_id]
        assert n.crosses is True
        assert n.gain == pytest.approx(n.best.score - n.best_in_region.score) and n.gain > 0.1
    assert by_id[107].gain == pytest.approx(by_id[107].best.score)
    # partners are sorted by score and every need lists all four universities (top_partners 5 > 4)
    for n in report.needs:
        assert [p.score for p in n.partners] == sorted((p.score for p in n.partners), reverse=True)
        assert len(n.partners) == 4


def test_flow_matrix_of_best_partners_matches_the_hand_table(report):
    f = report.flow_best
    assert f.regions == list(REGION_ORDER)
    expected = {("北海道", "北海道"): 1, ("北海道", "九州"): 1, ("東北", "東北"): 1, ("東北", "中国"): 1,
                ("関東", "東北"): 1, ("中国", "北海道"): 1, ("九州", "九州"): 1}
    for row in REGION_ORDER:
        for col in REGION_ORDER:
            if row == "近畿":
                continue
            assert f.count(row, col) == expected.get((row, col), 0), (row, col)
    kinki = f.counts[REGION_ORDER.index("近畿")]
    assert sum(kinki) == 1 and f.count("近畿", "近畿") == 0
    # score-weighted: the cell holds the best partner's score
    by_id = {n.need_id: n for n in report.needs}
    assert f.weight("北海道", "九州") == pytest.approx(by_id[102].best.score)
    # the top-3 flow counts 3 partners per need (every need has 4 candidates)
    assert sum(map(sum, report.flow.counts)) == 3 * 8


def test_silo_measure_and_unmet_needs(report):
    s = report.silo
    assert (s.needs, s.crossing) == (8, 5)
    assert s.share_crossing == pytest.approx(5 / 8)
    assert s.no_local_partner == 2
    crossing = [n for n in report.needs if n.crosses]
    assert s.mean_gain_crossing == pytest.approx(sum(n.gain for n in crossing) / 5)
    assert s.mean_gain_all == pytest.approx(sum(n.gain for n in report.needs) / 8)
    assert [n.need_id for n in report.needs if n.unmet] == [108]
    by_region = {g.key: g for g in report.by_region}
    assert by_region["近畿"].unmet == 1 and by_region["北海道"].crossing == 1 and by_region["北海道"].needs == 2
    by_area = {g.key: g for g in report.by_market_area}
    assert by_area["M3"].needs == 4 and by_area["M3"].crossing == 2  # 101, 102, 104, 105: 102 and 104 cross
    # no market area: 103 (stays), 107 and 108 (cross); 108 is the unmet one
    assert (by_area["未分類"].needs, by_area["未分類"].crossing, by_area["未分類"].unmet) == (3, 2, 1)
    pref = {g.key: g for g in report.by_prefecture}
    assert len(pref) == 47 and pref["01"].needs == 2 and pref["47"].needs == 0


def test_universities_and_constrained_assignment(report):
    unis = {u.university: u for u in report.universities}
    # 北海道大学 is the best partner of 101 and 106, from 北海道 and 中国
    assert unis["北海道大学"].best_for >= 2
    assert {"北海道", "中国"} <= set(unis["北海道大学"].regions_served)
    a = report.assignment
    assert a.cap == 1 and a.max_load_after == 1 and a.max_load_before >= 2
    # 4 universities with a cap of 1: only 4 of the 8 needs can get a partner
    assert a.assigned_needs == 4 and a.coverage == pytest.approx(0.5)
    assert a.mean_score <= a.mean_score_unconstrained + 1e-9  # per need, 0 where none is assigned
    assert sorted(a.assignments) == [103, 104, 105, 106]  # greedy: the four strongest pairs take the four universities


def test_scope_selects_needs():
    from matcher.corpus import load_corpus

    class FakeEngine:
        needs = {n.id: n for n in load_corpus(REPORTS).needs}
        prefectures = default_prefectures()

    assert [n.id for n in select_needs(FakeEngine, ReportScope(regions=("北海道",)))] == [101, 102]
    assert [n.id for n in select_needs(FakeEngine, ReportScope(prefectures=("福岡県", "34")))] == [105, 106]
    assert [n.id for n in select_needs(FakeEngine, ReportScope(market_areas=("M7", "M8")))] == [104, 106]
    assert select_needs(FakeEngine, ReportScope(since=__import__("datetime").datetime(2020, 1, 1))) == []
    with pytest.raises(Exception, match="地域ブロック"):
        select_needs(FakeEngine, ReportScope(regions=("火星",)))


@pytest.mark.parametrize("rule", sorted(AGGREGATIONS))
def test_vectorised_aggregation_equals_the_engine_rule(rule):
    rng = random.Random(7)
    need_idx, rows, scores = [], [], []
    for need in range(5):
        for row in rng.sample(range(40), 25):
            need_idx.append(need)
            rows.append(row)
            scores.append(rng.random())
    univ_of_row = np.array([row % 6 for row in range(40)], dtype=np.int32)
    g = aggregate_candidates(np.array(need_idx), np.array(rows), np.array(scores, dtype=np.float32),
                             np.array(scores, dtype=np.float32), univ_of_row, rule)
    expected = {}
    for need, row, score in zip(need_idx, rows, scores, strict=True):
        expected.setdefault((need, row % 6), []).append(float(np.float32(score)))
    got = {(int(n), int(u)): s for n, u, s in zip(g.need_idx, g.univ, g.score, strict=True)}
    assert set(got) == set(expected)
    for key, values in expected.items():
        assert got[key] == pytest.approx(REFERENCE[rule](sorted(values, reverse=True)), rel=1e-5)
    # within a need: best first
    for a, b in zip(g.starts[:-1], g.starts[1:], strict=True):
        assert list(g.score[a:b]) == sorted(g.score[a:b], reverse=True)


def _partner(name, region, score, sim=0.9, need_region=None):
    return PartnerScore(name, None, region, score, sim, 0, None if need_region is None else region != need_region)


def _need(need_id, region, partners, local=None):
    best = partners[0] if partners else None
    gain = None if region is None or best is None else best.score - (local.score if local else 0.0)
    return NeedReport(need_id, f"n{need_id}", None, None, region, (), None, partners, local, gain,
                      max((p.similarity for p in partners), default=0.0), False)


def test_flow_matrix_on_a_given_score_table():
    # need 1 (東北): 東北大 0.9, 京大 0.5 ; need 2 (東北): 京大 0.8, 九大 0.4 ; need 3 (九州): 九大 0.7, 東北大 0.6
    n1 = _need(1, "東北", [_partner("東北大", "東北", 0.9, need_region="東北"),
                           _partner("京大", "近畿", 0.5, need_region="東北")],
               local=_partner("東北大", "東北", 0.9, need_region="東北"))
    n2 = _need(2, "東北", [_partner("京大", "近畿", 0.8, need_region="東北"),
                           _partner("九大", "九州", 0.4, need_region="東北")],
               local=_partner("東北大", "東北", 0.3, need_region="東北"))
    n3 = _need(3, "九州", [_partner("九大", "九州", 0.7, need_region="九州"),
                           _partner("東北大", "東北", 0.6, need_region="九州")],
               local=_partner("九大", "九州", 0.7, need_region="九州"))
    r = summarise([n1, n2, n3], [("東北大", "04", "東北"), ("京大", "26", "近畿"), ("九大", "40", "九州")],
                  ReportOptions(flow_partners=2), default_prefectures(), market_area_names())
    f = r.flow
    # by hand: 東北→東北 1 (0.9), 東北→近畿 2 (0.5 + 0.8), 東北→九州 1 (0.4), 九州→九州 1 (0.7), 九州→東北 1 (0.6)
    assert f.count("東北", "東北") == 1 and f.count("東北", "近畿") == 2 and f.count("東北", "九州") == 1
    assert f.count("九州", "九州") == 1 and f.count("九州", "東北") == 1
    assert f.weight("東北", "近畿") == pytest.approx(1.3) and f.weight("九州", "東北") == pytest.approx(0.6)
    assert sum(map(sum, f.counts)) == 6
    # silo: 3 needs, 1 crosses (need 2, gain 0.8 − 0.3 = 0.5); mean over all = 0.5 / 3
    assert (r.silo.needs, r.silo.crossing) == (3, 1)
    assert r.silo.mean_gain_crossing == pytest.approx(0.5) and r.silo.mean_gain_all == pytest.approx(0.5 / 3)
    unis = {u.university: u for u in r.universities}
    assert unis["東北大"].regions_served == ["東北", "九州"] and unis["京大"].regions_served == ["東北"]


def test_constrained_assignment_on_a_given_score_table():
    # three needs all prefer university 0; cap 1 sends the weaker needs to their second choice
    g = Groups(need_idx=np.array([0, 0, 1, 1, 2, 2]), univ=np.array([0, 1, 0, 2, 0, 1]),
               score=np.array([0.9, 0.5, 0.8, 0.6, 0.7, 0.2]), similarity=np.full(6, 0.9),
               best_seed_row=np.zeros(6, dtype=np.int64), starts=np.array([0, 2, 4, 6]))
    needs = [_need(i, "東北", []) for i in range(3)]
    a = constrained_assignment(needs, g, None, ReportOptions(assignment_cap=1, unmet_threshold=0.5))
    assert a.assignments == {0: ["0"], 1: ["2"], 2: ["1"]}
    assert a.mean_score == pytest.approx((0.9 + 0.6 + 0.2) / 3)
    assert a.mean_score_unconstrained == pytest.approx((0.9 + 0.8 + 0.7) / 3)
    assert (a.max_load_before, a.max_load_after, a.changed_needs, a.coverage) == (3, 1, 2, 1.0)


def test_stored_vectors_for_some_needs_give_the_same_report(report_engine, need_vectors):
    """A report given the stored query vectors of some needs (None for the rest) encodes only the rest, and
    ranks exactly as when every vector is given."""
    needs, vectors = need_vectors
    some = [vectors[i] if i % 2 else None for i in range(len(needs))]
    whole = compute_report(report_engine, needs=needs, need_vectors=vectors)
    partial = compute_report(report_engine, needs=needs, need_vectors=some)
    assert [[(p.university, round(p.score, 6)) for p in n.partners] for n in partial.needs] == \
        [[(p.university, round(p.score, 6)) for p in n.partners] for n in whole.needs]
    with pytest.raises(ValueError, match="one row per need"):
        compute_report(report_engine, needs=needs, need_vectors=some[:-1])
