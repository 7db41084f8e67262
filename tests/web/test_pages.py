"""Fast checks of the page routes with TestClient: sign-in, authorisation, CSRF, escaping, no-JS filters."""

from __future__ import annotations

import re

from api.web.highlight import highlight

from .conftest import csrf_of, sign_in, token_of


def test_home_is_japanese_and_public(page_client):
    response = page_client.get("/")
    assert response.status_code == 200
    assert '<html lang="ja">' in response.text
    assert "地域ごとの登録数" in response.text
    assert page_client.get("/static/htmx.min.js").status_code == 200


def test_pages_need_sign_in(page_client):
    page_client.cookies.clear()
    response = page_client.get("/needs/new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/needs/new"


def test_signin_cookie_and_bad_token(page_client, page_actors):
    page_client.cookies.clear()
    csrf = csrf_of(page_client.get("/signin").text)
    bad = page_client.post("/signin", data={"csrf": csrf, "token": "mt_wrong"})
    assert bad.status_code == 401 and "このAPIトークンではログインできません" in bad.text
    good = page_client.post("/signin", data={"csrf": csrf, "token": token_of(page_actors.poster),
                                             "next": "//evil.example"}, follow_redirects=False)
    assert good.status_code == 303 and good.headers["location"] == "/"
    cookie = good.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert token_of(page_actors.poster) not in cookie or "." in cookie  # signed value


def test_forged_cookie_is_anonymous(page_client):
    page_client.cookies.clear()
    page_client.cookies.set("mt_session", "eyJuIjogIngiLCAidCI6ICJ4In0=.deadbeef")
    assert page_client.get("/needs", follow_redirects=False).status_code == 303


def test_csrf_is_required(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    data = {"title": "t", "description": "d", "prefecture_code": "15"}
    for bad in ({}, {"csrf": "0" * 64}):
        response = page_client.post("/needs/new", data={**data, **bad})
        assert response.status_code == 403
        assert "もう一度送信してください" in response.text
    other = page_client.post("/signout", data={"csrf": "nope"})
    assert other.status_code == 403
    assert page_client.get("/needs").status_code == 200  # still signed in
    assert csrf


def test_roles_and_object_rules_match_the_api(page_client, page_actors):
    sign_in(page_client, page_actors.researcher)
    response = page_client.get("/needs/new")
    assert response.status_code == 403 and "ニーズ投稿者" in response.text
    # seeds 5 and 6 belong to the other researcher: not editable
    edit = page_client.get("/seeds/5/edit")
    assert edit.status_code == 403 and "研究者本人と管理者だけ" in edit.text
    csrf = csrf_of(page_client.get("/my/seeds").text)
    assert page_client.post("/seeds/5/withdraw", data={"csrf": csrf}).status_code == 403
    # confidential need 905 of another poster: missing, not forbidden
    missing = page_client.get("/needs/905")
    assert missing.status_code == 404 and "見つかりません" in missing.text
    assert page_client.get("/coordinator").status_code == 403
    sign_in(page_client, page_actors.coordinator)
    assert page_client.get("/coordinator").status_code == 200
    assert page_client.get("/needs/905").status_code == 200


def test_user_text_is_escaped(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    evil = "<script>alert(1)</script>稲わら"
    response = page_client.post("/needs/new", data={
        "csrf": csrf, "title": evil, "description": "もみ殻を<img src=x onerror=alert(2)>燃やしたい",
        "prefecture_code": "15", "visibility": "public"})
    assert response.status_code == 200, response.text
    assert "<script>alert(1)" not in response.text and "<img src=x" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    # an invalid form re-renders the typed text escaped too
    again = page_client.post("/needs/new", data={"csrf": csrf, "title": evil, "description": ""})
    assert again.status_code == 422
    assert "<script>alert(1)" not in again.text and "&lt;script&gt;" in again.text


def test_highlight_escapes_and_marks():
    spans = [{"start": 3, "end": 6}, {"start": 4, "end": 5}, {"start": 0, "end": 99}]
    assert str(highlight("<a>稲わら&", spans)) == "&lt;a&gt;<mark>稲わら</mark>&amp;"


def test_filters_work_without_javascript(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    full = page_client.get("/needs/901?scope=cross-region")
    assert full.status_code == 200
    flags = re.findall(r'data-cross-region="(\w+)"', full.text.split('class="best-local"')[0])
    assert flags and set(flags) == {"yes"}
    fragment = page_client.get("/needs/901/results?scope=cross-region&level=researcher", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["HX-Push-Url"] == "/needs/901?scope=cross-region&level=researcher"
    bad = page_client.get("/needs/901?scope=everywhere")
    assert bad.status_code == 422 and "絞り込みの条件に誤りがあります" in bad.text
    market = page_client.get("/needs/901?market_area=M4&region=中部")
    assert market.status_code == 200


def test_seed_edit_validation_keeps_input(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.researcher)
    typed = "とても長い題" * 50  # 300 characters: over the 200 limit of SeedUpdate
    response = page_client.post("/seeds/1/edit", data={"csrf": csrf, "title": typed, "summary": "概要はそのまま残る",
                                                      "keywords": "稲わら、もみ殻", "visibility": "public"})
    assert response.status_code == 422
    assert "200文字以内で入力してください" in response.text
    assert typed in response.text and "概要はそのまま残る" in response.text and "稲わら、もみ殻" in response.text


def test_researcher_creates_edits_and_withdraws_a_seed(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.researcher)
    created = page_client.post("/seeds/new", data={
        "csrf": csrf, "title": "もみ殻灰の土壌改良材への利用",
        "summary": "もみ殻を燃やした灰を田んぼの土壌改良に使う。", "keywords": "もみ殻, 土壌改良",
        "market_areas": ["M3", "M4"], "readiness": "応用研究", "visibility": "public"},
        follow_redirects=False)
    assert created.status_code == 303, created.text
    url = created.headers["location"].split("?")[0]
    seed_id = int(url.rsplit("/", 1)[1])
    detail = page_client.get(url)
    assert "このシーズに合うニーズ" in detail.text and "稲わらともみ殻をエネルギーに" in detail.text
    assert "もみ殻灰の土壌改良材への利用" in page_client.get("/my/seeds").text
    edited = page_client.post(f"/seeds/{seed_id}/edit", data={
        "csrf": csrf, "title": "もみ殻灰の土壌改良材", "summary": "", "keywords": "", "readiness": "",
        "visibility": "registered"}, follow_redirects=False)
    assert edited.status_code == 303
    api = page_client.get(f"/api/v1/seeds/{seed_id}", headers=page_actors.researcher).json()
    assert api["title"] == "もみ殻灰の土壌改良材" and api["readiness"] is None and api["visibility"] == "registered"
    withdrawn = page_client.post(f"/seeds/{seed_id}/withdraw", data={"csrf": csrf})
    assert withdrawn.status_code == 200 and "取り下げました" in withdrawn.text
    assert page_client.get(f"/api/v1/seeds/{seed_id}", headers=page_actors.researcher).json()["status"] == "withdrawn"


def test_sign_out_ends_the_session(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    response = page_client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert page_client.get("/needs", follow_redirects=False).status_code == 303
    # the old CSRF token belonged to the old session
    assert page_client.post("/needs/new", data={"csrf": csrf}, follow_redirects=False).status_code in (303, 403)


def test_expired_session_in_an_htmx_request_redirects_the_whole_page(page_client):
    page_client.cookies.clear()
    response = page_client.get("/needs/901/results?scope=all", follow_redirects=False, headers={
        "HX-Request": "true", "HX-Current-URL": "http://testserver/needs/901?scope=in-region"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/signin?next=/needs/901%3Fscope%3Din-region"


def test_errors_in_htmx_requests_are_fragments(page_client, page_actors):
    sign_in(page_client, page_actors.other_researcher)
    response = page_client.get("/needs/905/results", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.text and "見つかりません" in response.text


def test_unknown_page_and_oversized_form_get_japanese_html(page_client):
    missing = page_client.get("/no-such-page", headers={"accept": "text/html"})
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "見つかりません" in missing.text
    api_missing = page_client.get("/api/v1/no-such-thing", headers={"accept": "text/html"})
    assert api_missing.headers["content-type"].startswith("application/json")
    big = page_client.post("/needs/new", content=b"x" * 300_000,
                          headers={"accept": "text/html", "content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413 and "大きすぎます" in big.text and "text/html" in big.headers["content-type"]
