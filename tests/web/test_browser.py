"""The pages in a real browser: Debian chromium driven by Playwright against a live server on 127.0.0.1."""

from __future__ import annotations

import re

import httpx

from .conftest import browser_sign_in, shot

NEED_TITLE = "稲わらともみ殻を熱源にしたい"
NEED_TEXT = "市内の水田から出る稲わらともみ殻の処分に困っている。ガス化して農業用ハウスの熱源にしたい。"


def post_need_via_api(live, title=NEED_TITLE, description=NEED_TEXT, prefecture="15") -> int:
    response = httpx.post(live.url + "/api/v1/needs", headers=live.actors.poster, timeout=120,
                          json={"title": title, "description": description, "prefecture_code": prefecture})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_home_in_japanese(page, live_server):
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "ja"
    rows = page.locator("table.counts tbody th").all_inner_texts()
    assert rows == ["北海道", "東北", "関東", "中部", "近畿", "中国", "四国", "九州"]
    assert int(page.locator("table.counts tfoot td").first.inner_text()) >= 12  # the golden seeds (and any added)
    page.keyboard.press("Tab")  # keyboard users land on the skip link first
    assert page.evaluate("document.activeElement.textContent") == "本文へ移動"
    shot(page, "01-home")
    page.goto(live_server.url + "/signin")
    shot(page, "02-signin")


def test_post_need_and_see_partners_with_highlights(page, live_server):
    browser_sign_in(page, live_server, live_server.actors.poster)
    page.get_by_role("link", name="ニーズを投稿").first.click()
    page.get_by_label("タイトル").fill(NEED_TITLE)
    page.get_by_label("内容").fill(NEED_TEXT)
    page.get_by_label("ニーズのある都道府県").select_option("15")
    page.get_by_label(re.compile("M4 ")).check()
    shot(page, "03-need-form")
    page.get_by_role("button", name="投稿して連携先を探す").click()
    page.wait_for_url(re.compile(r"/needs/\d+\?created=1$"))

    partners = page.locator(".ranked .partner")
    assert partners.count() >= 3
    assert "長岡技術科学大学" in partners.first.locator(".partner-name").inner_text()
    need_marks = page.locator("#need-text mark").all_inner_texts()
    assert "稲わら" in need_marks and "もみ殻" in need_marks
    seed_marks = partners.first.locator(".seed-text mark").all_inner_texts()
    assert "稲わら" in seed_marks
    assert partners.first.locator(".badge.same").count() == 1  # Niigata need, Niigata university
    assert "新潟県" in partners.first.locator(".where").inner_text()
    assert page.locator(".best-local .partner").count() == 1
    shot(page, "04-need-results")
    page.set_viewport_size({"width": 390, "height": 844})  # phone-sized
    shot(page, "05-need-results-phone", full_page=False)


def test_cross_region_filter_updates_list_without_reload(page, live_server):
    need_id = post_need_via_api(live_server)
    browser_sign_in(page, live_server, live_server.actors.poster)
    page.goto(f"{live_server.url}/needs/{need_id}")
    assert page.locator('.ranked .partner[data-cross-region="no"]').count() >= 1
    page.evaluate("window.__no_reload = 'still here'")
    with page.expect_response(re.compile(rf"/needs/{need_id}/results\?")):
        page.get_by_label("範囲").select_option("cross-region")
    page.locator(".summary", has_text="地域外のみ").wait_for()
    flags = page.locator(".ranked .partner").evaluate_all("els => els.map(e => e.dataset.crossRegion)")
    assert flags and set(flags) == {"yes"}
    assert page.evaluate("window.__no_reload") == "still here"  # htmx swapped the list; no page load
    assert "scope=cross-region" in page.url  # the address follows the filter
    shot(page, "06-need-results-cross-region")


def test_researcher_registers_seed_and_sees_it_in_a_needs_results(page, live_server):
    browser_sign_in(page, live_server, live_server.actors.researcher)  # 高田 誠, 長岡技術科学大学
    page.get_by_role("link", name="自分のシーズ").first.click()
    page.get_by_role("link", name="シーズを登録する").click()
    title = "町家の伝統構法に合わせた木造耐震補強の新工法"
    page.get_by_label("タイトル").fill(title)
    page.get_by_label("概要").fill("歴史的な町家を残しつつ地震に備えるため、伝統構法に合った補強方法を開発した。")
    page.get_by_label("キーワード").fill("町家、耐震、伝統構法")
    page.get_by_role("button", name="登録する").click()
    page.wait_for_url(re.compile(r"/seeds/\d+\?saved=1$"))
    assert page.locator("h1").inner_text() == title
    shot(page, "07-seed-detail")
    fits = page.locator("section", has_text="このシーズに合うニーズ")
    fits.get_by_role("link", name="古い町家の耐震化").click()
    page.wait_for_url(re.compile(r"/needs/903$"))
    seed_titles = page.locator(".ranked .seed h4").all_inner_texts()
    assert title in seed_titles
    shot(page, "08-need-results-with-new-seed")
    page.goto(live_server.url + "/my/seeds")
    assert title in page.locator(".cards").inner_text()
    shot(page, "09-my-seeds")


def test_failed_validation_keeps_what_was_typed(page, live_server):
    browser_sign_in(page, live_server, live_server.actors.poster)
    page.goto(live_server.url + "/needs/new")
    description = "海藻を陸上の水槽で育てたい。\n天候に左右されない生産にしたい。<b>太字ではない</b>"
    page.get_by_label("タイトル").fill("海藻の陸上養殖")
    page.get_by_label("内容").fill(description)
    page.get_by_label(re.compile("M3 ")).check()
    page.get_by_role("button", name="投稿して連携先を探す").click()  # no prefecture chosen
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert "都道府県を選んでください" in summary.inner_text()
    assert page.get_by_label("タイトル").input_value() == "海藻の陸上養殖"
    assert page.get_by_label("内容").input_value() == description
    assert page.get_by_label(re.compile("M3 ")).is_checked()
    assert page.locator("#prefecture_code").get_attribute("aria-invalid") == "true"
    assert page.locator("#prefecture_code-error").is_visible()
    shot(page, "10-need-form-errors")
