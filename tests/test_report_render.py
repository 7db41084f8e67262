"""Report rendering: formula injection, cp932, XLSX, self-contained HTML (opened in headless Chromium), PDF, CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from matcher.market_areas import market_area_names
from matcher.regions import default_prefectures
from matcher.report_render import parse_formats, render_report
from matcher.report_render.csv_out import REPLACEMENT, encode_cp932, table_to_csv_text, write_csv_tables
from matcher.report_render.neutralise import needs_neutralising, neutralise
from matcher.reports import NeedReport, PartnerScore, ReportOptions, summarise

from .conftest import ROOT

ARTIFACTS = ROOT / "var" / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.parametrize("text", ["=1+2", "+81-3", "-2+3", "@SUM(A1)", "\tx", "\rx", "＝ＨＹＰＥＲＬＩＮＫ(\"http://x\")",
                                  "＋１", "－１", "＠ＳＵＭ", "  =1", "\u3000＝1", "−5",
                                  "\n=1", "\r\n@SUM(A1)", " \n-1"])  # a leading newline (issue 14, item 7)
def test_cells_that_spreadsheets_would_run_are_neutralised(text):
    assert needs_neutralising(text)
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["北海道大学", "1+1", "a=b", "", "'=already", -0.5, 3, None, "メール@大学"])
def test_ordinary_cells_are_left_alone(value):
    assert neutralise(value) == value


def test_csv_neutralises_and_keeps_numbers():
    text = table_to_csv_text(["タイトル", "スコア"], [["=HYPERLINK(\"http://evil\")", -0.25], ["＠cmd", 0.5]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["'=HYPERLINK(\"http://evil\")", "-0.25"]
    assert rows[2] == ["'＠cmd", "0.5"]


def test_cp932_replaces_what_it_cannot_hold_and_counts(tmp_path):
    data, replaced = encode_cp932("𠮷野家と髙橋さん①😀")
    # 𠮷 (outside JIS X 0208) and the emoji are replaced; 髙 and ① are in cp932 (NEC/IBM extensions)
    assert replaced == 2
    assert data.decode("cp932") == f"{REPLACEMENT}野家と髙橋さん①{REPLACEMENT}"
    files, count = write_csv_tables({"t": (["名前"], [["𠮷田"], ["=1"]])}, tmp_path, encoding="cp932")
    assert count == 1
    assert files[0].read_bytes().decode("cp932").splitlines() == ["名前", "〓田", "'=1"]


def test_csv_default_is_utf8_with_bom(tmp_path):
    files, count = write_csv_tables({"t": (["名前"], [["𠮷田"]])}, tmp_path)
    raw = files[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and count == 0
    assert raw.decode("utf-8-sig").splitlines()[1] == "𠮷田"


def test_formats_are_checked():
    assert parse_formats("html, CSV,html") == ["html", "csv"]
    with pytest.raises(Exception, match="出力形式"):
        parse_formats("docx")


# ---- a report with hostile text, built from a given score table ---------------
EVIL_TITLE = '=cmd|" /C calc"!A0 <script>alert(1)</script> 𠮷'


def _report():
    def partner(name, code, region, score, need_region):
        return PartnerScore(name, code, region, score, 0.9, 1, region != need_region)

    needs = []
    rows = [(1, EVIL_TITLE, "01", "北海道", [("＝悪い大学", "40", "九州", 0.8), ("北海道大学", "01", "北海道", 0.5)]),
            (2, "地熱発電", "04", "東北", [("東北大学", "04", "東北", 0.7)]),
            (3, "カキの養殖", "34", "中国", [("広島大学", "34", "中国", 0.6), ("九州大学", "40", "九州", 0.55)]),
            (4, "写本の修復", "26", "近畿", [("九州大学", "40", "九州", 0.2)])]
    prefs = default_prefectures()
    for need_id, title, code, region, partners in rows:
        ps = [partner(n, c, r, s, region) for n, c, r, s in partners]
        local = next((p for p in ps if p.region == region), None)
        needs.append(NeedReport(need_id, title, code, prefs.get(code).name, region, ("M3",) if need_id < 3 else (),
                                "＋投稿者", ps, local, ps[0].score - (local.score if local else 0.0),
                                0.7 if need_id == 4 else 0.9, need_id == 4))
    unis = [("＝悪い大学", "40", "九州"), ("北海道大学", "01", "北海道"), ("東北大学", "04", "東北"),
            ("広島大学", "34", "中国"), ("九州大学", "40", "九州")]
    seeds = {"＝悪い大学": 1, "北海道大学": 10, "東北大学": 10, "広島大学": 10, "九州大学": 9}
    report = summarise(needs, unis, ReportOptions(flow_partners=2), prefs, market_area_names(),
                       seeds_per_university=seeds)
    report.meta.scope = "テスト"
    report.meta.notes = ["テスト用の表"]
    return report


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = render_report(_report(), out, ["json", "csv", "xlsx", "html"])
    return out, result


def test_every_table_is_written_and_neutralised(rendered):
    out, result = rendered
    names = {p.name for p in result.files}
    assert {"report.json", "report.xlsx", "report.html", "needs.csv", "flow_counts.csv", "by_region.csv",
            "by_market_area.csv", "by_prefecture.csv", "universities.csv", "summary.csv", "concentration.csv"} <= names
    needs = list(csv.reader(io.StringIO((out / "needs.csv").read_text(encoding="utf-8-sig"))))
    assert needs[1][1] == "'" + EVIL_TITLE and needs[1][6] == "'＝悪い大学" and needs[1][5] == "'＋投稿者"
    flow = list(csv.reader(io.StringIO((out / "flow_counts.csv").read_text(encoding="utf-8-sig"))))
    assert flow[1][:2] == ["北海道", "1"] and flow[1][8] == "1"  # 北海道 → 北海道 1, → 九州 1
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["silo"]["crossing"] == 2 and data["needs"][0]["title"] == EVIL_TITLE  # JSON keeps the raw text
    rows = list(csv.reader(io.StringIO((out / "concentration.csv").read_text(encoding="utf-8-sig"))))[1:]
    # ＝悪い大学 is best for 1 of 4 needs (25%) with 1 of 40 seeds (2.5%): flagged, and neutralised as a cell
    evil = next(r for r in rows if r[0] == "'＝悪い大学")
    assert evil[1:3] == ["1", "0.25"] and evil[-1] == "はい"
    assert [r[-1] for r in rows].count("はい") == 1  # the others: 25% of places with 22.5–25% of seeds
    assert sum(c["over_share"] for c in data["concentration"]) == 1


def test_xlsx_has_one_sheet_per_table_and_no_formula(rendered):
    from openpyxl import load_workbook

    out, _ = rendered
    wb = load_workbook(out / "report.xlsx")
    sheets = {"概要", "ニーズ別", "地域間の流れ（件数）", "地域別", "市場領域別", "都道府県別", "大学別",
              "最良の連携先の集中"}
    assert sheets <= set(wb.sheetnames)
    ws = wb["ニーズ別"]
    assert ws.cell(row=2, column=2).value == "'" + EVIL_TITLE
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)


def test_html_is_self_contained_and_escaped(rendered):
    out, _ = rendered
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<script" not in html.lower()
    bare = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for needle in ("http://", "https://", "<link", "@import", "url(", "src="):
        assert needle not in bare, needle
    assert "Noto Sans CJK JP" in html
    assert html.count("<svg") == 6  # map, 3 heatmaps, 2 bar charts
    assert 'data-code="47"' in html and "タイルグリッド地図" in html
    assert "最良の連携先となった割合" in html and "シーズの割合" in html and "シーズの割合の2倍超" in html


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (scripts/system-deps.sh)")
def test_html_report_renders_in_headless_chromium(rendered):
    playwright = pytest.importorskip("playwright.sync_api")
    out, _ = rendered
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                          "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri())
            assert page.locator("svg.map g.tile").count() == 47
            assert page.locator("svg.heatmap").count() == 3 and page.locator("svg.bars").count() == 2
            box = page.locator("svg.map").bounding_box()
            assert box and box["width"] > 300 and box["height"] > 300
            # the Japanese font is the one the page asks for
            family = page.evaluate("getComputedStyle(document.body).fontFamily")
            assert "Noto Sans CJK JP" in family
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
            assert requests == [(out / "report.html").as_uri()]  # nothing else fetched
        finally:
            browser.close()
    assert (ARTIFACTS / "report.png").stat().st_size > 20_000


def test_pdf_is_written_with_the_japanese_font(tmp_path):
    pytest.importorskip("weasyprint")
    result = render_report(_report(), tmp_path, ["pdf"])
    pdf = result.files[0].read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    assert b"NotoSansCJK" in _inflated(pdf)  # the font is embedded (subset), so the Japanese text renders


def _inflated(pdf: bytes) -> bytes:
    """The PDF with every Flate stream decompressed (font names may sit in compressed object streams)."""
    import re
    import zlib

    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            parts.append(zlib.decompressobj().decompress(pdf[match.end():match.end() + 2_000_000]))
        except zlib.error:
            continue
    return b"".join(parts)


def test_cli_report_writes_the_files(tmp_path, model_dir):
    from typer.testing import CliRunner

    from matcher.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "report", "--out", str(out), "--format", "csv,json,html", "--region", "北海道", "--region", "東北",
        "--csv-encoding", "cp932", "--cap", "1", "--model-dir", str(model_dir), "--index-dir", str(tmp_path / "index"),
        "--corpus-dir", str(ROOT / "tests" / "data" / "reports"), "--threads", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [n["need_id"] for n in data["needs"]] == [101, 102, 103, 104]
    assert data["silo"]["crossing"] == 2
    (out / "needs.csv").read_bytes().decode("cp932")  # valid cp932
    bad = CliRunner().invoke(app, ["report", "--format", "docx", "--out", str(out)])
    assert bad.exit_code == 2 and "出力形式" in bad.output
