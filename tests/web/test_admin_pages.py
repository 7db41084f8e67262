"""Issue 15, the admin pages (TestClient): organisations (filters, paging, the form with its campus), accounts and
roles (created with their first token shown once, disabled and enabled), and tokens (issued, listed, revoked).
Only admins reach them; every form carries the CSRF token. A university's campus places its distances."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from matcher.places import default_places, distance_between

from .conftest import sign_in

API = "/api/v1"
TOKEN = re.compile(r'<code id="new-token">(mt_[^<]+)</code>')
ADMIN_PAGES = ("/admin/organisations", "/admin/accounts", "/admin/tokens")


def _org_form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf": csrf, "name": "", "kind": "university", "prefecture_code": "", "municipality_code": "",
            **fields}


def test_only_admins_reach_the_pages_and_the_header_links_them(page_client, page_actors):
    for role in ("poster", "researcher", "coordinator"):
        csrf = sign_in(page_client, getattr(page_actors, role))
        assert 'id="admin-link"' not in page_client.get("/").text
        for path in ADMIN_PAGES:
            refused = page_client.get(path)
            assert refused.status_code == 403 and "このページは管理者のためのものです" in refused.text, (role, path)
        posted = page_client.post("/admin/organisations", data=_org_form(csrf, name="乗っ取り大学",
                                                                        prefecture_code="13"))
        assert posted.status_code == 403
    sign_in(page_client, page_actors.admin)
    assert 'id="admin-link"' in page_client.get("/").text
    for path in ADMIN_PAGES:
        shown = page_client.get(path)
        assert shown.status_code == 200 and 'name="csrf"' in shown.text, path
    assert "乗っ取り大学" not in page_client.get("/admin/organisations?name=乗っ取り").text


def test_an_organisation_is_created_with_its_campus_and_refused_in_japanese(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.admin)
    wrong = page_client.post("/admin/organisations", data=_org_form(
        csrf, name="北の岬大学", prefecture_code="06", municipality_code="稚内市"))
    assert wrong.status_code == 422 and "山形県の市区町村「稚内市」が見つかりません" in wrong.text
    assert 'value="北の岬大学"' in wrong.text  # what was typed stays
    assert page_client.post("/admin/organisations", data=_org_form(csrf, name="x", kind="other",
                                                                   prefecture_code="01")).status_code == 422
    assert page_client.post("/admin/organisations", data=_org_form("wrong", name="x",
                                                                   prefecture_code="01")).status_code == 403
    made = page_client.post("/admin/organisations", follow_redirects=False, data=_org_form(
        csrf, name="北の岬大学", prefecture_code="01", municipality_code="稚内市",
        liaison_office="北の岬大学 産学連携室", liaison_email="renkei@example.ac.jp", liaison_phone="0162-00-0000", liaison_url="https://example.ac.jp/"))
    assert made.status_code == 303 and made.headers["location"].startswith("/admin/organisations?created=")
    org_id = int(made.headers["location"].rsplit("=", 1)[1])
    stored = page_client.get(f"{API}/organisations/{org_id}", headers=page_actors.admin)
    assert stored.status_code == 200 and stored.json()["municipality_code"] == "012149"
    listed = page_client.get("/admin/organisations?kind=university&name=岬").text
    assert "北の岬大学" in listed and "稚内市" in listed and "renkei@example.ac.jp" in listed
    assert "北の岬大学" not in page_client.get("/admin/organisations?kind=company&name=岬").text
    assert "種類は一覧から選んでください" in page_client.get("/admin/organisations?kind=planet").text


def test_the_organisations_list_pages_by_twenty(page_client, page_actors):
    for n in range(21):
        created = page_client.post(f"{API}/organisations", headers=page_actors.admin, json={
            "name": f"頁送り商事{n:02d}", "kind": "company", "prefecture_code": "13"})
        assert created.status_code == 201, created.text
    sign_in(page_client, page_actors.admin)
    first = page_client.get("/admin/organisations?name=頁送り").text
    assert "組織 21件（1/2ページ）" in first and "頁送り商事20" in first and "頁送り商事00" not in first
    second = page_client.get("/admin/organisations?name=頁送り&page=2").text
    assert "頁送り商事00" in second and "頁送り商事20" not in second


def test_the_api_takes_the_campus_and_checks_it_against_the_prefecture(page_client, page_actors):
    body = {"name": "API 岬大学", "kind": "university", "prefecture_code": "01"}
    made = page_client.post(f"{API}/organisations", headers=page_actors.admin,
                            json={**body, "municipality_code": "函館市"})
    assert made.status_code == 201 and made.json()["municipality_code"] == "012025"
    refused = page_client.post(f"{API}/organisations", headers=page_actors.admin,
                               json={**body, "prefecture_code": "13", "municipality_code": "函館市"})
    assert refused.status_code == 422 and "municipality_code" in refused.text


def test_an_account_is_created_with_its_token_shown_once_then_disabled(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.admin)
    org = page_client.post(f"{API}/organisations", headers=page_actors.admin, json={
        "name": "窓口テスト大学", "kind": "university", "prefecture_code": "13"}).json()
    city = page_client.post(f"{API}/organisations", headers=page_actors.admin, json={
        "name": "窓口テスト市", "kind": "municipality", "prefecture_code": "13"}).json()
    not_university = page_client.post("/admin/accounts", data={
        "csrf": csrf, "name": "市の窓口", "role": "coordinator", "organisation_id": str(city["id"]),
        "liaison_office": "yes"})
    assert not_university.status_code == 422 and "産学連携窓口にできるのは、大学の組織" in not_university.text
    assert page_client.post("/admin/accounts", data={"csrf": csrf, "name": "x", "role": "poster",
                                                     "expires_days": "十"}).status_code == 422
    made = page_client.post("/admin/accounts", data={
        "csrf": csrf, "name": "窓口 太郎", "role": "coordinator", "organisation_id": str(org["id"]),
        "liaison_office": "yes", "expires_days": "30"})
    assert made.status_code == 200 and "二度と表示できません" in made.text
    token = TOKEN.search(made.text).group(1)
    me = page_client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["name"] == "窓口 太郎" and me["is_liaison_office"] and me["organisation_id"] == org["id"]
    listing = page_client.get("/admin/accounts").text
    assert token not in listing and "窓口 太郎" in listing  # shown once: the server keeps only its hash
    tokens = page_client.get(f"{API}/admin/tokens?account_id={me['id']}", headers=page_actors.admin).json()
    assert len(tokens) == 1 and tokens[0]["expires_at"] is not None

    stopped = page_client.post(f"/admin/accounts/{me['id']}/disable", data={"csrf": csrf}, follow_redirects=False)
    assert stopped.status_code == 303
    assert page_client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "停止中" in page_client.get("/admin/accounts").text
    page_client.post(f"/admin/accounts/{me['id']}/enable", data={"csrf": csrf})
    assert page_client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    admin_id = page_client.get(f"{API}/me", headers=page_actors.admin).json()["id"]
    assert page_client.post(f"/admin/accounts/{admin_id}/disable", data={"csrf": csrf}).status_code == 422
    assert page_client.post(f"/admin/accounts/{me['id']}/disable", data={"csrf": "wrong"}).status_code == 403


def test_tokens_are_issued_listed_and_revoked_ending_their_sessions(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.admin)
    poster_id = page_client.get(f"{API}/me", headers=page_actors.poster).json()["id"]
    issued = page_client.post("/admin/tokens", data={"csrf": csrf, "account_id": str(poster_id),
                                                     "expires_days": "7", "label": "画面のテスト"})
    assert issued.status_code == 200 and "二度と表示できません" in issued.text
    token = TOKEN.search(issued.text).group(1)
    assert page_client.post("/admin/tokens", data={"csrf": csrf, "account_id": "999999"}).status_code == 422
    assert page_client.post("/admin/tokens", data={"csrf": csrf, "account_id": str(poster_id),
                                                   "expires_days": "0"}).status_code == 422
    listed = page_client.get(f"{API}/admin/tokens?account_id={poster_id}", headers=page_actors.admin).json()
    row = next(t for t in listed if t["label"] == "画面のテスト")
    assert f'id="token-{row["id"]}"' in page_client.get(f"/admin/tokens?account_id={poster_id}").text

    other = TestClient(page_client.app)  # a browser signed in with the new token
    sign_in(other, {"Authorization": f"Bearer {token}"})
    assert other.get("/needs", follow_redirects=False).status_code == 200
    revoked = page_client.post(f"/admin/tokens/{row['id']}/revoke", data={"csrf": csrf}, follow_redirects=False)
    assert revoked.status_code == 303
    assert page_client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert other.get("/needs", follow_redirects=False).status_code == 303  # its web session ended with it
    assert page_client.post("/admin/tokens/999999/revoke", data={"csrf": csrf}).status_code == 404


def test_a_university_made_on_the_page_measures_distances_from_its_campus(page_client, page_actors):
    """The campus, not the prefecture: without it, a need in the same prefecture shows "同じ県内" and no figure."""
    csrf = sign_in(page_client, page_actors.admin)
    made = page_client.post("/admin/organisations", follow_redirects=False, data=_org_form(
        csrf, name="宗谷岬海藻大学", prefecture_code="01", municipality_code="稚内市"))
    org_id = int(made.headers["location"].rsplit("=", 1)[1])
    researcher = page_client.post(f"{API}/researchers", headers=page_actors.admin, json={
        "name": "昆布 研究者", "organisation_id": org_id}).json()
    account = page_client.post("/admin/accounts", data={"csrf": csrf, "name": "昆布 研究者", "role": "researcher",
                                                         "organisation_id": str(org_id),
                                                         "researcher_id": str(researcher["id"])})
    researcher_token = {"Authorization": f"Bearer {TOKEN.search(account.text).group(1)}"}
    seed = page_client.post(f"{API}/seeds", headers=researcher_token, json={
        "title": "養殖昆布の乾燥を自動化する技術",
        "summary": "養殖昆布の天日乾燥を、乾燥機とセンサーで自動化し品質をそろえる。",
        "keywords": ["昆布", "乾燥"]})
    assert seed.status_code == 201, seed.text
    need = page_client.post(f"{API}/needs", headers=page_actors.poster, json={
        "title": "養殖昆布の乾燥を自動化したい",
        "description": "養殖昆布の天日乾燥に人手がかかる。乾燥を自動化して品質をそろえたい。",
        "prefecture_code": "01", "municipality_code": "函館市"}).json()
    match = page_client.post(f"{API}/needs/{need['id']}/matches", json={"top_k": 50},
                             headers=page_actors.poster).json()
    ours = next(p for p in match["partners"] if p["university"] == "宗谷岬海藻大学")
    places = default_places()
    expected = distance_between(places.locate("01", "012149"), places.locate("01", "012025"), places.prefectures)
    assert ours["distance_basis"] == "municipalities" and ours["distance_km"] == expected.km


def test_every_admin_write_is_rate_limited_like_the_other_pages():
    from fastapi.routing import APIRoute

    from api.web import admin_accounts, admin_orgs
    from api.web.deps import PAGE_WRITES

    writes = [r for router in (admin_orgs.router, admin_accounts.router) for r in router.routes
              if isinstance(r, APIRoute) and "POST" in r.methods]
    assert len(writes) == 8  # issue 15: the organisation edit and the role change too
    assert [r.path for r in writes if PAGE_WRITES not in r.dependencies] == []
