"""The demo corpus ships with its passage vectors (corpora/vectors/), so a fresh `make run` embeds nothing.

The shipped file must hold a vector for every demo text under the project's model; a corpus edit without
regenerating it fails here, with the command that regenerates it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.demo import load_demo
from api.embeddings import Embedding
from api.main import create_app
from api.settings import Settings
from matcher import demo_vectors
from matcher.corpus import CORPUS_DIR, load_corpus
from matcher.embed import DEFAULT_MODEL_DIR

from ..conftest import GOLDEN, CountingEncoder
from .conftest import GENEROUS_LIMITS

MODEL_ID = DEFAULT_MODEL_DIR.name
REGENERATE_HINT = f"the shipped demo vectors are stale: run `{demo_vectors.REGENERATE}`"


def shipped():
    path = demo_vectors.vectors_path(MODEL_ID)
    assert path.exists(), f"{path} is missing: {REGENERATE_HINT}"
    return demo_vectors.read(path)


def test_the_shipped_file_has_a_vector_for_every_demo_text():
    demo = shipped()
    assert demo.model_id == MODEL_ID
    lacking = demo_vectors.missing(load_corpus(CORPUS_DIR), demo)
    assert not lacking, f"{REGENERATE_HINT} ({len(lacking)} texts lack one, e.g. {lacking[:3]})"
    assert demo.vectors.dtype == np.float32 and demo.vectors.shape[1] == 384
    assert demo_vectors.vectors_path(MODEL_ID).stat().st_size < 2_000_000


def test_the_shipped_vectors_are_the_models_own(encoder):
    """Not only the right fingerprints: a few texts encoded now give the shipped vectors (to rounding)."""
    demo = shipped().as_dict()
    corpus = load_corpus(CORPUS_DIR)
    texts = [corpus.seeds[0].text, corpus.seeds[-1].text, corpus.needs[0].text]
    encoded = encoder.encode_passages(texts)
    for text, vector in zip(texts, encoded, strict=True):
        stored = demo[demo_vectors.fingerprints_of([text], MODEL_ID)[0]]
        assert float(np.dot(stored, vector)) > 0.999, REGENERATE_HINT


def test_an_edited_text_is_reported_missing():
    corpus = load_corpus(CORPUS_DIR)
    demo = shipped()
    corpus.seeds[0] = dataclasses.replace(corpus.seeds[0], title=corpus.seeds[0].title + "（改）")
    assert demo_vectors.missing(corpus, demo) == [corpus.seeds[0].text[:40]]


def test_a_fresh_start_on_the_demo_corpus_encodes_no_passage(tmp_path, encoder):
    counting = CountingEncoder(encoder)
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'fresh.db'}", load_demo=True,
                        corpus_dir=CORPUS_DIR, **GENEROUS_LIMITS)
    with TestClient(create_app(settings, encoder=counting)) as client:
        assert counting.count() == 0
        assert client.get("/readyz").status_code == 200
        service = client.app.state.service
        corpus = load_corpus(CORPUS_DIR)
        assert len(service.engine.needs) == len(corpus.needs)
        assert len(service.engine.seeds) == len(corpus.seeds)


def _golden_vectors(encoder, model_id, directory):
    """A vectors file for the golden corpus, as `matcher demo-vectors` writes one, under `model_id`."""
    corpus = load_corpus(GOLDEN)
    demo = demo_vectors.build(corpus, encoder)
    demo.model_id = model_id
    demo.fingerprints = demo_vectors.fingerprints_of(demo_vectors.demo_texts(corpus), model_id)
    demo_vectors.write(demo, demo_vectors.vectors_path(model_id, directory))
    return len(demo.fingerprints)


@pytest.mark.parametrize("model_id, encoded_at_start", [(MODEL_ID, False), ("another-model", True)])
def test_shipped_vectors_serve_only_their_own_model(tmp_path, encoder, model_id, encoded_at_start):
    vectors_dir = tmp_path / "vectors"
    texts = _golden_vectors(encoder, model_id, vectors_dir)
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    settings = Settings(data_dir=tmp_path, database_url=database, corpus_dir=GOLDEN, **GENEROUS_LIMITS)
    app = create_app(settings, encoder=(counting := CountingEncoder(encoder)))
    with TestClient(app):
        pass  # migrates the empty database; the corpus is loaded below, with the test's vectors folder
    with Session(app.state.db) as session:
        load_demo(session, GOLDEN, vectors_dir=vectors_dir)
        load_demo(session, GOLDEN, vectors_dir=vectors_dir)  # idempotent: no duplicate key
        stored = session.exec(select(Embedding.model_id)).all()
    assert stored == [model_id] * texts
    counting.count()
    with TestClient(create_app(settings, encoder=counting)):
        assert counting.count() == (texts if encoded_at_start else 0)
