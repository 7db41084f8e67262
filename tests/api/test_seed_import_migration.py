"""Migration 0009 (issue 15, bulk seed import): a seed's external id, unique per university; it goes up and down on
SQLite and PostgreSQL, and the column and constraint are the model's."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from api.db import make_engine, migrate

from .conftest import fresh_database_url
from .test_hardening_migration import _config

CONSTRAINT = "uq_seed_organisation_external_id"


def _seed_columns(engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("seed")}


def _insert_seed(connection, external_id: str | None) -> None:
    connection.execute(text(
        "INSERT INTO seed (title, summary, keywords, market_areas, visibility, researcher_id, organisation_id, "
        "status, created_at, updated_at, external_id) VALUES ('題', '', '[]', '[]', 'public', 1, 1, 'active', "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :external_id)"), {"external_id": external_id})


def test_0009_goes_up_and_down_and_matches_the_model(backend, tmp_path):
    engine = make_engine(fresh_database_url(backend, tmp_path))
    try:
        migrate(engine)
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        ours = [d for d in diffs if "external_id" in repr(d) or CONSTRAINT in repr(d)]
        assert not ours, ours
        assert CONSTRAINT in {c["name"] for c in inspect(engine).get_unique_constraints("seed")}
        with engine.begin() as connection:
            command.downgrade(_config(connection), "0008")
        assert "external_id" not in _seed_columns(engine)
        migrate(engine)
        assert "external_id" in _seed_columns(engine)
    finally:
        engine.dispose()


def test_an_external_id_is_unique_in_its_university_and_seeds_without_one_never_collide(backend, tmp_path):
    engine = make_engine(fresh_database_url(backend, tmp_path))
    try:
        migrate(engine)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO organisation (id, name, kind, prefecture_code, created_at) "
                                    "VALUES (1, '大学', 'university', '15', CURRENT_TIMESTAMP)"))
            connection.execute(text("INSERT INTO researcher (id, name, organisation_id, email_visibility, "
                                    "phone_visibility, created_at, receives_introductions) VALUES "
                                    "(1, '研究者', 1, 'private', 'private', CURRENT_TIMESTAMP, false)"))
            _insert_seed(connection, None)
            _insert_seed(connection, None)  # seeds registered one by one have none: no collision
            _insert_seed(connection, "S-1")
        with pytest.raises(IntegrityError), engine.begin() as connection:
            _insert_seed(connection, "S-1")
    finally:
        engine.dispose()
