"""`matcher-admin`: accounts and tokens from the command line, and the SQLite settings."""

import pytest
import sqlalchemy.exc
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from api.admin import app as admin
from api.db import make_engine, migrate
from api.main import create_app
from api.settings import Settings, get_settings

from ..conftest import GOLDEN


def test_create_account_token_works_and_revokes(tmp_path, monkeypatch, encoder):
    monkeypatch.setenv("MATCHER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MATCHER_CORPUS_DIR", str(GOLDEN))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        loaded = runner.invoke(admin, ["load-demo"])
        assert loaded.exit_code == 0, loaded.output
        assert "seeds 12" in loaded.output
        created = runner.invoke(admin, ["create-account", "--name", "県の担当者", "--role", "coordinator"])
        assert created.exit_code == 0, created.output
        token = created.stdout.strip().splitlines()[-1]
        assert token.startswith("mt_")
        bad = runner.invoke(admin, ["create-account", "--name", "x", "--role", "researcher",
                                    "--researcher-id", "99999"])
        assert bad.exit_code != 0
        with TestClient(create_app(Settings(data_dir=tmp_path), encoder=encoder)) as client:
            me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["role"] == "coordinator"
            assert runner.invoke(admin, ["revoke-token", token]).exit_code == 0
            assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert runner.invoke(admin, ["revoke-token", token]).exit_code == 1
    finally:
        get_settings.cache_clear()


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        # foreign keys are enforced: a seed cannot name a researcher that does not exist
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            connection.execute(text(
                "INSERT INTO seed (title, summary, keywords, market_areas, visibility, researcher_id, organisation_id,"
                " status, created_at, updated_at) VALUES ('t', '', '[]', '[]', 'public', 999, 999, 'active',"
                " '2026-01-01', '2026-01-01')"))
