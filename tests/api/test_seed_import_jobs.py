"""Issue 15, bulk seed import jobs that every worker sees (migration 0013), on SQLite and PostgreSQL: two apps on one
database stand for two worker processes. An import started on one is polled on the other, a file checked on one is
confirmed on the other, progress is read at chunk boundaries while the import runs, and a job whose worker stops
answering shows as 中断 with nothing of it written."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, col, select

from api import models as m
from api import seed_import_jobs, seed_import_run
from api.auth import issue_token
from api.db import make_engine, migrate
from api.main import create_app
from api.seed_import_models import SeedImportJob, SeedImportUpload

from ..conftest import CountingEncoder
from ..web.conftest import sign_in
from .conftest import fresh_database_url, make_actors
from .test_hardening_migration import _config
from .test_seed_import import check, csv_of, row, seeds_of, upload_id

API = "/api/v1"
TABLES = ("seed_import_job", "seed_import_upload")


class GatedEncoder(CountingEncoder):
    """The real encoder, which can be made to stop at a chosen passage call, as a worker that hangs or dies does,
    until the test lets it go on (or fail)."""

    def __init__(self, inner):
        super().__init__(inner)
        self.calls = 0
        self.stop_at: int | None = None
        self.go = threading.Event()
        self.reached = threading.Event()
        self.fail = False

    def encode_passages(self, texts):
        self.calls += 1
        if self.stop_at is not None and self.calls >= self.stop_at:
            self.reached.set()
            assert self.go.wait(120), "the test never let the encoder go on"
            if self.fail:
                raise RuntimeError("the worker's encoder failed")
        return super().encode_passages(texts)


@pytest.fixture(scope="module")
def gated(encoder):
    return GatedEncoder(encoder)


@pytest.fixture(scope="module")
def first(settings, gated):
    """One worker: its encoder can be stopped."""
    with TestClient(create_app(settings, encoder=gated)) as client:
        yield client


@pytest.fixture(scope="module")
def second(settings, encoder, first):
    """Another worker on the same database, with an index and a job registry of its own."""
    with TestClient(create_app(settings, encoder=encoder)) as client:
        yield client


@pytest.fixture(scope="module")
def office(first):
    """The liaison office of 長岡技術科学大学 (高田 誠's university): its token and university id."""
    actors = make_actors(first.app)
    with Session(first.app.state.db) as session:
        researcher = session.get_one(m.Researcher, actors.researcher_id)
        researcher.email = "takada@example.ac.jp"
        session.add(researcher)
        account = m.Account(name="長岡技大 産学連携", role=m.Role.coordinator,
                            organisation_id=researcher.organisation_id, is_liaison_office=True)
        session.add(account)
        session.commit()
        headers = {"Authorization": f"Bearer {issue_token(session, account)}"}
        return headers, researcher.organisation_id, actors


def _start(client, headers, university_id, data) -> int:
    started = client.post(f"{API}/seed-imports", data={"organisation_id": str(university_id)},
                          files={"file": ("seeds.csv", data, "text/csv")}, headers=headers)
    assert started.status_code == 202, started.text
    return started.json()["id"]


def _until(client, headers, job_id, done, timeout=120.0) -> dict:
    deadline = time.monotonic() + timeout
    while not done(job := client.get(f"{API}/seed-imports/{job_id}", headers=headers).json()):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def test_another_worker_answers_the_progress_of_an_import(first, second, office):
    headers, university_id, actors = office
    job_id = _start(first, headers, university_id, csv_of(row("W2-1", "別のワーカーが答える取り込み")))
    job = _until(second, headers, job_id, lambda j: j["status"] not in ("queued", "running"))
    assert job["status"] == "succeeded" and job["counts"]["create"] == 1 and job["rows"] == 1
    assert job == first.get(f"{API}/seed-imports/{job_id}", headers=headers).json()  # one answer, either worker
    assert second.get(f"{API}/seed-imports/{job_id}", headers=actors.admin).status_code == 200
    assert second.get(f"{API}/seed-imports/{job_id}", headers=actors.coordinator).status_code == 403
    assert set(seeds_of(second, university_id, ["W2-1"])) == {"W2-1"}
    assert second.get(f"{API}/seed-imports/999999", headers=headers).status_code == 404


def test_a_file_checked_on_one_worker_is_confirmed_on_another_once(first, second, office):
    headers, university_id, _ = office
    page_one, page_two = TestClient(first.app), TestClient(second.app)
    csrf_one, csrf_two = sign_in(page_one, headers), sign_in(page_two, headers)
    dry = check(page_one, csrf_one, csv_of(row("W2-2", "確認と取り込みが別のワーカー"))).text
    kept = upload_id(dry)
    started = page_two.post("/seed-import/run", data={"csrf": csrf_two, "upload": kept}, follow_redirects=False)
    assert started.status_code == 303, started.text
    with Session(second.app.state.db) as session:
        assert session.get(SeedImportUpload, kept) is None  # taken: the rows are not kept beyond their import
    twice = page_one.post("/seed-import/run", data={"csrf": csrf_one, "upload": kept})
    assert twice.status_code == 404 and "もう一度ファイルを確認してください" in twice.text
    status = started.headers["location"] + "/status"
    deadline = time.monotonic() + 120
    while 'data-status="succeeded"' not in (text := page_one.get(status).text):  # polled on the first worker
        assert 'data-status="failed"' not in text and time.monotonic() < deadline, text
        time.sleep(0.2)
    assert 'id="done-create">1 件' in text


def test_an_old_checked_file_is_gone_on_every_worker(first, second, office):
    headers, _, _ = office
    page_one, page_two = TestClient(first.app), TestClient(second.app)
    csrf_one, csrf_two = sign_in(page_one, headers), sign_in(page_two, headers)
    kept = upload_id(check(page_one, csrf_one, csv_of(row("W2-3", "古い確認"))).text)
    with Session(first.app.state.db) as session:
        upload = session.get_one(SeedImportUpload, kept)
        upload.created_at = m.utcnow() - timedelta(seconds=seed_import_jobs.UPLOAD_TTL_S + 1)
        session.add(upload)
        session.commit()
    gone = page_two.post("/seed-import/run", data={"csrf": csrf_two, "upload": kept})
    assert gone.status_code == 404 and "1時間を過ぎたか" in gone.text
    with Session(second.app.state.db) as session:  # its rows (researchers' e-mail addresses) are deleted
        assert session.get(SeedImportUpload, kept) is None


def test_progress_at_chunk_boundaries_then_a_silent_worker_is_interrupted(first, second, office, gated,
                                                                          monkeypatch):
    headers, university_id, _ = office
    external_ids = [f"W2-C{i}" for i in range(6)]
    data = csv_of(*(row(e, f"チャンクごとの進み具合 {e}", summary=f"{e} の雪室の貯蔵技術。") for e in external_ids))
    monkeypatch.setattr(seed_import_run, "ENCODE_CHUNK", 2)
    gated.calls, gated.stop_at, gated.fail = 0, 2, False
    gated.go.clear()
    gated.reached.clear()
    job_id = _start(first, headers, university_id, data)
    try:
        assert gated.reached.wait(120), "the import never reached its second chunk"
        job = _until(second, headers, job_id, lambda j: j["done"] == 2)  # written after the first chunk
        assert job["status"] == "running" and job["stage"] == "文章をベクトルにしています" and job["total"] == 6

        # the worker answers no more (it hangs here; a killed one would too): once its heartbeat is stale, the job
        # is shown as interrupted, with nothing of it written
        monkeypatch.setattr(seed_import_jobs, "STALE_AFTER_S", 0.5)
        time.sleep(1.0)
        job = second.get(f"{API}/seed-imports/{job_id}", headers=headers).json()
        assert job["status"] == "interrupted" and "途中までの書き込みは残っていません" in job["message"]
        assert job["finished_at"] is not None and seeds_of(second, university_id, external_ids) == {}
        page = TestClient(second.app)
        sign_in(page, headers)
        status = page.get(f"/seed-import/jobs/{job_id}/status").text
        assert 'data-status="interrupted"' in status and "中断" in status and "hx-trigger" not in status
    finally:
        gated.fail = True
        gated.go.set()
    # the stalled worker, let go, fails: its real outcome replaces the guess, and still nothing is written
    job = _until(second, headers, job_id, lambda j: j["status"] == "failed")
    assert "何も書き込んでいません" in job["message"]
    assert seeds_of(second, university_id, external_ids) == {}
    gated.stop_at, gated.fail = None, False


def test_0013_goes_up_and_down_and_matches_the_models(backend, tmp_path):
    engine = make_engine(fresh_database_url(backend, tmp_path))
    try:
        migrate(engine)
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        ours = [d for d in diffs if any(t in repr(d) for t in TABLES)]
        assert not ours, ours
        with engine.begin() as connection:
            command.downgrade(_config(connection), "0012")
        assert not set(TABLES) & set(inspect(engine).get_table_names())
        migrate(engine)
        assert set(TABLES) <= set(inspect(engine).get_table_names())
        with Session(engine) as session:  # an empty table to start with: in-memory jobs had nothing to carry
            assert session.exec(select(SeedImportJob).where(col(SeedImportJob.id) > 0)).all() == []
    finally:
        engine.dispose()
