"""Migration 0010 (issue 15, standing alerts) goes up and down on SQLite and PostgreSQL, and its tables are the
models' tables (api/alert_models.py), unique keys included: the at-most-once of an alert rests on one."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import api.alert_models  # noqa: F401  (registers the tables)
from api.db import MIGRATIONS_DIR, make_engine, migrate

from .conftest import fresh_database_url

OURS = {"alert_setting", "alert_sent"}


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def test_0010_goes_up_and_down_and_matches_the_models(backend, tmp_path):
    engine = make_engine(fresh_database_url(backend, tmp_path))
    try:
        migrate(engine)
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        ours = [d for d in diffs if any(name in repr(d) for name in OURS)]
        assert not ours, ours
        uniques = {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("alert_sent")}
        assert ("account_id", "need_id", "seed_id") in uniques
        with engine.begin() as connection:
            command.downgrade(_config(connection), "0009")
        assert not set(inspect(engine).get_table_names()) & OURS
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= OURS
    finally:
        engine.dispose()
