"""Vectors are data (issue 12, first step): a passage vector is computed once per text and kept in the database.

The app here runs on an encoder that counts the passages it embeds, so each test says how many a step costs.
"""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from api import models as m
from api import usecases
from api.embeddings import Embedding
from api.main import create_app
from api.service import passage_text
from matcher.index import fingerprint

from ..conftest import CountingEncoder

API = "/api/v1"
NEED = {"title": "雪下ろしの省力化", "description": "屋根の雪を融かす安価な仕組みを探しています。",
        "prefecture_code": "15"}


@pytest.fixture(scope="module")
def counting(encoder):
    return CountingEncoder(encoder)


@pytest.fixture(scope="module")
def client(settings, counting):
    with TestClient(create_app(settings, encoder=counting)) as test_client:
        counting.count()  # what the first start-up embedded (the demo corpus) is not what these tests measure
        yield test_client


@pytest.fixture(autouse=True)
def count_from_zero(client, counting):
    counting.count()  # each test counts its own steps only


def stored_vector(client, text):
    """The embedding row for `text` under the app's model, or None."""
    model_id = client.app.state.service.encoder.name
    with Session(client.app.state.db) as session:
        return session.get(Embedding, (model_id, fingerprint(text, model_id)))


def test_a_patch_that_keeps_the_text_encodes_nothing(client, actors, counting):
    need = client.post(f"{API}/needs", json=NEED, headers=actors.poster).json()
    assert counting.count() == 1
    url = f"{API}/needs/{need['id']}"
    assert client.patch(url, json={"collaboration": "共同研究"}, headers=actors.poster).status_code == 200
    assert client.patch(url, json={"visibility": "confidential"}, headers=actors.poster).status_code == 200
    assert counting.count() == 0
    assert client.patch(url, json={"title": "雪下ろしの無人化"}, headers=actors.poster).status_code == 200
    assert counting.count() == 1
    # a researcher's change leaves the texts of its seeds as they were
    changed = client.patch(f"{API}/researchers/{actors.researcher_id}", json={"department": "工学部 機械系"},
                           headers=actors.researcher)
    assert changed.status_code == 200 and counting.count() == 0


def test_the_index_holds_the_stored_vector(client, actors):
    seed = client.post(f"{API}/seeds", json={"title": "融雪ヒートパイプ", "summary": "地中熱で路面の雪を融かす。"},
                       headers=actors.researcher).json()
    service = client.app.state.service
    text = service.engine.seeds[seed["id"]].text
    row = stored_vector(client, text)
    assert row is not None and row.dim == service.encoder.dim
    indexed = service.engine.seed_index.vectors_of([seed["id"]])[0]
    assert indexed.tobytes() == row.vector  # the index was given the very vector the request stored


def test_a_failed_commit_stores_neither_the_seed_nor_its_vector(client, actors, counting):
    body = m.SeedCreate(title="失敗する登録", summary="この登録はコミットの途中で失敗する。")
    service = client.app.state.service
    with Session(client.app.state.db) as session:
        account = session.exec(select(m.Account).where(m.Account.name == "高田")).one()

        @event.listens_for(session, "before_flush")
        def refuse_the_seed(session, _context, _instances):  # the seed's INSERT fails, after its vector was added
            if any(isinstance(row, m.Seed) for row in session.new):
                raise RuntimeError("simulated failure of the seed's insert")

        with pytest.raises(RuntimeError, match="simulated"):
            usecases.create_seed(session, service, account, body)
    assert counting.count() == 1  # it was computed, in the request, before the commit
    with Session(client.app.state.db) as session:
        assert session.exec(select(m.Seed).where(m.Seed.title == body.title)).first() is None
    assert stored_vector(client, passage_text(m.Seed(title=body.title, summary=body.summary))) is None


def test_a_restart_without_the_index_embeds_nothing(client, settings, counting):
    before = client.app.state.service.engine
    shutil.rmtree(settings.resolved_index_dir)
    with TestClient(create_app(settings, encoder=counting)) as restarted:
        assert counting.count() == 0
        after = restarted.app.state.service.engine
        seed_report, need_report = restarted.app.state.service.start_reports
        assert seed_report.added == len(before.seeds) and need_report.added == len(before.needs)
        assert seed_report.encoded == need_report.encoded == 0
        ids = sorted(before.seed_index.ids())
        assert ids == sorted(after.seed_index.ids())
        assert (after.seed_index.vectors_of(ids) == before.seed_index.vectors_of(ids)).all()
        assert restarted.get("/readyz").status_code == 200
