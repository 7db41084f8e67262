"""A report as named tables (header + rows of plain values): what CSV and XLSX write, one file/sheet each."""

from __future__ import annotations

Table = tuple[list[str], list[list[object]]]


def report_tables(report) -> dict[str, Table]:
    t: dict[str, Table] = {}
    m = report.meta
    t["summary"] = (["項目", "値"], [
        ["範囲", m.scope], ["ニーズ数", m.needs], ["シーズ数", m.seeds], ["大学数", m.universities],
        ["方式", m.mode], ["集約", m.aggregation], ["候補数", m.candidates], ["未充足のしきい値", m.unmet_threshold],
        ["最良の連携先が地域外のニーズ", report.silo.crossing], ["地域外の割合", round(report.silo.share_crossing, 4)],
        ["地域を越えた場合の平均スコア向上（越えたニーズ）", round(report.silo.mean_gain_crossing, 4)],
        ["平均スコア向上（全ニーズ）", round(report.silo.mean_gain_all, 4)],
        ["地域内に候補がないニーズ", report.silo.no_local_partner],
        ["作成日時", m.generated_at],
    ] + [["注記", note] for note in m.notes])
    rows = []
    for n in report.needs:
        best, local = n.best, n.best_in_region
        rows.append([
            n.need_id, n.title, n.prefecture or "", n.region or "", "・".join(n.market_areas), n.poster or "",
            best.university if best else "", best.region if best else "", _r(best.score) if best else "",
            _r(best.similarity) if best else "", "地域外" if n.crosses else ("地域内" if n.crosses is False else ""),
            local.university if local else "", _r(local.score) if local else "", _r(n.gain) if n.gain is not None else "",
            "未充足" if n.unmet else "", " / ".join(f"{p.university}({p.score:.3f})" for p in n.partners),
        ])
    t["needs"] = (["ニーズID", "タイトル", "都道府県", "地域", "市場領域", "投稿者", "最良の連携先", "連携先の地域", "スコア",
                   "内容の近さ", "地域外か", "地域内の最良", "地域内の最良のスコア", "スコア向上", "未充足", "上位の連携先"], rows)
    for name, flow in (("flow_counts", report.flow), ("flow_best", report.flow_best)):
        t[name] = (["ニーズの地域＼連携先の地域"] + flow.regions,
                   [[r] + row for r, row in zip(flow.regions, flow.counts)])
    t["flow_weighted"] = (["ニーズの地域＼連携先の地域"] + report.flow.regions,
                          [[r] + [_r(v) for v in row] for r, row in zip(report.flow.regions, report.flow.weighted)])
    head = ["キー", "名称", "ニーズ数", "地域外", "地域外の割合", "未充足", "未充足の割合", "平均スコア向上", "平均の内容の近さ"]
    for name in ("by_region", "by_market_area", "by_prefecture"):
        t[name] = (head, [[g.key, g.label, g.needs, g.crossing, _r(g.share_crossing), g.unmet, _r(g.share_unmet),
                           _r(g.mean_gain), _r(g.mean_best_similarity)] for g in getattr(report, name)])
    t["universities"] = (["大学", "都道府県コード", "地域", "連携先となるニーズ数", "最良の連携先となるニーズ数", "地域数",
                          "対象の地域", "地域外のニーズ数"],
                         [[u.university, u.prefecture_code or "", u.region or "", u.needs_served, u.best_for,
                           u.region_count, "・".join(u.regions_served), u.cross_region_needs] for u in report.universities])
    a = report.assignment
    if a is not None:
        t["assignment"] = (["項目", "値"], [
            ["大学あたりの上限", a.cap], ["ニーズあたりの連携先", a.per_need], ["割り当てのあるニーズ", a.assigned_needs],
            ["充足率", _r(a.coverage)], ["しきい値以上の充足率（制約あり）", _r(a.coverage_met)],
            ["しきい値以上の充足率（制約なし）", _r(a.coverage_met_unconstrained)],
            ["平均スコア（制約あり）", _r(a.mean_score)], ["平均スコア（制約なし）", _r(a.mean_score_unconstrained)],
            ["連携先が変わったニーズ", a.changed_needs], ["最大の負荷（前）", a.max_load_before],
            ["最大の負荷（後）", a.max_load_after], ["使われた大学（前）", a.universities_used_before],
            ["使われた大学（後）", a.universities_used_after],
        ])
        t["assignment_pairs"] = (["ニーズID", "割り当てた大学"],
                                 [[need_id, "・".join(unis)] for need_id, unis in a.assignments.items()])
    return t


def _r(value: float) -> float:
    return round(float(value), 4)
