"""Keyword search of seeds and researchers, with filters (issue 15): GET /api/v1/seeds and the /seeds page."""

from __future__ import annotations

import pytest

from tests.web.conftest import sign_in

API = "/api/v1"


def titles(client, headers, **params) -> list[str]:
    response = client.get(f"{API}/seeds", headers=headers, params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return [s["title"] for s in response.json()["items"]]


@pytest.fixture(scope="module")
def mine(client, actors):
    """Two seeds of the test researcher (長岡技術科学大学, 新潟県 中部), one a draft."""
    made = {}
    for key, visibility, readiness in (("public", "public", "実証段階"), ("draft", "private", None)):
        body = {"title": f"探索試験 雪下野菜の糖度 {key}", "summary": "雪の下で越冬させた野菜の糖度を測る。",
                "market_areas": ["M1"], "visibility": visibility, **({"readiness": readiness} if readiness else {})}
        response = client.post(f"{API}/seeds", json=body, headers=actors.researcher)
        assert response.status_code == 201, response.text
        made[key] = response.json()
    return made


def test_every_word_must_match_and_drafts_stay_hidden(client, actors, mine):
    assert titles(client, actors.poster, q="探索試験 糖度") == ["探索試験 雪下野菜の糖度 public"]
    assert titles(client, actors.poster, q="探索試験 存在しない語") == []
    assert set(titles(client, actors.researcher, q="探索試験")) == {"探索試験 雪下野菜の糖度 public",
                                                                 "探索試験 雪下野菜の糖度 draft"}  # its own draft


def test_a_researcher_is_found_by_name(client, actors, mine):
    researcher = client.get(f"{API}/researchers/{actors.researcher_id}", headers=actors.researcher).json()
    found = titles(client, actors.poster, q=researcher["name"].split()[0])
    assert "探索試験 雪下野菜の糖度 public" in found


def test_filters_by_place_university_market_area_and_stage(client, actors, mine):
    me = "探索試験 雪下野菜の糖度 public"
    assert me in titles(client, actors.poster, q="探索試験", prefecture="新潟県")
    assert me in titles(client, actors.poster, q="探索試験", region="中部", university="長岡")
    assert me in titles(client, actors.poster, q="探索試験", market_area="M1", readiness="実証段階")
    assert titles(client, actors.poster, q="探索試験", prefecture="01") == []
    assert titles(client, actors.poster, q="探索試験", region="九州") == []
    assert titles(client, actors.poster, q="探索試験", university="北海道") == []
    assert titles(client, actors.poster, q="探索試験", market_area="M2") == []
    assert titles(client, actors.poster, q="探索試験", readiness="基礎研究") == []


@pytest.mark.parametrize("params", [{"prefecture": "火星"}, {"region": "月"}, {"market_area": "M10"},
                                    {"readiness": "完成"}, {"q": "語 " * 11}])
def test_bad_values_are_refused_in_japanese(client, actors, params):
    response = client.get(f"{API}/seeds", headers=actors.poster, params=params)
    assert response.status_code == 422
    assert any("\u3040" <= ch <= "\u9fff" for ch in response.json()["error"]["details"][0]["message"])


def test_the_page_searches_the_same_way(client, actors, mine):
    from fastapi.testclient import TestClient

    browser = TestClient(client.app)
    sign_in(browser, actors.poster)
    page = browser.get("/seeds", params={"q": "探索試験", "market_area": "M1"}).text
    assert "探索試験 雪下野菜の糖度 public" in page and "draft" not in page and "条件に合うシーズ 1件" in page
    refused = browser.get("/seeds", params={"prefecture": "火星"})
    assert refused.status_code == 422 and "絞り込まずに表示しています" in refused.text
