"""Issue 14, item 7: `Idempotency-Key` on the creating routes. A retry returns the first answer and creates nothing."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from api import models as m
from api.idempotency import HEADER, IN_PROGRESS_STALE_S, REPLAYED, request_hash
from api.main import create_app
from api.models import utcnow
from api.security_models import IdempotencyRecord

API = "/api/v1"
NEED = {"title": "もみ殻の熱利用", "description": "もみ殻をガス化して施設園芸の熱源にしたい。", "prefecture_code": "15"}


def count(client, table) -> int:
    with Session(client.app.state.db) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def keyed(headers: dict, key: str) -> dict:
    return {**headers, HEADER: key}


def test_a_retried_need_is_created_once(client, actors):
    key = str(uuid.uuid4())
    before = count(client, m.Need)
    first = client.post(f"{API}/needs", json=NEED, headers=keyed(actors.poster, key))
    assert first.status_code == 201, first.text
    again = client.post(f"{API}/needs", json=dict(reversed(list(NEED.items()))), headers=keyed(actors.poster, key))
    assert again.status_code == 201 and again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert count(client, m.Need) == before + 1
    other_key = client.post(f"{API}/needs", json=NEED, headers=keyed(actors.poster, str(uuid.uuid4())))
    assert other_key.status_code == 201 and other_key.json()["id"] != first.json()["id"]
    plain = client.post(f"{API}/needs", json=NEED, headers=actors.poster)
    assert plain.status_code == 201 and REPLAYED not in plain.headers
    assert count(client, m.Need) == before + 3


def test_the_same_key_with_another_body_is_refused_in_japanese(client, actors):
    key = str(uuid.uuid4())
    assert client.post(f"{API}/needs", json=NEED, headers=keyed(actors.poster, key)).status_code == 201
    before = count(client, m.Need)
    other = client.post(f"{API}/needs", json={**NEED, "title": "別の題"}, headers=keyed(actors.poster, key))
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in other.json()["error"]["message"] and "キー" in other.json()["error"]["message"]
    assert count(client, m.Need) == before


def test_keys_are_per_account(client, actors):
    key = str(uuid.uuid4())
    mine = client.post(f"{API}/needs", json=NEED, headers=keyed(actors.poster, key))
    theirs = client.post(f"{API}/needs", json=NEED, headers=keyed(actors.other_poster, key))
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"] and REPLAYED not in theirs.headers


def test_a_failed_first_try_keeps_no_answer(client, actors):
    key = str(uuid.uuid4())
    bad = client.post(f"{API}/needs", json={**NEED, "prefecture_code": "99"}, headers=keyed(actors.poster, key))
    assert bad.status_code == 422
    fixed = client.post(f"{API}/needs", json=NEED, headers=keyed(actors.poster, key))
    assert fixed.status_code == 201 and REPLAYED not in fixed.headers


@pytest.mark.parametrize("route", ["seeds", "organisations", "researchers", "reports"])
def test_every_creating_route_takes_the_key(client, actors, route):
    bodies = {"seeds": ({"title": "稲わらのガス化", "summary": "小型炉"}, actors.researcher),
              "organisations": ({"name": f"テスト大学{uuid.uuid4().hex[:6]}", "kind": "university",
                                 "prefecture_code": "13"}, actors.admin),
              "researchers": ({"name": "新人 研究者", "organisation_id": 1}, actors.admin),
              "reports": ({"formats": ["json"]}, actors.coordinator)}
    body, who = bodies[route]
    key = str(uuid.uuid4())
    first = client.post(f"{API}/{route}", json=body, headers=keyed(who, key))
    assert first.status_code in (201, 202), first.text
    again = client.post(f"{API}/{route}", json=body, headers=keyed(who, key))
    assert again.status_code == first.status_code and again.json() == first.json()
    assert again.headers[REPLAYED] == "true"


def test_a_malformed_key_is_a_japanese_422(client, actors):
    for key in ("", "x" * 256, "キー", "a b"):
        response = client.post(f"{API}/needs", json=NEED, headers={**actors.poster, HEADER: key.encode()})
        assert response.status_code == 422, (key, response.text)
        assert response.json()["error"]["code"] == "validation_error"


def _reserve(client, key: str, **fields) -> None:
    """A reservation as a first request still running (or one that died) leaves it."""
    with Session(client.app.state.db) as session:
        poster = session.exec(select(m.Account).where(m.Account.name == "テスト市")).one()
        fingerprint = request_hash("POST", f"{API}/needs", "", json.dumps(NEED).encode())
        session.add(IdempotencyRecord(account_id=poster.id, key=key, request_hash=fingerprint,
                                      expires_at=utcnow() + timedelta(hours=1), **fields))
        session.commit()


def test_a_key_still_running_is_a_409(client, actors):
    key = str(uuid.uuid4())
    _reserve(client, key)
    running = client.post(f"{API}/needs", json=NEED, headers=keyed(actors.poster, key))
    assert running.status_code == 409 and "処理中" in running.json()["error"]["message"]


def test_a_reservation_whose_request_died_is_taken_over(client, actors):
    key = str(uuid.uuid4())
    _reserve(client, key, created_at=utcnow() - timedelta(seconds=IN_PROGRESS_STALE_S + 1))
    assert client.post(f"{API}/needs", json=NEED, headers=keyed(actors.poster, key)).status_code == 201


def test_an_expired_key_is_free_again(client, actors):
    key = str(uuid.uuid4())
    _reserve(client, key, status_code=201, body="{}", media_type="application/json")
    assert client.post(f"{API}/needs", json=NEED, headers=keyed(actors.poster, key)).json() == {}
    with Session(client.app.state.db) as session:
        record = session.exec(select(IdempotencyRecord).where(IdempotencyRecord.key == key)).one()
        record.expires_at = utcnow() - timedelta(seconds=1)
        session.add(record)
        session.commit()
    fresh = client.post(f"{API}/needs", json=NEED, headers=keyed(actors.poster, key))
    assert fresh.status_code == 201 and REPLAYED not in fresh.headers and fresh.json()["title"] == NEED["title"]


def test_the_header_is_documented_on_every_creating_route_and_only_there():
    from api.settings import Settings

    schema = create_app(Settings()).openapi()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            creates = method == "post" and set(operation["responses"]) & {"201", "202"}
            assert (HEADER in names) == bool(creates), (method, path)
