"""The demo corpus ships its needs' query vectors too (corpora/vectors/<model>_query.npz, model id
"<model>#query"), so a match of a demo need reads its query vector, as that of a need posted through the API,
instead of encoding its text (~130 ms).

The shipped query file must hold a vector for every demo need's text; a corpus edit without regenerating it
fails here, with the command that regenerates it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from api import models as m
from api.auth import issue_token
from api.demo import add_shipped_vectors, load_demo
from api.embeddings import Embedding, stored_query_vectors
from api.main import create_app
from api.service import passage_text
from api.settings import Settings
from matcher import demo_vectors
from matcher.corpus import CORPUS_DIR, load_corpus
from matcher.embed import DEFAULT_MODEL_DIR
from matcher.index import query_key

from ..conftest import CountingEncoder
from .conftest import GENEROUS_LIMITS

MODEL_ID = DEFAULT_MODEL_DIR.name
QUERY_ID = query_key(MODEL_ID)
REGENERATE_HINT = f"the shipped demo query vectors are stale: run `{demo_vectors.REGENERATE}`"
API = "/api/v1"


def shipped_queries() -> demo_vectors.DemoVectors:
    path = demo_vectors.vectors_path(QUERY_ID)
    assert path.exists(), f"{path} is missing: {REGENERATE_HINT}"
    return demo_vectors.read(path)


def test_the_query_file_sits_beside_the_passage_file():
    assert demo_vectors.vectors_path(QUERY_ID).name == f"{MODEL_ID}_query.npz"
    assert demo_vectors.vectors_path(QUERY_ID).parent == demo_vectors.vectors_path(MODEL_ID).parent
    assert [d.model_id for d in demo_vectors.read_all(demo_vectors.VECTORS_DIR)] == [MODEL_ID, QUERY_ID]


def test_the_shipped_query_file_has_a_vector_for_every_demo_need():
    demo, corpus = shipped_queries(), load_corpus(CORPUS_DIR)
    assert demo.model_id == QUERY_ID
    lacking = demo_vectors.missing(corpus, demo)
    assert not lacking, f"{REGENERATE_HINT} ({len(lacking)} needs lack one, e.g. {lacking[:3]})"
    assert len(demo.fingerprints) == len({need.text for need in corpus.needs})  # the needs only, no seed
    assert demo.vectors.dtype == np.float32 and demo.vectors.shape == (len(demo.fingerprints), 384)
    assert demo_vectors.vectors_path(QUERY_ID).stat().st_size < 500_000


def test_an_edited_need_is_reported_missing_from_the_query_file_and_a_seed_is_not():
    corpus, demo = load_corpus(CORPUS_DIR), shipped_queries()
    corpus.seeds[0] = dataclasses.replace(corpus.seeds[0], title=corpus.seeds[0].title + "（改）")
    assert demo_vectors.missing(corpus, demo) == []  # a query file holds no seed
    corpus.needs[0] = dataclasses.replace(corpus.needs[0], title=corpus.needs[0].title + "（改）")
    assert demo_vectors.missing(corpus, demo) == [corpus.needs[0].text[:40]]


@pytest.fixture(scope="module")
def counting(encoder):
    return CountingEncoder(encoder)


@pytest.fixture(scope="module")
def client(tmp_path_factory, counting):
    tmp = tmp_path_factory.mktemp("demo-queries")
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'fresh.db'}", load_demo=True,
                        corpus_dir=CORPUS_DIR, **GENEROUS_LIMITS)
    with TestClient(create_app(settings, encoder=counting)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def coordinator(client) -> dict:
    with Session(client.app.state.db) as session:
        account = m.Account(name="コーディネーター", role=m.Role.coordinator)
        session.add(account)
        session.commit()
        return {"Authorization": f"Bearer {issue_token(session, account)}"}


def test_after_load_demo_every_demo_need_has_its_stored_query_vector(client, encoder):
    with Session(client.app.state.db) as session:
        needs = list(session.exec(select(m.Need).order_by(col(m.Need.id))).all())
        texts = [passage_text(n) for n in needs]  # the text api/queries.py `match_need` looks up
        stored = stored_query_vectors(session, MODEL_ID, texts)
    assert len(needs) == len(load_corpus(CORPUS_DIR).needs)
    assert [n.id for n, v in zip(needs, stored, strict=True) if v is None] == []
    for i in (0, len(texts) // 2, -1):
        expected = encoder.encode_queries([texts[i]])[0]
        assert np.allclose(stored[i], expected, atol=1e-5), (needs[i].id, REGENERATE_HINT)
        assert not np.allclose(stored[i], encoder.encode_passages([texts[i]])[0], atol=1e-3)  # a query, not a passage


def test_loading_the_shipped_vectors_again_adds_nothing(client):
    with Session(client.app.state.db) as session:
        rows = session.exec(select(func.count()).select_from(Embedding)
                            .where(Embedding.model_id == QUERY_ID)).one()
        assert rows == len(shipped_queries().fingerprints)
        assert add_shipped_vectors(session, load_corpus(CORPUS_DIR), demo_vectors.VECTORS_DIR) == 0
        load_demo(session)  # idempotent: no duplicate key
        assert session.exec(select(func.count()).select_from(Embedding)
                            .where(Embedding.model_id == QUERY_ID)).one() == rows


def test_a_match_of_a_demo_need_encodes_nothing(client, coordinator, counting):
    with Session(client.app.state.db) as session:
        need_ids = list(session.exec(select(m.Need.id).order_by(col(m.Need.id)).limit(3)).all())
    counting.count_queries()
    counting.count()
    for need_id in need_ids:
        match = client.post(f"{API}/needs/{need_id}/matches", json={"top_k": 5}, headers=coordinator)
        assert match.status_code == 200, match.text
        assert match.json()["partners"]
    assert counting.count_queries() == 0
    assert counting.count() == 0
