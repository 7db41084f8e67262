"""Migration 0012 (issue 15, the admin pages: an organisation's campus) goes up and down on SQLite and PostgreSQL,
keeps the organisations written before it (with no campus), and its column is the model's."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from api.db import MIGRATIONS_DIR, make_engine, migrate

from .conftest import fresh_database_url


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _columns(engine) -> dict[str, dict]:
    return {c["name"]: c for c in inspect(engine).get_columns("organisation")}


def test_0012_goes_up_and_down_keeping_the_organisations(backend, tmp_path):
    engine = make_engine(fresh_database_url(backend, tmp_path))
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), "0011")
            connection.execute(text("INSERT INTO organisation (name, kind, prefecture_code, created_at) "
                                    "VALUES ('移行前大学', 'university', '01', '2026-01-01')"))
        assert "municipality_code" not in _columns(engine)
        migrate(engine)
        column = _columns(engine)["municipality_code"]
        assert column["nullable"] and getattr(column["type"], "length", None) == 6
        with engine.begin() as connection:
            kept = connection.execute(text("SELECT name, municipality_code FROM organisation")).all()
            assert [tuple(r) for r in kept] == [("移行前大学", None)]
            command.downgrade(_config(connection), "0011")
        assert "municipality_code" not in _columns(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM organisation")).scalar() == 1
        migrate(engine)
        assert "municipality_code" in _columns(engine)
    finally:
        engine.dispose()
