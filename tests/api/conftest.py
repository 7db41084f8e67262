"""API fixtures: one app per database backend, over the real model and the golden corpus.

The PostgreSQL backend runs when MATCHER_TEST_POSTGRES_URL names a server
(`make test` starts one with scripts/postgres.sh). With REQUIRE_POSTGRES=1
(set by .ci/run) a missing server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api import models as m
from api.auth import issue_token
from api.main import create_app
from api.settings import Settings

from ..conftest import GOLDEN

BACKENDS = ["sqlite", "postgresql"]
# the shared apps' rate limits: on, so every test goes through them, but out of any test's reach
# (tests/api/test_rate_limits.py builds its own app with small ones)
GENEROUS_LIMITS = {"rate_limit_match": "100000/minute", "rate_limit_write": "100000/minute"}


def fresh_database_url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    server = os.environ.get("MATCHER_TEST_POSTGRES_URL")
    if not server:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but MATCHER_TEST_POSTGRES_URL is not set (scripts/postgres.sh)")
        pytest.skip("no PostgreSQL server: run scripts/postgres.sh and set MATCHER_TEST_POSTGRES_URL")
    import psycopg

    name = f"matcher_test_{uuid.uuid4().hex[:10]}"
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + "/" + name


@dataclass
class Actors:
    admin: dict
    coordinator: dict
    poster: dict
    other_poster: dict
    researcher: dict  # 高田 誠, 長岡技術科学大学 (golden seed 1)
    other_researcher: dict  # 山本 浩二, 広島大学 (golden seeds 5, 6)
    researcher_id: int
    other_researcher_id: int


def make_actors(app) -> Actors:
    with Session(app.state.db) as session:
        def org(name, kind, pref):
            o = m.Organisation(name=name, kind=kind, prefecture_code=pref)
            session.add(o)
            session.flush()
            return o

        def account(name, role, organisation=None, researcher_name=None):
            a = m.Account(name=name, role=role, organisation_id=organisation.id if organisation else None)
            session.add(a)
            session.flush()
            researcher_id = None
            if researcher_name:
                r = session.exec(select(m.Researcher).where(m.Researcher.name == researcher_name)).one()
                r.account_id = a.id
                session.add(r)
                researcher_id = r.id
            session.commit()
            return {"Authorization": f"Bearer {issue_token(session, a)}"}, researcher_id

        city = org("テスト市 産業振興課", m.OrgKind.municipality, "15")
        company = org("株式会社テスト精工", m.OrgKind.company, "34")
        admin, _ = account("管理者", m.Role.admin)
        coordinator, _ = account("コーディネーター", m.Role.coordinator)
        poster, _ = account("テスト市", m.Role.poster, city)
        other_poster, _ = account("テスト精工", m.Role.poster, company)
        researcher, rid = account("高田", m.Role.researcher, researcher_name="高田 誠")
        other_researcher, orid = account("山本", m.Role.researcher, researcher_name="山本 浩二")
        return Actors(admin, coordinator, poster, other_poster, researcher, other_researcher, rid, orid)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def settings(backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"api-{backend}")
    return Settings(data_dir=tmp, database_url=fresh_database_url(backend, tmp), load_demo=True, corpus_dir=GOLDEN,
                    **GENEROUS_LIMITS)


@pytest.fixture(scope="module")
def client(settings, encoder):
    app = create_app(settings, encoder=encoder)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def actors(client) -> Actors:
    return make_actors(client.app)


def wait_for_report(client: TestClient, headers: dict, job_id: int, timeout: float = 120.0) -> dict:
    """The report job once it has succeeded or failed (an AssertionError after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/reports/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, f"report job {job_id} did not finish in {timeout}s: {job}"
        time.sleep(0.1)
