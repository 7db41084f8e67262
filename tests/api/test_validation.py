"""Validation errors, limits and the one error format."""

import pytest

API = "/api/v1"


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"description": "d", "prefecture_code": "13"}, "body.title", "必須項目"),
        ({"title": "", "description": "d", "prefecture_code": "13"}, "body.title", "1文字以上"),
        ({"title": "t" * 201, "description": "d", "prefecture_code": "13"}, "body.title", "200文字以内"),
        ({"title": "t", "description": "d" * 10_001, "prefecture_code": "13"}, "body.description", "10000文字以内"),
        ({"title": "t", "description": "d", "prefecture_code": "99"}, "body.prefecture_code", "見つかりません"),
        ({"title": "t", "description": "d", "prefecture_code": "13", "owner_account_id": 1},
         "body.owner_account_id", "使えません"),
        ({"title": "t", "description": "d", "prefecture_code": "13", "market_areas": ["M10"]},
         "body.market_areas", "M1〜M9"),
        ({"title": "t", "description": "d", "prefecture_code": "13", "visibility": "secret"},
         "body.visibility", "いずれか"),
    ],
)
def test_need_validation_names_the_field_in_japanese(client, actors, body, field, message):
    error = assert_error(client.post(f"{API}/needs", json=body, headers=actors.poster), 422, "validation_error")
    assert any(d["field"] == field and message in d["message"] for d in error["details"]), error


@pytest.mark.parametrize(
    ("options", "field"),
    [({"top_k": 51}, "body.top_k"), ({"top_k": 0}, "body.top_k"), ({"scope": "nearby"}, "body.scope"),
     ({"level": "faculty"}, "body.level"), ({"include_regions": ["関西"]}, "body.include_regions.0"),
     ({"include_prefectures": ["大江戸"]}, "body.include_prefectures"), ({"unknown": 1}, "body.unknown")],
)
def test_match_options_are_bounded(client, actors, options, field):
    response = client.post(f"{API}/needs/901/matches", json=options, headers=actors.coordinator)
    error = assert_error(response, 422, "validation_error")
    assert any(d["field"] == field for d in error["details"]), error


def test_oversized_body_gets_413_in_japanese(client, actors):
    big = {"title": "t", "description": "あ" * 100_000, "prefecture_code": "13"}  # 300 KB of UTF-8
    error = assert_error(client.post(f"{API}/needs", json=big, headers=actors.poster), 413, "payload_too_large")
    assert "大きすぎます" in error["message"]


def test_malformed_json(client, actors):
    response = client.post(f"{API}/needs", content=b"{not json",
                           headers={**actors.poster, "content-type": "application/json"})
    assert_error(response, 422, "validation_error")


def test_not_found_and_unknown_routes(client, actors):
    missing = assert_error(client.get(f"{API}/seeds/999999", headers=actors.admin), 404, "not_found")
    assert "見つかりません" in missing["message"]
    assert_error(client.get(f"{API}/nothing-here", headers=actors.admin), 404, "not_found")
    assert_error(client.put(f"{API}/needs/901", json={}, headers=actors.admin), 405, "method_not_allowed")


def test_update_with_unknown_field_changes_nothing(client, actors):
    before = client.get(f"{API}/seeds/1", headers=actors.researcher).json()
    response = client.patch(f"{API}/seeds/1", json={"title": "新しい題", "status": "active", "researcher_id": 2},
                            headers=actors.researcher)
    assert_error(response, 422, "validation_error")
    assert client.get(f"{API}/seeds/1", headers=actors.researcher).json()["title"] == before["title"]
