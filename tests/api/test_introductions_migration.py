"""Migration 0008 (issue 15) goes up and down on SQLite and PostgreSQL and its tables are the models' tables; and
the admin commands around it: a liaison-office account, and the feedback exported as JSONL."""

from __future__ import annotations

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

import api.introduction_models  # noqa: F401  (registers the tables)
from api import models as m
from api.admin import app as admin
from api.db import MIGRATIONS_DIR, make_engine, migrate
from api.introduction_models import MatchFeedback
from api.settings import get_settings

from ..conftest import GOLDEN
from .conftest import fresh_database_url

OURS = {"introduction_request", "match_feedback", "notification"}


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def test_0008_goes_up_and_down_and_matches_the_models(backend, tmp_path):
    engine = make_engine(fresh_database_url(backend, tmp_path))
    try:
        migrate(engine)
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        ours = [d for d in diffs if any(n in repr(d) for n in (*OURS, "is_liaison_office", "receives_introductions"))]
        assert not ours, ours
        with engine.begin() as connection:
            command.downgrade(_config(connection), "0007")
        assert not set(inspect(engine).get_table_names()) & OURS
        assert "is_liaison_office" not in {c["name"] for c in inspect(engine).get_columns("account")}
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= OURS
        assert "receives_introductions" in {c["name"] for c in inspect(engine).get_columns("researcher")}
    finally:
        engine.dispose()


def test_liaison_office_accounts_and_the_feedback_export(tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MATCHER_CORPUS_DIR", str(GOLDEN))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(admin, ["load-demo"]).exit_code == 0
        engine = make_engine(get_settings().sqlalchemy_url)
        with Session(engine) as session:
            university = session.exec(select(m.Organisation).where(m.Organisation.kind == m.OrgKind.university)).first()
            city = m.Organisation(name="テスト町", kind=m.OrgKind.municipality, prefecture_code="15")
            session.add(city)
            session.commit()
            university_id, city_id = university.id, city.id
        made = runner.invoke(admin, ["create-account", "--name", "窓口", "--role", "researcher",
                                     "--organisation-id", str(university_id), "--liaison-office"])
        assert made.exit_code == 0, made.output
        refused = runner.invoke(admin, ["create-account", "--name", "町", "--role", "poster",
                                        "--organisation-id", str(city_id), "--liaison-office"])
        assert refused.exit_code != 0  # only a university's account is a liaison office
        with Session(engine) as session:
            office = session.exec(select(m.Account).where(m.Account.name == "窓口")).one()
            assert office.is_liaison_office
            poster = m.Account(name="町の担当", role=m.Role.poster, organisation_id=city_id)
            session.add(poster)
            session.flush()
            need = m.Need(title="t", description="d", prefecture_code="15", owner_account_id=poster.id)
            session.add(need)
            session.flush()
            session.add_all([
                MatchFeedback(need_id=need.id, account_id=poster.id, partner_level="university", partner_key="新潟大学",
                              partner_name="新潟大学", region="中部", useful=True, reason="近い"),
                MatchFeedback(need_id=need.id, account_id=poster.id, partner_level="researcher",
                              partner_key="researcher:3", partner_name="x", region="中部", useful=False)])
            session.commit()
            need_id, office_id = need.id, office.id
        assert runner.invoke(admin, ["set-liaison-office", str(office_id), "--off"]).exit_code == 0
        with Session(engine) as session:
            assert not session.get_one(m.Account, office_id).is_liaison_office
        out = tmp_path / "labels.jsonl"
        exported = runner.invoke(admin, ["export-feedback", "--out", str(out)])
        assert exported.exit_code == 0, exported.output
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert rows == [
            {"need_id": need_id, "partner_key": "university:新潟大学", "partner_name": "新潟大学", "label": 1,
             "reason": "近い"},
            {"need_id": need_id, "partner_key": "researcher:3", "partner_name": "x", "label": 0, "reason": None}]
        engine.dispose()
    finally:
        get_settings.cache_clear()
