"""The index follows the database: rebuilt at start-up when missing, corrupt or out of date."""

from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import models as m
from api.main import create_app

API = "/api/v1"


def restart(settings, encoder):
    return TestClient(create_app(settings, encoder=encoder))


def index_ids(client):
    return client.app.state.service.engine.seed_index.ids()


def db_seed_ids(client):
    from sqlmodel import select

    with Session(client.app.state.db) as session:
        return {s.id for s in session.exec(select(m.Seed)).all()
                if s.status == m.Status.active and s.visibility != m.SeedVisibility.private}


@pytest.mark.parametrize("damage", ["delete", "corrupt", "stale"])
def test_start_up_rebuilds_a_damaged_or_stale_index(settings, encoder, damage):
    with restart(settings, encoder) as client:
        expected = db_seed_ids(client)
        assert index_ids(client) == expected
    seeds_dir = settings.resolved_index_dir / "seeds"
    if damage == "delete":
        for path in seeds_dir.iterdir():
            path.unlink()
    elif damage == "corrupt":
        (seeds_dir / "dense.faiss").write_bytes(b"\x00" * 64)
        (seeds_dir / "terms.npz").write_bytes(b"PK broken")
    else:
        # the database changes while the service is down: one seed withdrawn, one added
        with _db(settings) as session:
            seed = session.get(m.Seed, 3)
            seed.status = m.Status.withdrawn
            session.add(seed)
            session.add(m.Seed(title="停止中に追加されたシーズ", summary="雪国の屋根雪を融かす技術。",
                               researcher_id=seed.researcher_id, organisation_id=seed.organisation_id))
            session.commit()
    with restart(settings, encoder) as client:
        assert client.get("/readyz").status_code == 200
        assert index_ids(client) == db_seed_ids(client)
        if damage == "stale":
            assert 3 not in index_ids(client)
            assert len(index_ids(client)) == len(expected)  # one out, one in


@contextmanager
def _db(settings):
    """A session beside the app's own, closed with its connections (PostgreSQL would warn otherwise)."""
    from api.db import make_engine

    engine = make_engine(settings.sqlalchemy_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def test_demo_load_is_idempotent(settings, encoder):
    from api.demo import load_demo

    with _db(settings) as session:
        again = load_demo(session, settings.corpus_dir)
    assert again == {"organisations": 0, "researchers": 0, "seeds": 0, "needs": 0, "accounts": 0}
