"""Issue 15, posters' workflows in Chromium: edit, withdraw and re-open a need (with the character counter), search
and page the list of needs, and download one need's partners."""

from __future__ import annotations

import csv
import re
import uuid
from datetime import datetime, timedelta, timezone

import httpx

from .conftest import browser_sign_in, shot

RICE = "市内の水田から出る稲わらともみ殻の処分に困っている。ガス化して農業用ハウスの熱源にしたい。"


def post_need(live, title: str, description: str = RICE, prefecture: str = "15") -> int:
    response = httpx.post(live.url + "/api/v1/needs", headers=live.actors.poster, timeout=120,
                          json={"title": title, "description": description, "prefecture_code": prefecture})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def partner_names(page) -> list[tuple[int, str]]:
    """(rank, name) of each ranked card: the name is the heading's text after its rank badge."""
    return [(int(rank), name.strip()) for rank, name in page.locator(".ranked .partner-name").evaluate_all(
        "els => els.map(e => [e.querySelector('.rank').textContent, e.childNodes[1].textContent])")]


def test_poster_edits_withdraws_and_reopens_a_need(page, live_server):
    mark = uuid.uuid4().hex[:6]
    need_id = post_need(live_server, f"編集する前のニーズ {mark}")
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before a withdrawal
    browser_sign_in(page, live_server, live_server.actors.poster)
    page.get_by_role("link", name="ニーズ一覧").first.click()
    mine = page.locator("#my-needs li", has_text=mark)
    assert mine.count() == 1
    shot(page, "poster-01-my-needs-first")
    mine.get_by_role("link", name="編集する", exact=True).click()
    page.wait_for_url(f"{live_server.url}/needs/{need_id}/edit")

    counter = page.locator("#description-count")
    assert counter.inner_text() == f"{len(RICE)} / 10,000 文字"
    page.get_by_label("内容").fill("稲わら😀\n改行")  # counted as the server counts: code points, a break as one
    assert counter.inner_text() == "7 / 10,000 文字"
    page.get_by_label("内容").fill("あ" * 9_500)
    assert "残り 500 文字" in counter.inner_text() and "warn" in counter.get_attribute("class")
    page.get_by_label("内容").fill("あ" * 10_001)  # the browser keeps all of it: nothing is cut
    assert page.get_by_label("内容").input_value() == "あ" * 10_001
    assert "上限を 1 文字超えています" in counter.inner_text() and "over" in counter.get_attribute("class")
    live = page.locator("#description-count + [aria-live]")  # a screen reader hears the crossing, not each key
    assert "上限を 1 文字超えています" in live.text_content()
    assert page.get_by_label("内容").get_attribute("aria-invalid") == "true"
    shot(page, "poster-02-counter-over")
    page.get_by_role("button", name="保存する").click()
    assert page.locator(".field-error", has_text="10000文字以内で入力してください。").count() == 1
    assert page.get_by_label("内容").input_value() == "あ" * 10_001  # kept as typed

    page.get_by_label("タイトル").fill(f"編集した後のニーズ {mark}")
    page.get_by_label("内容").fill(RICE + "冬の燃料費を半分にしたい。")
    page.get_by_label("希望する連携の形（任意）").select_option("共同研究")
    page.get_by_role("button", name="保存する").click()
    page.wait_for_url(f"{live_server.url}/needs/{need_id}?saved=1")
    assert page.locator(".alert.success").inner_text() == "ニーズを保存しました。連携先の候補は次のとおりです。"
    assert page.locator("h1").inner_text() == f"編集した後のニーズ {mark}"
    assert "冬の燃料費を半分にしたい" in page.locator("#need-text").inner_text()
    shot(page, "poster-03-need-saved")

    page.locator("#need-actions").get_by_role("button", name="取り下げる").click()
    page.wait_for_url(f"{live_server.url}/needs/{need_id}?saved=withdrawn")
    assert "取り下げ済み" in page.locator(".meta").first.inner_text()
    assert page.locator("#need-actions").get_by_role("link", name="編集する", exact=True).count() == 0
    shot(page, "poster-04-need-withdrawn")
    page.locator("#need-actions").get_by_role("button", name="再開する").click()
    page.wait_for_url(f"{live_server.url}/needs/{need_id}?saved=reopened")
    assert page.locator(".alert.success").inner_text().startswith("ニーズを再開しました")
    assert page.locator("#need-actions").get_by_role("link", name="編集する", exact=True).count() == 1
    shot(page, "poster-05-need-reopened")


def test_the_needs_list_searches_filters_and_pages(page, live_server):
    mark = "探索" + uuid.uuid4().hex[:6]
    for i in range(23):
        post_need(live_server, f"一覧の試験 {mark} {i:02d}")
    post_need(live_server, f"広島のニーズ {mark}", prefecture="34")
    browser_sign_in(page, live_server, live_server.actors.poster)
    page.goto(live_server.url + "/needs")
    page.get_by_label("キーワード").fill(mark)
    page.get_by_label("都道府県").select_option("15")
    page.get_by_label("投稿者の種類").select_option("municipality")
    page.get_by_role("button", name="検索する").click()
    page.wait_for_url(re.compile(r"/needs\?q="))
    assert page.locator("#needs-summary").inner_text() == "条件に合うニーズ 23件（新しい順・1/2ページ）"
    found = page.locator("#needs-found li h3").all_inner_texts()
    assert found == [f"一覧の試験 {mark} {i:02d}" for i in range(22, 2, -1)]
    assert page.get_by_label("キーワード").input_value() == mark  # the form keeps the search
    shot(page, "poster-06-needs-search")
    page.get_by_role("navigation", name="ニーズ一覧のページ").get_by_role("link", name="次へ").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert page.locator("#needs-found li h3").all_inner_texts() == [f"一覧の試験 {mark} {i:02d}" for i in (2, 1, 0)]
    shot(page, "poster-07-needs-page-2")
    page.get_by_label("都道府県").select_option("")
    page.get_by_label("地域").select_option("中国")
    page.get_by_label("投稿者の種類").select_option("")
    page.get_by_role("button", name="検索する").click()
    page.wait_for_url(re.compile(r"region="))
    assert page.locator("#needs-found li h3").all_inner_texts() == [f"広島のニーズ {mark}"]
    page.get_by_label("投稿日（から）").fill("2026-03-02")
    page.get_by_label("投稿日（まで）").fill("2026-03-01")
    page.get_by_role("button", name="検索する").click()
    assert page.locator("#error-summary").count() == 1
    assert "始まりと同じ日かそれより後に" in page.locator("#error-summary").inner_text()
    shot(page, "poster-08-needs-search-error")


def test_the_partners_are_downloaded_as_the_page_lists_them(page, live_server, tmp_path):
    browser_sign_in(page, live_server, live_server.actors.poster)
    page.goto(f"{live_server.url}/needs/901?level=seed&count=20")
    names = partner_names(page)
    pager = page.get_by_role("navigation", name="連携先の候補のページ")
    with page.expect_response(re.compile(r"/needs/901/results\?.*page=2")):
        pager.get_by_role("link", name="2", exact=True).click()
    page.locator(".summary", has_text="2/2ページ").wait_for()
    assert "page=2" in page.url  # the address follows the page (htmx, no reload)
    names += partner_names(page)
    shot(page, "poster-09-results-page-2")
    with page.expect_download() as event:
        page.locator("#exports").get_by_role("link", name="CSV（BOM付き UTF-8）").click()
    download = event.value
    today = datetime.now(timezone(timedelta(hours=9))).date().isoformat()
    assert download.suggested_filename == f"ニーズ901_候補_{today}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with open(saved, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[1:]
    assert [(int(r[0]), r[1]) for r in rows] == names
    with page.expect_download() as event:
        page.locator("#exports").get_by_role("link", name="Excel（XLSX）").click()
    assert event.value.suggested_filename == f"ニーズ901_候補_{today}.xlsx"


def test_the_prefecture_filter_narrows_the_page_and_its_download(page, live_server, tmp_path):
    browser_sign_in(page, live_server, live_server.actors.poster)
    page.goto(f"{live_server.url}/needs/901?level=seed&count=50")
    with page.expect_response(re.compile(r"/needs/901/results\?.*prefecture=15")):
        page.get_by_label("都道府県").select_option("15")
    page.locator(".summary", has_text="都道府県: 新潟県").wait_for()
    wheres = page.locator(".ranked .partner .where").all_inner_texts()
    assert wheres and all(w.strip().startswith("新潟県") for w in wheres)
    assert "prefecture=15" in page.url
    shot(page, "poster-10-results-prefecture")
    with page.expect_download() as event:
        page.locator("#exports").get_by_role("link", name="CSV（BOM付き UTF-8）").click()
    saved = tmp_path / "niigata.csv"
    event.value.save_as(saved)
    with open(saved, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[1:]
    shown = partner_names(page)  # the first page of them (10 a page)
    assert [(int(r[0]), r[1]) for r in rows[:len(shown)]] == shown
    assert f"連携先の候補 {len(rows)}件" in page.locator(".summary").inner_text()
    assert {r[3] for r in rows} == {"新潟県"}
