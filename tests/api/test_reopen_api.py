"""Issue 15: re-opening a withdrawn need (its poster, admins) and re-activating a withdrawn seed (its researcher,
admins), through the one write path: the index follows, so the item is matched again; and a text over the
limit is refused with the Japanese message, never cut."""

from __future__ import annotations

import uuid

API = "/api/v1"
RICE = "市内の水田から出る稲わらともみ殻の処分に困っている。ガス化して農業用ハウスの熱源にしたい。"


def need_ids_for_seed(client, headers, seed_id: int) -> list[int]:
    response = client.get(f"{API}/seeds/{seed_id}/needs", headers=headers, params={"top_k": 50})
    assert response.status_code == 200, response.text
    return [h["need_id"] for h in response.json()]


def test_a_withdrawn_need_is_reopened_and_matched_again(client, actors):
    mark = "再開印" + uuid.uuid4().hex[:6]
    need = client.post(f"{API}/needs", headers=actors.poster,
                       json={"title": f"稲わらを熱源に {mark}", "description": RICE, "prefecture_code": "15"}).json()
    assert need["id"] in need_ids_for_seed(client, actors.researcher, 1)  # golden seed 1: 稲わらのガス化
    assert client.delete(f"{API}/needs/{need['id']}", headers=actors.poster).json()["status"] == "withdrawn"
    assert need["id"] not in need_ids_for_seed(client, actors.researcher, 1)
    listed = client.get(f"{API}/needs", headers=actors.other_poster, params={"q": mark}).json()
    assert listed["total"] == 0

    refused = client.post(f"{API}/needs/{need['id']}/reopen", headers=actors.other_poster)
    assert refused.status_code == 404  # withdrawn: another poster cannot even see it
    reopened = client.post(f"{API}/needs/{need['id']}/reopen", headers=actors.poster)
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "active"
    assert need["id"] in need_ids_for_seed(client, actors.researcher, 1)
    assert client.get(f"{API}/needs", headers=actors.other_poster, params={"q": mark}).json()["total"] == 1

    again = client.post(f"{API}/needs/{need['id']}/reopen", headers=actors.poster)
    assert again.status_code == 409
    assert again.json()["error"] == {"code": "conflict", "details": [],
                                     "message": "このニーズは取り下げられていないので、再開する必要はありません。"}
    assert client.post(f"{API}/needs/{need['id']}/reopen", headers=actors.other_poster).status_code == 403


def test_an_admin_may_reopen_any_need(client, actors):
    need = client.post(f"{API}/needs", headers=actors.poster,
                       json={"title": "管理者が再開", "description": RICE, "prefecture_code": "15"}).json()
    client.delete(f"{API}/needs/{need['id']}", headers=actors.poster)
    assert client.post(f"{API}/needs/{need['id']}/reopen", headers=actors.coordinator).status_code == 403
    assert client.post(f"{API}/needs/{need['id']}/reopen", headers=actors.admin).json()["status"] == "active"


def test_a_withdrawn_seed_is_reactivated_and_matched_again(client, actors):
    mark = "再開シーズ" + uuid.uuid4().hex[:6]
    seed = client.post(f"{API}/seeds", headers=actors.researcher, json={
        "title": f"雪室で野菜を熟成 {mark}", "summary": "雪室の冷気で野菜を低温熟成し糖度を上げる。",
        "keywords": ["雪室"]}).json()
    engine = client.app.state.service.engine
    assert seed["id"] in engine.seeds
    client.delete(f"{API}/seeds/{seed['id']}", headers=actors.researcher)
    assert seed["id"] not in engine.seeds

    assert client.post(f"{API}/seeds/{seed['id']}/reactivate", headers=actors.other_researcher).status_code == 404
    assert client.post(f"{API}/seeds/{seed['id']}/reactivate", headers=actors.coordinator).status_code == 404
    back = client.post(f"{API}/seeds/{seed['id']}/reactivate", headers=actors.researcher)
    assert back.status_code == 200, back.text
    assert (back.json()["status"], back.json()["visibility"]) == ("active", "public")
    assert seed["id"] in engine.seeds
    listed = client.get(f"{API}/seeds", headers=actors.poster, params={"limit": 200}).json()["items"]
    assert seed["id"] in [s["id"] for s in listed]

    again = client.post(f"{API}/seeds/{seed['id']}/reactivate", headers=actors.researcher)
    assert again.status_code == 409 and "再開する必要はありません" in again.json()["error"]["message"]


def test_a_reactivated_draft_stays_a_draft_out_of_the_index(client, actors):
    seed = client.post(f"{API}/seeds", headers=actors.researcher, json={
        "title": "下書きのまま", "summary": "下書きのシーズ。", "visibility": "private"}).json()
    client.delete(f"{API}/seeds/{seed['id']}", headers=actors.researcher)
    back = client.post(f"{API}/seeds/{seed['id']}/reactivate", headers=actors.researcher).json()
    assert (back["status"], back["visibility"]) == ("active", "private")
    assert seed["id"] not in client.app.state.service.engine.seeds
    assert client.post(f"{API}/seeds/{seed['id']}/reactivate", headers=actors.admin).status_code == 404


def test_an_admin_may_reactivate_a_withdrawn_seed(client, actors):
    seed = client.post(f"{API}/seeds", headers=actors.researcher,
                       json={"title": "管理者が戻す", "summary": "概要"}).json()
    client.delete(f"{API}/seeds/{seed['id']}", headers=actors.researcher)
    assert client.post(f"{API}/seeds/{seed['id']}/reactivate", headers=actors.admin).json()["status"] == "active"


def test_a_text_over_the_limit_is_refused_not_cut(client, actors):
    too_long = "あ" * 10_001
    response = client.post(f"{API}/needs", headers=actors.poster,
                           json={"title": "長すぎる", "description": too_long, "prefecture_code": "15"})
    assert response.status_code == 422
    assert {"field": "body.description", "message": "10000文字以内で入力してください。"} in \
        response.json()["error"]["details"]
    at_limit = client.post(f"{API}/needs", headers=actors.poster,
                           json={"title": "ちょうど上限", "description": "い" * 10_000, "prefecture_code": "15"})
    assert at_limit.status_code == 201 and len(at_limit.json()["description"]) == 10_000
