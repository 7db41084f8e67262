"""A report as named tables (header + rows of plain values): what CSV and XLSX write, one file/sheet each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..jst import jst_text
from ..rank import SORTS
from ..reports.wording import unmet_rule
from .outcomes import outcomes_table, summary_rows

if TYPE_CHECKING:
    from matcher.reports import (
        AssignmentReport,
        ConcentrationRow,
        FlowMatrix,
        GroupStat,
        NeedReport,
        Report,
        UniversityReport,
    )

Table = tuple[list[str], list[list[object]]]
Tables = dict[str, Table]

FLOW_CORNER = "ニーズの地域＼連携先の地域"
NEEDS_HEADER = ["ニーズID", "タイトル", "都道府県", "地域", "市場領域", "投稿者", "最良の連携先", "連携先の地域",
                "スコア", "内容の近さ", "地域外か", "地域内の最良", "地域内の最良のスコア", "スコア向上", "未充足",
                "上位の連携先"]
GROUP_HEADER = ["キー", "名称", "ニーズ数", "地域外", "地域外の割合", "未充足", "未充足の割合", "平均スコア向上",
                "平均の内容の近さ"]
CONCENTRATION_HEADER = ["大学", "最良の連携先となったニーズ数", "最良の連携先となった割合", "シーズ数", "シーズの割合",
                        "倍率（最良の割合 ÷ シーズの割合）", "シーズの割合の2倍を超える"]
UNIVERSITIES_HEADER = ["大学", "都道府県コード", "地域", "連携先となるニーズ数", "最良の連携先となるニーズ数",
                       "地域数", "対象の地域", "地域外のニーズ数"]


def report_tables(report: Report) -> Tables:
    t: Tables = {
        "summary": _summary(report),
        "needs": (NEEDS_HEADER, [_need_row(n) for n in report.needs]),
        "flow_counts": _flow(report.flow, report.flow.counts),
        "flow_best": _flow(report.flow_best, report.flow_best.counts),
        "flow_weighted": _flow(report.flow, [[_r(v) for v in row] for row in report.flow.weighted]),
        "by_region": _groups(report.by_region),
        "by_market_area": _groups(report.by_market_area),
        "by_prefecture": _groups(report.by_prefecture),
        "universities": _universities(report.universities),
        "concentration": _concentration(report.concentration),
    }
    outcomes = outcomes_table(report)
    if outcomes is not None:
        t["outcomes"] = outcomes
    if report.assignment is not None:
        t["assignment"] = _assignment(report.assignment, unmet_rule(report.meta.unmet_threshold))
        t["assignment_pairs"] = _assignment_pairs(report.assignment)
    return t


def _summary(report: Report) -> Table:
    m, silo = report.meta, report.silo
    rows: list[list[object]] = [
        ["範囲", m.scope], ["ニーズ数", m.needs], ["シーズ数", m.seeds], ["大学数", m.universities],
        ["方式", m.mode], ["並べ替え", SORTS.get(m.sort, m.sort)], ["集約", m.aggregation],
        ["候補数", m.candidates], ["未充足", unmet_rule(m.unmet_threshold)],
        ["最良の連携先が地域外のニーズ", silo.crossing], ["地域外の割合", round(silo.share_crossing, 4)],
        ["地域を越えた場合の平均スコア向上（越えたニーズ）", round(silo.mean_gain_crossing, 4)],
        ["平均スコア向上（全ニーズ）", round(silo.mean_gain_all, 4)],
        ["地域内に候補がないニーズ", silo.no_local_partner],
        ["最良の連携先の割合がシーズの割合の2倍を超える大学", sum(1 for c in report.concentration if c.over_share)],
        ["作成日時", jst_text(m.generated_at)],
    ]
    rows.extend(summary_rows(report))
    rows.extend(["注記", note] for note in m.notes)
    return (["項目", "値"], rows)


def _need_row(n: NeedReport) -> list[object]:
    best, local = n.best, n.best_in_region
    best_cells: list[object] = [best.university, best.region, _r(best.score), _r(best.similarity)] if best else [""] * 4
    local_cells: list[object] = [local.university, _r(local.score)] if local else [""] * 2
    return [
        n.need_id, n.title, n.prefecture or "", n.region or "", "・".join(n.market_areas), n.poster or "",
        *best_cells, _crossing_label(n.crosses), *local_cells, _optional(n.gain),
        "未充足" if n.unmet else "", " / ".join(f"{p.university}({p.score:.3f})" for p in n.partners),
    ]


def _optional(value: float | None) -> float | str:
    return "" if value is None else _r(value)


def _crossing_label(crosses: bool | None) -> str:
    if crosses is None:
        return ""
    return "地域外" if crosses else "地域内"


def _flow(flow: FlowMatrix, cells: Sequence[Sequence[float]]) -> Table:
    return ([FLOW_CORNER, *flow.regions], [[r, *row] for r, row in zip(flow.regions, cells, strict=True)])


def _groups(groups: list[GroupStat]) -> Table:
    return (GROUP_HEADER, [[g.key, g.label, g.needs, g.crossing, _r(g.share_crossing), g.unmet, _r(g.share_unmet),
                            _r(g.mean_gain), _r(g.mean_best_similarity)] for g in groups])


def _universities(universities: list[UniversityReport]) -> Table:
    return (UNIVERSITIES_HEADER, [[u.university, u.prefecture_code or "", u.region or "", u.needs_served, u.best_for,
                                   u.region_count, "・".join(u.regions_served), u.cross_region_needs]
                                  for u in universities])


def _concentration(rows: list[ConcentrationRow]) -> Table:
    return (CONCENTRATION_HEADER, [[c.university, c.best_for, _r(c.share_best), c.seeds, _r(c.share_seeds),
                                    _optional(c.ratio), "はい" if c.over_share else ""] for c in rows])


def _assignment(a: AssignmentReport, rule: str) -> Table:
    return (["項目", "値"], [
        ["大学あたりの上限", a.cap], ["ニーズあたりの連携先", a.per_need], ["割り当てのあるニーズ", a.assigned_needs],
        ["充足率", _r(a.coverage)], [f"未充足でないニーズの割合（制約あり。{rule}）", _r(a.coverage_met)],
        [f"未充足でないニーズの割合（制約なし。{rule}）", _r(a.coverage_met_unconstrained)],
        ["平均スコア（制約あり）", _r(a.mean_score)], ["平均スコア（制約なし）", _r(a.mean_score_unconstrained)],
        ["連携先が変わったニーズ", a.changed_needs], ["最大の負荷（前）", a.max_load_before],
        ["最大の負荷（後）", a.max_load_after], ["使われた大学（前）", a.universities_used_before],
        ["使われた大学（後）", a.universities_used_after],
    ])


def _assignment_pairs(a: AssignmentReport) -> Table:
    return (["ニーズID", "割り当てた大学"], [[need_id, "・".join(unis)] for need_id, unis in a.assignments.items()])


def _r(value: float) -> float:
    return round(float(value), 4)
