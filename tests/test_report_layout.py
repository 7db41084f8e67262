"""The report files as people read them (issue 15, the report page): titles on the heatmaps and the map, one way
of writing the unmet threshold, times in Japan time, and PDF tables that repeat their header on every page
with page 1 carrying the figures and the map."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from matcher.jst import as_jst, jst_day, jst_text, now_jst_iso
from matcher.report_render import render_report
from matcher.report_render.japan_map import choropleth_svg
from matcher.report_render.svg import heatmap_svg
from matcher.reports import threshold_text, unmet_rule

from .report_samples import big_report

CHART_TITLE = re.compile(r'<text class="chart-title"[^>]*>([^<]+)</text>')


def test_japan_time_is_written_one_way():
    assert jst_text("2026-12-03T12:05:00+00:00") == "2026年12月3日 21:05（日本時間）"
    assert jst_text("2026-12-03T12:05:00") == "2026年12月3日 21:05（日本時間）"  # naive means UTC (SQLite)
    assert jst_text("2026-12-03T16:00:00+00:00") == "2026年12月4日 01:00（日本時間）"  # the next day in Japan
    assert jst_day("2026-12-03T16:00:00+00:00") == "2026-12-04" and jst_text(None) == ""
    assert now_jst_iso().endswith("+09:00") and as_jst(now_jst_iso()).utcoffset().total_seconds() == 9 * 3600


@pytest.mark.parametrize(("value", "text"), [(0.875, "0.875"), (0.8, "0.80"), (0.85, "0.85"), (1.0, "1.00"),
                                             (0.8754, "0.8754"), (0.0, "0.00")])
def test_the_threshold_keeps_its_digits(value, text):
    assert threshold_text(value) == text
    assert unmet_rule(value) == f"内容の近さ {text} 未満を未充足とする"


def test_heatmaps_and_the_map_draw_their_titles():
    heat = heatmap_svg(["北海道", "東北"], ["北海道", "東北"], [[1, 2], [0, 3]], "地域間の流れ（件数）")
    assert CHART_TITLE.findall(heat) == ["地域間の流れ（件数）"]
    long_title = "都道府県別: 最良の連携先が地域外にあるニーズの割合（とても長い題）"
    tiles = choropleth_svg({"01": 0.5}, {"01": "北海道"}, {"01": 2}, long_title, "割合")
    assert CHART_TITLE.findall(tiles) == [long_title]
    width = int(re.search(r'viewBox="0 0 (\d+) ', tiles).group(1))
    assert width >= 14 * len(long_title)  # wide enough for the title
    # the title is above the first tile and the column labels, not drawn over them
    first_tile_y = min(float(y) for y in re.findall(r'<rect x="[\d.]+" y="([\d.]+)" width="37"', tiles))
    assert first_tile_y > 20
    label_y = [float(y) for y in re.findall(r'<text x="[\d.]+" y="([\d.]+)" font-size="11"', heat)]
    assert min(label_y) > 20


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("layout")
    render_report(big_report(), out, ["html", "csv", "xlsx", "json", "pdf"])
    return out


def test_every_heatmap_in_the_html_report_has_a_visible_title(files):
    html = (files / "report.html").read_text(encoding="utf-8")
    titles = CHART_TITLE.findall(html)
    for expected in ("地域間の流れ（最良の連携先のみ、件数）", "地域間の流れ（各ニーズの上位2件、件数）",
                     "地域間の流れ（スコアの合計）", "都道府県別: 最良の連携先が地域外にあるニーズの割合"):
        assert expected in titles, (expected, titles)
    assert len(titles) == html.count("<svg")  # every chart, the bar charts too


def test_the_unmet_threshold_is_written_one_way_in_every_file(files):
    rule = "内容の近さ 0.875 未満を未充足とする"
    html = (files / "report.html").read_text(encoding="utf-8")
    assert html.count(rule) >= 2  # the figure card, the heading of the unmet needs
    for other in ("しきい値", "閾値", "0.88 未満", "近さが 0.875 未満"):
        assert other not in html, other
    summary = dict(csv.reader(io.StringIO((files / "summary.csv").read_text(encoding="utf-8-sig"))))
    assert summary["未充足"] == rule and not any("しきい値" in key for key in summary)
    from matcher.reports import ReportOptions, _notes  # the notes compute_report gives a report

    assert any(rule in note for note in _notes(ReportOptions()))
    assert any("0.80 未満を未充足とする" in note for note in _notes(ReportOptions(unmet_threshold=0.8)))


def test_times_are_japan_time_in_the_files(files):
    shown = "2026年12月3日 21:05（日本時間）"
    assert f"作成 {shown}" in (files / "report.html").read_text(encoding="utf-8")
    summary = dict(csv.reader(io.StringIO((files / "summary.csv").read_text(encoding="utf-8-sig"))))
    assert summary["作成日時"] == shown

    from openpyxl import load_workbook

    sheet = load_workbook(files / "report.xlsx")["概要"]
    assert {row[0]: row[1] for row in sheet.iter_rows(values_only=True)}["作成日時"] == shown
    # JSON stays machine-readable: ISO 8601 as the report was given it
    assert json.loads((files / "report.json").read_text(encoding="utf-8"))["meta"]["generated_at"] == \
        "2026-12-03T12:05:00+00:00"


def test_pdf_tables_repeat_their_header_and_page_one_is_full(files):
    pytest.importorskip("weasyprint")
    from pypdf import PdfReader

    pages = [" ".join(page.extract_text().split()) for page in PdfReader(files / "report.pdf").pages]
    needs_header = "IDタイトル都道府県最良の連携先スコア地域内の最良向上"  # without spaces: a cell may wrap
    with_rows = [i for i, text in enumerate(pages) if re.search(r"ニーズ\d+: 地域の資源", text)]
    needs_pages = [i for i in with_rows if i >= next(i for i, t in enumerate(pages) if "ニーズ別の連携先" in t)]
    assert len(needs_pages) >= 3, "the sample should run the needs table over several pages"
    for i in needs_pages:
        assert needs_header in pages[i].replace(" ", ""), f"page {i + 1} has rows of the needs table but not its header"
    # page 1: the title, the figures and the map, not a lone heading with the map pushed to page 2
    first = pages[0]
    assert "地域を越えた連携レポート" in first and "最良の連携先が地域外" in first
    assert "都道府県別: 最良の連携先が地域外にあるニーズの割合" in first and "沖縄" in first
    assert len(first) >= 400
