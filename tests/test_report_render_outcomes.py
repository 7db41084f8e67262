"""Issue 15: the report's section 「紹介依頼と評価の結果」 in every file (JSON, CSV, XLSX, HTML, PDF); an explicit
「まだありません。」 when the service counted nothing; and no section at all in a report made without the service
(the engine alone, as the CLI makes it), which cannot know."""

from __future__ import annotations

import csv
import io
import json

import pytest

from matcher.report_render import render_report
from matcher.reports import ReportScope, compute_report
from matcher.reports.model import OutcomesScope, PartnerOutcomeRow

from .report_samples import big_report

TITLE = "紹介依頼と評価の結果"
HOSTILE = "=HYPERLINK(\"http://evil\") <b>大学</b>"


def _with_outcomes(rows: list[PartnerOutcomeRow], region: str | None = "中部", days: int = 14):
    report = big_report(needs=12, universities=20)
    report.outcomes, report.outcomes_scope = rows, OutcomesScope(region=region, ignored_after_days=days)
    return report


ROWS = [PartnerOutcomeRow("長岡技術科学大学", "大学", 4, 1, 1, 1, 1, 2, 0),
        PartnerOutcomeRow(HOSTILE, "研究者", 1, 0, 0, 0, 1, 0, 3)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("outcomes")
    render_report(_with_outcomes(ROWS, days=9), out, ["json", "csv", "xlsx", "html"])
    return out


def test_the_json_carries_the_rows_and_what_they_count(rendered):
    data = json.loads((rendered / "report.json").read_text(encoding="utf-8"))
    assert data["outcomes_scope"] == {"region": "中部", "ignored_after_days": 9}
    assert data["outcomes"][0] == {"partner": "長岡技術科学大学", "level": "大学", "asked": 4, "accepted": 1,
                                   "declined": 1, "pending": 1, "ignored": 1, "useful": 2, "not_useful": 0}
    assert data["outcomes"][1]["partner"] == HOSTILE  # JSON keeps the raw text


def test_the_csv_and_the_xlsx_have_the_table_and_the_summary_says_what_it_counts(rendered):
    from openpyxl import load_workbook

    rows = list(csv.reader(io.StringIO((rendered / "outcomes.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0][6] == "放置（9日以上回答なし）"
    assert rows[1] == ["長岡技術科学大学", "大学", "4", "1", "1", "1", "1", "2", "0"]
    assert rows[2][0] == "'" + HOSTILE  # neutralised, as every cell
    sheet = load_workbook(rendered / "report.xlsx")[TITLE]
    assert [c.value for c in sheet[3]] == ["'" + HOSTILE, "研究者", 1, 0, 0, 0, 1, 0, 3]
    summary = (rendered / "summary.csv").read_text(encoding="utf-8-sig")
    assert f"{TITLE},2 件の連携先" in summary and "9日を過ぎても承諾・辞退の回答がない紹介依頼" in summary
    assert "中部のもの" in summary


def test_the_html_shows_the_section_escaped(rendered):
    html = (rendered / "report.html").read_text(encoding="utf-8")
    assert f'<h2 id="outcomes">{TITLE}</h2>' in html and "<th>放置（9日以上回答なし）</th>" in html
    assert "9日を過ぎても承諾・辞退の回答がない紹介依頼" in html and "まだありません" not in html
    assert "<b>大学</b>" not in html and "&lt;b&gt;大学&lt;/b&gt;" in html


def test_nothing_counted_says_so_in_every_file(tmp_path):
    from openpyxl import load_workbook

    render_report(_with_outcomes([], region=None), tmp_path, ["csv", "xlsx", "html"])
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f'<h2 id="outcomes">{TITLE}</h2>' in html and "<p>まだありません。</p>" in html
    assert "このレポートのニーズについて" in html  # every region's
    assert list(csv.reader(io.StringIO((tmp_path / "outcomes.csv").read_text(encoding="utf-8-sig"))))[1][0] == \
        "まだありません。"
    assert load_workbook(tmp_path / "report.xlsx")[TITLE]["A2"].value == "まだありません。"


def test_the_pdf_has_the_section(tmp_path):
    pytest.importorskip("weasyprint")
    from pypdf import PdfReader

    [pdf] = render_report(_with_outcomes(ROWS), tmp_path, ["pdf"]).files
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert TITLE in text and "長岡技術科学大学" in text and "放置" in text


def test_a_report_of_the_engine_alone_has_no_outcomes_and_no_section(golden_engine, tmp_path):
    from openpyxl import load_workbook

    report = compute_report(golden_engine, ReportScope(regions=("中部",)))
    assert report.outcomes == [] and report.outcomes_scope is None
    data = report.to_dict()
    assert data["outcomes"] == [] and data["outcomes_scope"] is None
    files = {p.name for p in render_report(report, tmp_path, ["csv", "xlsx", "html"]).files}
    assert "outcomes.csv" not in files and "needs.csv" in files
    assert TITLE not in load_workbook(tmp_path / "report.xlsx").sheetnames
    assert TITLE not in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert TITLE not in (tmp_path / "summary.csv").read_text(encoding="utf-8-sig")
