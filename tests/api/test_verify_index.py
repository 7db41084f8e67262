"""`matcher-admin verify-index`: the saved snapshot against the database, by id and content fingerprint (issue 12).

Each test starts from a consistent snapshot (a server start-up verifies and rewrites it), damages the snapshot
or the database while no server runs, and runs the command as an operator would, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from api import models as m
from api.admin import app as admin
from api.db import make_engine
from api.embeddings import Embedding
from api.main import create_app
from api.service import passage_text
from api.settings import get_settings
from matcher.index import Collection, fingerprint

from ..conftest import CountingEncoder


@pytest.fixture
def stopped(settings, encoder):
    """A consistent snapshot and no server: the app's start-up verified the snapshot in full and saved it."""
    with TestClient(create_app(settings, encoder=encoder)):
        pass
    return settings


@pytest.fixture
def verify_index(settings, monkeypatch):
    """Run `matcher-admin verify-index ARGS` on the tests' data dir and database; returns (exit code, stdout)."""
    monkeypatch.setenv("MATCHER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATABASE_URL", settings.sqlalchemy_url)
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(admin, ["verify-index", *args])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout

    yield run
    get_settings.cache_clear()


def as_json(verify_index, *args):
    code, out = verify_index("--json", *args)
    return code, json.loads(out)


def snapshot(settings, kind):
    return Collection.load(settings.resolved_index_dir / kind)


def damage_snapshot(settings, kind, *, drop=(), refingerprint=()):
    collection = snapshot(settings, kind)
    collection.delete(list(drop))
    for item_id in refingerprint:
        collection.fingerprints[item_id] = "0" * 16  # the snapshot now claims another text for it
    # a full snapshot: the fingerprints were changed behind the collection's back, which a delta would not see
    collection.snapshot().write(settings.resolved_index_dir / kind)


def change_database(settings, change):
    """Apply `change(session)` directly to the database, as an operator's SQL would, and commit."""
    db = make_engine(settings.sqlalchemy_url)
    try:
        with Session(db) as session:
            result = change(session)
            session.commit()
            return result
    finally:
        db.dispose()


def listed_seed_ids(settings):
    return sorted(snapshot(settings, "seeds").ids())


def test_a_consistent_index_exits_0(stopped, verify_index):
    code, out = verify_index()
    assert code == 0, out
    assert out.count("欠け 0、余分 0、内容の食い違い 0") == 2 and "結果: 一致しています。" in out
    code, report = as_json(verify_index)
    assert code == 0 and report["consistent"] and report["repaired"] is None
    assert report["before"]["seeds"]["matching"] == len(listed_seed_ids(stopped))


def test_damage_is_reported_and_repaired_from_stored_vectors(stopped, verify_index, monkeypatch, tmp_path):
    dropped, stale, *_, withdrawn = listed_seed_ids(stopped)
    need = sorted(snapshot(stopped, "needs").ids())[0]
    damage_snapshot(stopped, "seeds", drop=[dropped], refingerprint=[stale])
    damage_snapshot(stopped, "needs", refingerprint=[need])

    def withdraw(session):
        session.get_one(m.Seed, withdrawn).status = m.Status.withdrawn

    change_database(stopped, withdraw)  # the snapshot still holds it: extra

    code, out = verify_index()
    assert code == 1
    assert "欠け 1、余分 1、内容の食い違い 1" in out.split("ニーズ:")[0]  # the seeds' line
    assert "欠け 0、余分 0、内容の食い違い 1" in out.split("ニーズ:")[1]
    code, report = as_json(verify_index)
    seeds, needs = report["before"]["seeds"], report["before"]["needs"]
    assert code == 1 and not report["consistent"]
    assert (seeds["missing"], seeds["extra"], seeds["mismatched"]) == ([dropped], [withdrawn], [stale])
    assert (needs["missing"], needs["extra"], needs["mismatched"]) == ([], [], [need])

    # every vector is in the table: the repair must not need the model, so point it at a folder that lacks one
    monkeypatch.setenv("MATCHER_MODEL_DIR", str(tmp_path / stopped.model_dir.name))
    get_settings.cache_clear()
    code, report = as_json(verify_index, "--repair")
    assert code == 0 and report["consistent"], report
    assert report["repaired"]["seeds"] == {"added": 1, "updated": 1, "removed": 1,
                                           "unchanged": seeds["matching"], "encoded": 0}
    assert report["repaired"]["needs"]["updated"] == 1 and report["repaired"]["needs"]["encoded"] == 0
    assert verify_index()[0] == 0
    assert withdrawn not in snapshot(stopped, "seeds") and dropped in snapshot(stopped, "seeds")


def test_a_text_changed_while_the_server_was_down_is_embedded_once(stopped, verify_index, monkeypatch, encoder):
    seed_id = listed_seed_ids(stopped)[0]

    def retitle(session):
        seed = session.get_one(m.Seed, seed_id)
        seed.title = "停止中に書き換えられた題名"
        return passage_text(seed)

    text = change_database(stopped, retitle)
    code, report = as_json(verify_index)
    assert code == 1 and report["before"]["seeds"]["mismatched"] == [seed_id]

    counting = CountingEncoder(encoder)  # the model the repair loads, lazily: the session's, counted
    monkeypatch.setattr("matcher.embed.Encoder", lambda model_dir, threads, backend: counting)
    code, report = as_json(verify_index, "--repair")
    assert code == 0 and report["repaired"]["seeds"]["encoded"] == 1 and counting.count() == 1
    model_id = encoder.name
    assert snapshot(stopped, "seeds").fingerprints[seed_id] == fingerprint(text, model_id)

    def stored(session):
        return session.get(Embedding, (model_id, fingerprint(text, model_id))) is not None

    assert change_database(stopped, stored)  # kept, so the server's next start embeds nothing


@pytest.mark.parametrize("damage", ["torn", "missing"])
def test_an_unreadable_snapshot_lacks_everything_until_repaired(stopped, verify_index, damage):
    seeds_dir = stopped.resolved_index_dir / "seeds"
    held = len(listed_seed_ids(stopped))
    if damage == "torn":  # a write killed between its files: the config's checksum no longer matches
        (seeds_dir / "dense.faiss").write_bytes(b"half a file")
    else:
        shutil.rmtree(seeds_dir)
    code, report = as_json(verify_index)
    seeds = report["before"]["seeds"]
    assert code == 1 and seeds["unreadable"] and len(seeds["missing"]) == held and seeds["matching"] == 0
    assert report["before"]["needs"]["consistent"]
    code, out = verify_index()
    assert "索引" in out.split("シーズ:")[1]  # the reason is shown, in Japanese
    code, report = as_json(verify_index, "--repair")
    assert code == 0 and report["repaired"]["seeds"]["added"] == held and report["repaired"]["seeds"]["encoded"] == 0
