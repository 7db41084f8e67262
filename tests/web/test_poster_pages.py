"""Issue 15, posters' workflows on the pages (TestClient): editing, withdrawing and re-opening a need, 「自分のニーズ」
first, the list's search and paging, a need's results with a prefecture filter, more results with paging and
their export, the character limit, and re-activating a withdrawn seed."""

from __future__ import annotations

import csv
import io
import re
import uuid
from urllib.parse import quote

from .conftest import sign_in

RICE = "市内の水田から出る稲わらともみ殻の処分に困っている。ガス化して農業用ハウスの熱源にしたい。"


def post_need(client, csrf: str, title: str, description: str = RICE, prefecture: str = "15") -> int:
    response = client.post("/needs/new", data={"csrf": csrf, "title": title, "description": description,
                                               "prefecture_code": prefecture, "visibility": "public"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(re.search(r"/needs/(\d+)", response.headers["location"]).group(1))


def partner_names(html: str) -> list[str]:
    ranked = html.split('class="best-local"')[0]
    names = re.findall(r'<h3 class="partner-name">(?:<span class="rank">\d+</span>)?([^<]+)', ranked)
    return [n.strip() for n in names]


def ranks(html: str) -> list[int]:
    return [int(r) for r in re.findall(r'<span class="rank">(\d+)</span>', html.split('class="best-local"')[0])]


def test_poster_edits_withdraws_and_reopens_a_need(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    need_id = post_need(page_client, csrf, "編集前のタイトル")
    results = page_client.get(f"/needs/{need_id}").text
    assert f'href="/needs/{need_id}/edit"' in results and f'action="/needs/{need_id}/withdraw"' in results

    form = page_client.get(f"/needs/{need_id}/edit")
    assert form.status_code == 200 and "ニーズを編集する" in form.text
    assert 'value="編集前のタイトル"' in form.text and RICE in form.text
    assert '<option value="15" selected>新潟県</option>' in form.text

    empty = page_client.post(f"/needs/{need_id}/edit", data={"csrf": csrf, "title": "", "description": "残る本文",
                                                            "prefecture_code": "15"})
    assert empty.status_code == 422 and "入力してください。" in empty.text and "残る本文" in empty.text
    outside = page_client.post(f"/needs/{need_id}/edit", data={
        "csrf": csrf, "title": "t", "description": RICE, "prefecture_code": "34", "municipality_code": "帯広市"})
    assert outside.status_code == 422 and 'id="municipality_code-error"' in outside.text  # checked on the merged need
    assert 'value="編集前のタイトル"' in page_client.get(f"/needs/{need_id}/edit").text  # nothing was saved

    saved = page_client.post(f"/needs/{need_id}/edit", data={
        "csrf": csrf, "title": "編集後のタイトル", "description": RICE + "追記。", "prefecture_code": "15",
        "market_areas": ["M4"], "collaboration": "共同研究", "visibility": "confidential"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/needs/{need_id}?saved=1"
    shown = page_client.get(saved.headers["location"]).text
    assert "ニーズを保存しました" in shown and "編集後のタイトル" in shown and "希望: 共同研究" in shown
    assert "非公開" in shown

    withdrawn = page_client.post(f"/needs/{need_id}/withdraw", data={"csrf": csrf}, follow_redirects=False)
    assert withdrawn.headers["location"] == f"/needs/{need_id}?saved=withdrawn"
    page = page_client.get(withdrawn.headers["location"]).text
    assert "ニーズを取り下げました" in page and f'action="/needs/{need_id}/reopen"' in page
    assert f'href="/needs/{need_id}/edit"' not in page
    mine = page_client.get("/needs").text.split('id="search-title"')[0]
    assert "編集後のタイトル" in mine and "取り下げ済み" in mine and f'action="/needs/{need_id}/reopen"' in mine

    reopened = page_client.post(f"/needs/{need_id}/reopen", data={"csrf": csrf}, follow_redirects=False)
    assert reopened.headers["location"] == f"/needs/{need_id}?saved=reopened"
    assert "ニーズを再開しました" in page_client.get(reopened.headers["location"]).text
    twice = page_client.post(f"/needs/{need_id}/reopen", data={"csrf": csrf})
    assert twice.status_code == 409 and "再開する必要はありません" in twice.text


def test_only_the_poster_and_admins_may_edit(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    need_id = post_need(page_client, csrf, "他人は編集できない")
    other = sign_in(page_client, page_actors.other_poster)
    assert page_client.get(f"/needs/{need_id}/edit").status_code == 403
    assert f'href="/needs/{need_id}/edit"' not in page_client.get(f"/needs/{need_id}").text
    assert page_client.post(f"/needs/{need_id}/withdraw", data={"csrf": other}).status_code == 403
    sign_in(page_client, page_actors.admin)
    assert page_client.get(f"/needs/{need_id}/edit").status_code == 200


def test_my_needs_come_first_then_the_search(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    mark = "一覧印" + uuid.uuid4().hex[:6]
    need_id = post_need(page_client, csrf, f"自分のニーズ {mark}")
    html = page_client.get("/needs").text
    assert html.index("自分のニーズ") < html.index("ニーズを探す")
    mine = html.split('id="search-title"')[0]
    assert f"自分のニーズ {mark}" in mine and f'href="/needs/{need_id}/edit"' in mine
    sign_in(page_client, page_actors.coordinator)  # posts nothing: no section of its own
    assert 'id="mine-title"' not in page_client.get("/needs").text


def test_the_list_searches_filters_and_pages(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    mark = "頁印" + uuid.uuid4().hex[:6]
    made = [post_need(page_client, csrf, f"検索の試験 {mark} {i:02d}") for i in range(23)]
    first = page_client.get("/needs", params={"q": mark})
    assert first.status_code == 200
    found = first.text.split('id="needs-found"')[1]
    titles = re.findall(rf"検索の試験 {mark} (\d\d)", found)
    assert titles == [f"{i:02d}" for i in range(22, 2, -1)]  # newest first, 20 a page
    assert "条件に合うニーズ 23件（新しい順・1/2ページ）" in first.text
    assert f'href="/needs?q={quote(mark)}&amp;page=2"' in first.text
    past = page_client.get("/needs", params={"q": mark, "page": 3})
    assert past.status_code == 422 and "そのページはありません（1〜2ページ）。" in past.text
    second = page_client.get("/needs", params={"q": mark, "page": 2}).text.split('id="needs-found"')[1]
    assert re.findall(rf"検索の試験 {mark} (\d\d)", second) == ["02", "01", "00"]
    narrowed = page_client.get("/needs", params={"q": mark, "prefecture": "34"}).text
    assert "条件に合うニーズ 0件" in narrowed and "条件に合うニーズはありませんでした" in narrowed
    kind = page_client.get("/needs", params={"q": mark, "poster_kind": "municipality", "region": "中部"}).text
    assert "条件に合うニーズ 23件" in kind
    # above the search, the newest five of the poster's own; all of them are the search with mine=1
    assert len(re.findall(r'href="/needs/\d+/edit"', first.text.split('id="search-title"')[0])) == 5
    assert 'href="/needs?mine=1" id="all-mine"' in first.text
    own = page_client.get("/needs", params={"mine": "1", "q": mark, "page": 2}).text
    assert "自分のニーズのうち条件に合うニーズ 23件（新しい順・2/2ページ）" in own
    assert all(f'href="/needs/{i}/edit"' in own for i in made[:3])
    assert '<input type="hidden" name="mine" value="1">' in own and "page=1" in own
    sign_in(page_client, page_actors.other_poster)
    assert "自分のニーズのうち条件に合うニーズ 0件" in page_client.get("/needs", params={"mine": "1", "q": mark}).text


def test_bad_search_values_are_shown_in_japanese(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    bad = page_client.get("/needs", params={"prefecture": "火星", "posted_from": "2026-13-40", "page": "x"})
    assert bad.status_code == 422
    assert "都道府県: " in bad.text and "火星" in bad.text
    assert "投稿日（から）: 日付は 2026-04-01 の形で入力してください。" in bad.text
    assert "ページは 1 以上の整数で指定してください。" in bad.text
    assert 'value="2026-13-40"' in bad.text  # the typed value is kept
    backwards = page_client.get("/needs", params={"posted_from": "2026-03-02", "posted_to": "2026-03-01"})
    assert backwards.status_code == 422 and "始まりと同じ日かそれより後に" in backwards.text


def test_results_have_a_prefecture_filter_more_results_and_paging(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    first = page_client.get("/needs/901?level=seed&count=30")
    assert first.status_code == 200
    assert '<option value="30" selected>30件まで</option>' in first.text
    assert ranks(first.text) == list(range(1, 11))
    total = int(re.search(r"連携先の候補 (\d+)件", first.text).group(1))
    assert total > 10, "the golden corpus should give more than 10 seeds at 30"
    second = page_client.get("/needs/901/results?level=seed&count=30&page=2", headers={"HX-Request": "true"})
    assert second.status_code == 200
    assert second.headers["HX-Push-Url"] == "/needs/901?scope=all&level=seed&count=30&page=2"
    assert ranks(second.text) == list(range(11, min(total, 20) + 1))
    assert not set(partner_names(first.text)) & set(partner_names(second.text))
    beyond = page_client.get("/needs/901?level=seed&count=30&page=9")
    assert beyond.status_code == 422 and "そのページはありません" in beyond.text

    niigata = page_client.get("/needs/901?prefecture=15")
    assert niigata.status_code == 200 and "都道府県: 新潟県" in niigata.text
    wheres = re.findall(r'<span class="where">([^（<]+)', niigata.text.split('class="best-local"')[0])
    assert wheres and all(w.strip().startswith("新潟県") for w in wheres)
    assert page_client.get("/needs/901?prefecture=火星").status_code == 422
    assert page_client.get("/needs/901?count=51").status_code == 422


def test_the_export_holds_every_page_in_the_page_order(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    query = "level=seed&count=20&sort=content"
    pages = [page_client.get(f"/needs/901?{query}&page={number}") for number in (1, 2)]
    assert [p.status_code for p in pages] == [200, 200]
    shown = partner_names(pages[0].text) + partner_names(pages[1].text)
    assert len(shown) > 10
    href = "/needs/901/export?scope=all&amp;level=seed&amp;sort=content&amp;count=20&amp;format=csv"
    assert f'href="{href}"' in pages[0].text
    response = page_client.get(f"/needs/901/export?{query}&format=csv")
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    assert "filename*=UTF-8''%E3%83%8B%E3%83%BC%E3%82%BA901_" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    assert [r[1] for r in rows] == shown
    xlsx = page_client.get(f"/needs/901/export?{query}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert page_client.get("/needs/901/export?format=pdf").status_code == 422
    refused = page_client.get("/needs/901/export?format=csv&scope=everywhere")
    assert refused.status_code == 422 and "範囲" in refused.text


def test_the_text_fields_count_and_the_server_refuses_what_is_too_long(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    form = page_client.get("/needs/new").text
    assert 'data-max-chars="10000"' in form and 'id="description-count"' in form
    assert not re.search(r'<textarea[^>]*maxlength', form)  # the browser no longer cuts a paste
    assert '<script src="/static/counter.js" defer></script>' in form
    assert page_client.get("/static/counter.js").status_code == 200
    too_long = "あ" * 10_001
    refused = page_client.post("/needs/new", data={"csrf": csrf, "title": "長い", "description": too_long,
                                                   "prefecture_code": "15"})
    assert refused.status_code == 422 and "10000文字以内で入力してください。" in refused.text
    assert too_long in refused.text  # kept as typed, not cut
    # 10,000 characters with line breaks, which the browser sends as CRLF: one character each, as counted
    lines = "\r\n".join(["い" * 99] * 100) + "う"
    assert len(lines.replace("\r\n", "\n")) == 10_000
    assert post_need(page_client, csrf, "改行を含む上限", description=lines)
    sign_in(page_client, page_actors.researcher)
    seed_form = page_client.get("/seeds/new").text
    assert 'data-max-chars="10000"' in seed_form and 'id="summary-count"' in seed_form


def test_a_researcher_reactivates_a_withdrawn_seed(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.researcher)
    created = page_client.post("/seeds/new", data={"csrf": csrf, "title": "再開するシーズ", "summary": "雪室の冷気",
                                                   "visibility": "public"}, follow_redirects=False)
    seed_id = int(re.search(r"/seeds/(\d+)", created.headers["location"]).group(1))
    page_client.post(f"/seeds/{seed_id}/withdraw", data={"csrf": csrf})
    page = page_client.get(f"/seeds/{seed_id}").text
    assert f'action="/seeds/{seed_id}/reactivate"' in page and f'href="/seeds/{seed_id}/edit"' not in page
    assert page_client.post(f"/seeds/{seed_id}/reactivate", data={"csrf": "bad"}).status_code == 403
    back = page_client.post(f"/seeds/{seed_id}/reactivate", data={"csrf": csrf}, follow_redirects=False)
    assert back.headers["location"] == f"/seeds/{seed_id}?saved=reactivated"
    shown = page_client.get(back.headers["location"]).text
    assert "シーズを再開しました。照合の対象に戻りました。" in shown and f'href="/seeds/{seed_id}/edit"' in shown
    assert seed_id in page_client.app.state.service.engine.seeds
    assert page_client.post(f"/seeds/{seed_id}/reactivate", data={"csrf": csrf}).status_code == 409
    other = sign_in(page_client, page_actors.other_researcher)
    assert page_client.post(f"/seeds/{seed_id}/reactivate", data={"csrf": other}).status_code == 403
