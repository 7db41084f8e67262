"""Object-level authorisation on every write route, and token handling."""

import pytest
from sqlmodel import Session, select

from api import models as m
from api.auth import TOKEN_PREFIX, hash_token, revoke_token

API = "/api/v1"

NEED = {"title": "町家の耐震化", "description": "町家を残して地震に備えたい。", "prefecture_code": "29",
        "visibility": "confidential"}
SEED = {"title": "ため池の堤体監視", "summary": "ため池の堤体をセンサで監視する。"}


@pytest.fixture(scope="module")
def owned(client, actors):
    """A confidential need of `poster` and a seed of `researcher`, for the others to try to change."""
    need = client.post(f"{API}/needs", json=NEED, headers=actors.poster).json()
    seed = client.post(f"{API}/seeds", json=SEED, headers=actors.researcher).json()
    return {"need": need["id"], "seed": seed["id"]}


# (method, path, body, actor, expected status). Every write route appears with an actor that may
# not write (and must be refused) and one that may (and must succeed).
CASES = [
    ("post", "/needs", {"title": "t", "description": "d", "prefecture_code": "13"}, "researcher", 403),
    ("post", "/needs", {"title": "t", "description": "d", "prefecture_code": "13"}, "coordinator", 403),
    ("post", "/needs", {"title": "t", "description": "d", "prefecture_code": "13"}, "anonymous", 401),
    ("post", "/needs", {"title": "t", "description": "d", "prefecture_code": "13"}, "other_poster", 201),
    ("patch", "/needs/{need}", {"title": "乗っ取り"}, "other_poster", 404),  # confidential: not even visible
    ("patch", "/needs/{need}", {"title": "乗っ取り"}, "coordinator", 403),
    ("patch", "/needs/{need}", {"title": "乗っ取り"}, "researcher", 404),
    ("patch", "/needs/{need}", {"title": "町家の耐震化（改）"}, "poster", 200),
    ("patch", "/needs/{need}", {"title": "町家の耐震化（管理者）"}, "admin", 200),
    ("delete", "/needs/{need}", None, "other_poster", 404),
    ("delete", "/needs/{need}", None, "coordinator", 403),
    ("post", "/seeds", SEED, "poster", 403),
    ("post", "/seeds", SEED, "coordinator", 403),
    ("post", "/seeds", {**SEED, "researcher_id": "{other_researcher_id}"}, "researcher", 403),
    ("post", "/seeds", SEED, "admin", 422),  # admins must name the researcher
    ("post", "/seeds", {**SEED, "researcher_id": "{other_researcher_id}"}, "admin", 201),
    ("patch", "/seeds/{seed}", {"title": "乗っ取り"}, "other_researcher", 403),
    ("patch", "/seeds/{seed}", {"title": "乗っ取り"}, "poster", 403),
    ("patch", "/seeds/{seed}", {"title": "乗っ取り"}, "coordinator", 403),
    ("patch", "/seeds/{seed}", {"title": "ため池の堤体監視（改）"}, "researcher", 200),
    ("delete", "/seeds/{seed}", None, "other_researcher", 403),
    ("delete", "/seeds/{seed}", None, "poster", 403),
    ("post", "/organisations", {"name": "新大学", "kind": "university", "prefecture_code": "13"}, "coordinator", 403),
    ("post", "/organisations", {"name": "新大学", "kind": "university", "prefecture_code": "13"}, "poster", 403),
    ("post", "/organisations", {"name": "新大学", "kind": "university", "prefecture_code": "13"}, "admin", 201),
    ("post", "/researchers", {"name": "新 研究者", "organisation_id": 1}, "researcher", 403),
    ("post", "/researchers", {"name": "新 研究者", "organisation_id": 1}, "admin", 201),
    ("patch", "/researchers/{researcher_id}", {"department": "乗っ取り"}, "other_researcher", 403),
    ("patch", "/researchers/{researcher_id}", {"department": "乗っ取り"}, "poster", 403),
    ("patch", "/researchers/{researcher_id}", {"position": "教授"}, "researcher", 200),
    ("get", "/seeds/{seed}/needs", None, "poster", 403),
    ("get", "/seeds/{seed}/needs", None, "other_researcher", 403),
    ("get", "/seeds/{seed}/needs", None, "researcher", 200),
    # last: the owners withdraw what they own
    ("delete", "/needs/{need}", None, "poster", 200),
    ("delete", "/seeds/{seed}", None, "researcher", 200),
]


@pytest.mark.parametrize(("method", "path", "body", "actor", "expected"), CASES,
                         ids=[f"{c[0]} {c[1]} as {c[3]} -> {c[4]}" for c in CASES])
def test_write_routes_check_the_object(client, actors, owned, method, path, body, actor, expected):
    ids = {**owned, "researcher_id": actors.researcher_id, "other_researcher_id": actors.other_researcher_id}
    url = API + path.format(**ids)
    if body is not None:
        body = {k: (int(v.format(**ids)) if isinstance(v, str) and v.startswith("{") else v) for k, v in body.items()}
    headers = {} if actor == "anonymous" else getattr(actors, actor)
    response = client.request(method.upper(), url, json=body, headers=headers)
    assert response.status_code == expected, response.json()
    if expected >= 400:
        error = response.json()["error"]
        japanese = any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in error["message"])
        assert error["code"] and japanese


def test_failed_writes_changed_nothing(client, actors, owned):
    need = client.get(f"{API}/needs/{owned['need']}", headers=actors.admin).json()
    assert "乗っ取り" not in need["title"]
    seed = client.get(f"{API}/seeds/{owned['seed']}", headers=actors.admin).json()
    assert "乗っ取り" not in seed["title"]
    researcher = client.get(f"{API}/researchers/{actors.researcher_id}", headers=actors.admin).json()
    assert researcher["department"] != "乗っ取り"


def test_tokens_are_stored_hashed_and_can_be_revoked(client, actors):
    token = actors.other_poster["Authorization"].removeprefix("Bearer ")
    assert token.startswith(TOKEN_PREFIX)
    with Session(client.app.state.db) as session:
        stored = session.exec(select(m.ApiToken.token_hash)).all()
        assert hash_token(token) in stored and token not in stored
        assert client.get(f"{API}/me", headers=actors.other_poster).status_code == 200
        assert revoke_token(session, token)
    refused = client.get(f"{API}/me", headers=actors.other_poster)
    assert refused.status_code == 401 and "無効" in refused.json()["error"]["message"]
    assert client.get(f"{API}/me").status_code == 401
    assert client.get(f"{API}/me", headers={"Authorization": "Bearer " + "x" * 500}).status_code == 401
