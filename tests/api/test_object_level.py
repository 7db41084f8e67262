"""Issue 14 (OWASP API1, object-level authorisation), generated: hypothesis picks a caller, an object of another
party (or an id that is no object at all) and an operation. Every read of what the caller may not see is a 404,
every write of what is not the caller's is a 403 or a 404, and nothing changes: the admin reads the object as it
was. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

API = "/api/v1"
CALLERS = ("poster", "other_poster", "researcher", "other_researcher", "coordinator")


@dataclass(frozen=True)
class Thing:
    kind: str  # "needs" | "seeds"
    id: int
    owner: str  # the caller name that owns it
    visible_to_all: bool  # a public need, or a published seed

    def may_read(self, caller: str) -> bool:
        if caller == self.owner or self.visible_to_all:
            return True
        return self.kind == "needs" and caller == "coordinator"  # the network's view of confidential needs


@pytest.fixture(scope="module")
def things(client, actors) -> list[Thing]:
    made = []
    for owner in ("poster", "other_poster"):
        for visibility in ("public", "confidential"):
            body = {"title": f"{owner}の{visibility}ニーズ", "description": "雪を融かす安価な仕組みを探しています。",
                    "prefecture_code": "15", "visibility": visibility}
            need = client.post(f"{API}/needs", json=body, headers=getattr(actors, owner))
            assert need.status_code == 201, need.text
            made.append(Thing("needs", need.json()["id"], owner, visibility == "public"))
    for owner in ("researcher", "other_researcher"):
        for visibility in ("public", "private"):
            body = {"title": f"{owner}の{visibility}シーズ", "summary": "融雪の熱源を地中から得る。",
                    "visibility": visibility}
            seed = client.post(f"{API}/seeds", json=body, headers=getattr(actors, owner))
            assert seed.status_code == 201, seed.text
            made.append(Thing("seeds", seed.json()["id"], owner, visibility == "public"))
    return made


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True, database=None)
@given(data=st.data())
def test_no_caller_reads_or_changes_what_is_not_theirs(client, actors, things, data):
    caller = data.draw(st.sampled_from(CALLERS))
    thing = data.draw(st.sampled_from(things))
    operation = data.draw(st.sampled_from(["GET", "PATCH", "DELETE"]))
    headers = getattr(actors, caller)
    url = f"{API}/{thing.kind}/{thing.id}"
    before = client.get(url, headers=actors.admin).json()
    if operation == "GET":
        response = client.get(url, headers=headers)
        assert response.status_code == (200 if thing.may_read(caller) else 404), (caller, thing, response.text)
        return
    if caller == thing.owner:
        return  # the owner may change it: not what this test is about
    if operation == "PATCH":
        response = client.patch(url, json={"title": "書き換え"}, headers=headers)
    else:
        response = client.delete(url, headers=headers)
    assert response.status_code == (403 if thing.may_read(caller) else 404), (caller, operation, thing, response.text)
    assert response.json()["error"]["message"]  # a reason, in Japanese
    assert client.get(url, headers=actors.admin).json() == before  # nothing changed


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(caller=st.sampled_from(CALLERS), kind=st.sampled_from(["needs", "seeds"]),
       item_id=st.one_of(st.integers(10**6, 2**31 - 1), st.integers(2**31, 2**70), st.integers(-(2**63), 0)),
       operation=st.sampled_from(["GET", "PATCH", "DELETE"]))
def test_an_id_that_is_no_object_is_a_japanese_4xx(client, actors, caller, kind, item_id, operation):
    url = f"{API}/{kind}/{item_id}"
    headers = getattr(actors, caller)
    response = {"GET": lambda: client.get(url, headers=headers),
                "PATCH": lambda: client.patch(url, json={"title": "書き換え"}, headers=headers),
                "DELETE": lambda: client.delete(url, headers=headers)}[operation]()
    assert response.status_code in (403, 404, 422), (url, operation, response.text)
    assert response.json()["error"]["message"]
