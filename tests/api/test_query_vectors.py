"""A need's query vector is data too (issue 16): computed once, in the need's write, and read by its matches
and by reports, which then encode nothing. Needs written before query vectors were kept are encoded as before
(the demo corpus ships its own: test_demo_query_vectors.py)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.embeddings import Embedding, query_key
from api.main import create_app
from matcher.index import fingerprint

from ..conftest import CountingEncoder
from .conftest import wait_for_report

API = "/api/v1"
NEED = {"title": "雪下ろしの省力化", "description": "屋根の雪を融かす安価な仕組みを探しています。",
        "prefecture_code": "15"}


@pytest.fixture(scope="module")
def counting(encoder):
    return CountingEncoder(encoder)


@pytest.fixture(scope="module")
def client(settings, counting):
    with TestClient(create_app(settings, encoder=counting)) as test_client:
        yield test_client


def stored_query(client, text):
    key = query_key(client.app.state.service.encoder.name)
    with Session(client.app.state.db) as session:
        return session.get(Embedding, (key, fingerprint(text, key)))


def test_a_need_s_write_stores_its_query_vector_and_its_matches_encode_nothing(client, actors, counting, encoder):
    counting.count_queries()
    need = client.post(f"{API}/needs", json=NEED, headers=actors.poster).json()
    assert counting.count_queries() == 1  # the write encodes the query once
    text = NEED["title"] + "\n" + NEED["description"]
    row = stored_query(client, text)
    assert row is not None
    assert np.allclose(np.frombuffer(row.vector, dtype="<f4"), encoder.encode_queries([text])[0], atol=1e-6)
    counting.count_queries()
    for _ in range(3):
        match = client.post(f"{API}/needs/{need['id']}/matches", json={"top_k": 5}, headers=actors.poster)
        assert match.status_code == 200 and match.json()["partners"]
    assert counting.count_queries() == 0
    edited = client.patch(f"{API}/needs/{need['id']}", json={"title": "雪下ろしの無人化"}, headers=actors.poster)
    assert edited.status_code == 200 and counting.count_queries() == 1  # a new text: a new query vector
    assert stored_query(client, "雪下ろしの無人化\n" + NEED["description"]) is not None


def test_a_report_encodes_only_needs_without_a_stored_vector(client, actors, counting):
    client.post(f"{API}/needs", json={**NEED, "title": "融雪の新方式", "prefecture_code": "16"},
                headers=actors.poster)
    with Session(client.app.state.db) as session:
        from sqlmodel import select

        from api.models import Need, Status

        texts = [n.title + "\n" + n.description
                 for n in session.exec(select(Need).where(Need.status == Status.active))]
    unstored = sum(1 for text in texts if stored_query(client, text) is None)
    assert 0 < unstored < len(texts)  # the demo's needs have none; the ones posted here do
    counting.count_queries()
    job = client.post(f"{API}/reports", json={"formats": ["json"]}, headers=actors.coordinator)
    assert job.status_code == 202, job.text
    status = wait_for_report(client, actors.coordinator, job.json()["id"])
    assert status["status"] == "succeeded", status
    encoded, in_report = counting.count_queries(), status["summary"]["needs"]
    posted_here = 2  # public and active: in the report, with their stored vectors
    assert 0 < encoded <= in_report - posted_here, (encoded, in_report, status["summary"])
