"""A need may name its municipality (issue 13, part 5): checked against the master and its prefecture, stored
as the 全国地方公共団体コード, and used for the distances its partners show."""

from __future__ import annotations

API = "/api/v1"
TEXT = {"title": "稲わらともみ殻をガス化して農業ハウスの熱源にしたい",
        "description": "稲わらともみ殻をガス化し、冬の農業ハウスの熱源に使いたい。"}


def post_need(client, actors, **fields):
    return client.post(f"{API}/needs", json={**TEXT, **fields}, headers=actors.poster)


def field_errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {d["field"]: d["message"] for d in response.json()["error"]["details"]}


def test_a_municipality_is_stored_as_its_code_and_places_the_distances(client, actors):
    created = post_need(client, actors, prefecture_code="15", municipality_code="長岡市")
    assert created.status_code == 201, created.text
    need = created.json()
    assert need["municipality_code"] == "152021"
    match = client.post(f"{API}/needs/{need['id']}/matches", json={"top_k": 5}, headers=actors.poster).json()
    partners = match["partners"]
    assert partners and all(p["distance_basis"] in ("municipalities", "prefecture_capitals") for p in partners)
    measured = [p for p in partners if p["distance_basis"] == "municipalities"]
    assert measured and all(p["distance_label"] == f"約{round(p['distance_km']):,} km" for p in measured)


def test_without_a_municipality_the_same_prefecture_is_shown_without_a_figure(client, actors):
    need = post_need(client, actors, prefecture_code="15").json()
    assert need["municipality_code"] is None
    match = client.post(f"{API}/needs/{need['id']}/matches", json={"top_k": 10}, headers=actors.poster).json()
    local = [p for p in match["partners"] if p["prefecture"] and p["prefecture"]["code"] == "15"]
    assert local, "the golden corpus has Niigata partners for this need"
    assert all(p["distance_km"] is None and p["distance_label"] == "同じ県内" for p in local)


def test_a_municipality_of_another_prefecture_is_refused_in_japanese(client, actors):
    errors = field_errors(post_need(client, actors, prefecture_code="06", municipality_code="帯広市"))
    assert "山形県の市区町村「帯広市」が見つかりません" in errors["body.municipality_code"]
    errors = field_errors(post_need(client, actors, prefecture_code="01", municipality_code="存在しない町"))
    assert "見つかりません" in errors["body.municipality_code"]


def test_an_edit_keeps_the_municipality_inside_the_prefecture(client, actors):
    need = post_need(client, actors, prefecture_code="01", municipality_code="012076").json()
    url = f"{API}/needs/{need['id']}"
    moved = client.patch(url, json={"prefecture_code": "06"}, headers=actors.poster)
    assert "municipality_code" in field_errors(moved)
    assert client.get(url, headers=actors.poster).json()["prefecture_code"] == "01"  # nothing was written
    both = client.patch(url, json={"prefecture_code": "06", "municipality_code": "鶴岡市"}, headers=actors.poster)
    assert both.status_code == 200 and both.json()["municipality_code"] == "062031"
    cleared = client.patch(url, json={"municipality_code": ""}, headers=actors.poster)
    assert cleared.status_code == 200 and cleared.json()["municipality_code"] is None
