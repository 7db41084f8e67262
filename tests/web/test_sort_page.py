"""The results page's sort (総合 / 内容重視) and the two signals on every partner card (issue 17)."""

from __future__ import annotations

import re

from .conftest import sign_in


def cards(html: str) -> list[str]:
    ranked = html.split('class="best-local"')[0]
    return ranked.split('<article class="partner"')[1:]


def test_the_filter_form_offers_both_sorts_and_every_card_shows_both_signals(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    page = page_client.get("/needs/901")
    assert page.status_code == 200
    select = re.search(r'<select id="f-sort" name="sort"[^>]*>(.*?)</select>', page.text, re.S)
    assert select, "no sort select in the filter form"
    assert re.findall(r'<option value="(\w+)"', select.group(1)) == ["overall", "content"]
    assert ">総合<" in select.group(1) and ">内容重視<" in select.group(1)
    assert "並べ替え: 総合" in page.text
    found = cards(page.text)
    assert found
    for card in found:
        assert "内容の近さ:" in card and re.search(r"最も近いシーズの内容の近さ 0\.\d\d", card)
        assert re.search(r"実績・体制:</span> <span class=\"track-record-text\">登録シーズ [\d,]+件", card)


def test_the_content_sort_is_chosen_from_the_address_and_kept_in_the_fragments(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    page = page_client.get("/needs/901?sort=content")
    assert page.status_code == 200
    assert '<option value="content" selected>内容重視</option>' in page.text
    assert "並べ替え: 内容重視" in page.text and "最も近いシーズ1件のスコア" in page.text
    fragment = page_client.get("/needs/901/results?sort=content&level=researcher", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["HX-Push-Url"] == "/needs/901?scope=all&level=researcher&sort=content"
    assert "この研究者の登録シーズ" in fragment.text
    bad = page_client.get("/needs/901?sort=size")
    assert bad.status_code == 422 and "絞り込みの条件に誤りがあります" in bad.text


def test_the_help_page_explains_the_sort_and_the_two_signals(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    help_page = page_client.get("/help/scores")
    assert help_page.status_code == 200
    assert 'id="sort"' in help_page.text and "実績・体制" in help_page.text and "内容重視" in help_page.text


def test_in_the_browser_the_sort_reorders_the_list_without_reload(page, live_server):
    from .conftest import browser_sign_in, shot
    from .test_browser import post_need_via_api

    need_id = post_need_via_api(live_server)
    browser_sign_in(page, live_server, live_server.actors.poster)
    page.goto(f"{live_server.url}/needs/{need_id}")
    page.locator(".summary", has_text="並べ替え: 総合").wait_for()
    page.evaluate("window.__no_reload = 'still here'")
    with page.expect_response(re.compile(rf"/needs/{need_id}/results\?")):
        page.get_by_label("並べ替え").select_option("content")
    page.locator(".summary", has_text="並べ替え: 内容重視").wait_for()
    assert page.evaluate("window.__no_reload") == "still here"  # htmx swapped the list; no page load
    assert "sort=content" in page.url
    first = page.locator(".ranked .partner").first
    assert "内容の近さ:" in first.inner_text() and "実績・体制:" in first.inner_text()
    shot(page, "17-need-results-content-sort")
