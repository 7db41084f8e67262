"""Migration 0005 (issue 14): it goes up and down on SQLite and PostgreSQL, and its tables are the models' tables."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import api.security_models  # noqa: F401  (registers the tables)
from api.db import MIGRATIONS_DIR, make_engine, migrate

from .conftest import fresh_database_url

OURS = {"web_session", "idempotency_key"}


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def test_0005_goes_up_and_down_and_matches_the_models(backend, tmp_path):
    engine = make_engine(fresh_database_url(backend, tmp_path))
    try:
        migrate(engine)
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        ours = [d for d in diffs if any(name in repr(d) for name in (*OURS, "expires_at", "last_used_at"))]
        assert not ours, ours
        with engine.begin() as connection:
            command.downgrade(_config(connection), "0004")
        tables = set(inspect(engine).get_table_names())
        assert not tables & OURS
        assert {c["name"] for c in inspect(engine).get_columns("apitoken")} >= {"token_hash", "revoked_at"}
        assert "expires_at" not in {c["name"] for c in inspect(engine).get_columns("apitoken")}
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= OURS
    finally:
        engine.dispose()
