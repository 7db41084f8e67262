"""The report's section on what became of the partners (issue 15): the introduction requests (紹介依頼) and the
feedback (役に立った／役に立たなかった) on the report's needs, per partner, as the service counted them.

One wording for every file: the HTML (and so the PDF) shows the title, the sentences and the table; the CSV and
the XLSX carry the same table (outcomes.csv, sheet 「紹介依頼と評価の結果」) and the sentences in the summary.
A report made without the service's database (the CLI) has no `outcomes_scope` and no such section: it counts
nothing, so it says nothing about it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matcher.reports.model import OutcomesScope, PartnerOutcomeRow, Report

TITLE = "紹介依頼と評価の結果"
NONE_YET = "まだありません。"


def ignored_label(days: int) -> str:
    """The column's name, as the coordinators' page writes it: 「放置（14日以上回答なし）」."""
    return f"放置（{days}日以上回答なし）"


def header(days: int) -> list[str]:
    return ["連携先", "単位", "紹介依頼", "承諾", "辞退", "回答待ち", ignored_label(days), "役に立った",
            "役に立たなかった"]


def sentences(scope: OutcomesScope) -> list[str]:
    """What the section counts, and what 「放置」 means (api/introductions.py `is_ignored`)."""
    whose = "このレポートのニーズ" if scope.region is None else \
        f"このレポートのニーズのうち{scope.region}のもの（作成したコーディネーターの地域）"
    return [f"{whose}について、投稿者が連携先に出した紹介依頼の結果と、連携先への評価（役に立った／"
            "役に立たなかった）を連携先ごとに数えます。",
            f"「放置」は、依頼から{scope.ignored_after_days}日を過ぎても承諾・辞退の回答がない紹介依頼です"
            "（「回答待ち」には数えません）。評価は順位付けには使っていません。"]


def row_cells(row: PartnerOutcomeRow) -> list[object]:
    return [row.partner, row.level, row.asked, row.accepted, row.declined, row.pending, row.ignored, row.useful,
            row.not_useful]


def outcomes_table(report: Report) -> tuple[list[str], list[list[object]]] | None:
    """The section as a table (header, rows); an explicit 「まだありません。」 row when nothing was counted; None for
    a report made without the service (no section)."""
    scope = report.outcomes_scope
    if scope is None:
        return None
    rows = [row_cells(r) for r in report.outcomes] or [[NONE_YET, *[""] * 8]]
    return header(scope.ignored_after_days), rows


def summary_rows(report: Report) -> list[list[object]]:
    """The section's sentences, for the summary table (概要)."""
    scope = report.outcomes_scope
    if scope is None:
        return []
    counted = f"{len(report.outcomes)} 件の連携先" if report.outcomes else NONE_YET
    explained: list[list[object]] = [[f"{TITLE}（説明）", text] for text in sentences(scope)]
    return [[TITLE, counted], *explained]
