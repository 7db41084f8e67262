"""The API's report jobs on Ray shards (MATCHER_REPORT_SHARDS, MATCHER_RAY_ADDRESS; api/report_ray.py).

A sharded job gives the very report of a job in the worker's thread. Ray is started here by the app itself, from
its jobs' threads, as in a service, not by the `cluster` fixture, which starts it in the main thread: a local
cluster's processes die with the thread that started them, which only a job after the first one shows (the
second sharded job below). A job whose cluster does not answer fails at once with a Japanese reason and keeps
no file; the settings refuse fewer than one shard.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.main import create_app
from api.report_ray import RAY_FAILED, RAY_UNAVAILABLE, ClusterUnavailable, ReportCluster, failure_message
from api.reports_jobs import job_dir
from api.settings import Settings

from ..conftest import GOLDEN
from .conftest import GENEROUS_LIMITS, make_actors, wait_for_report

BASE = "/api/v1/reports"
JOBS = [{"formats": ["json"], "top_partners": 20, "assignment_cap": 2},
        {"formats": ["json"], "regions": ["中部", "近畿"], "sort": "content"}]
VOLATILE = {"generated_at", "timings"}  # when the report was made and how long its stages took


@contextmanager
def app_client(tmp_path, encoder, name: str, **settings):
    data_dir = tmp_path / name
    data_dir.mkdir()
    app = create_app(Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'test.db'}", load_demo=True,
                              corpus_dir=GOLDEN, **GENEROUS_LIMITS, **settings), encoder=encoder)
    with TestClient(app) as client:
        yield client, make_actors(app)


def _reports(client, headers, jobs) -> list[dict]:
    reports = []
    for body in jobs:
        r = client.post(BASE, json=body, headers=headers)
        assert r.status_code == 202, r.text
        job = wait_for_report(client, headers, r.json()["id"])
        assert job["status"] == "succeeded", job
        reports.append(_stable(json.loads(client.get(f"{BASE}/{job['id']}/files/report.json",
                                                     headers=headers).content)))
    return reports


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def test_sharded_report_jobs_give_the_reports_of_the_worker_thread(tmp_path, encoder, monkeypatch):
    ray = pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a new local cluster, whatever the shell points at
    already = ray.is_initialized()
    with app_client(tmp_path, encoder, "plain") as (client, actors):
        plain = _reports(client, actors.coordinator, JOBS)
    with app_client(tmp_path, encoder, "sharded", report_shards=2, report_jobs_running=2) as (client, actors):
        cluster = client.app.state.report_queue.cluster
        assert (cluster.shards, cluster.address, cluster.is_open) == (2, None, False)  # opened by the first job
        sharded = _reports(client, actors.coordinator, JOBS)  # the second on the session the first one opened
        assert cluster.is_open and ray.is_initialized()
    assert plain[0]["needs"] and plain[1]["needs"] and plain[0] != plain[1]
    assert sharded == plain  # partners, scores, flows, assignment: every field but the time
    assert not cluster.is_open and ray.is_initialized() == already  # closed with the app


def test_a_job_whose_ray_cluster_does_not_answer_fails_with_a_japanese_reason(tmp_path, encoder):
    with app_client(tmp_path, encoder, "down", report_shards=2, ray_address="127.0.0.1:1") as (client, actors):
        needs_before = client.get("/api/v1/needs", headers=actors.coordinator).json()
        r = client.post(BASE, json={"formats": ["json", "csv"]}, headers=actors.coordinator)
        job = wait_for_report(client, actors.coordinator, r.json()["id"], timeout=30)
        assert job["status"] == "failed" and job["message"] == RAY_UNAVAILABLE.format(job_id=job["id"])
        assert job["files"] == [] and not job_dir(client.app.state.settings.data_dir, job["id"]).exists()
        assert client.get("/api/v1/needs", headers=actors.coordinator).json() == needs_before  # nothing lost
        assert not client.app.state.report_queue.cluster.is_open  # the next job tries again


def test_report_shards_are_at_least_one(monkeypatch):
    with pytest.raises(ValidationError, match="report_shards"):
        Settings(report_shards=0)
    monkeypatch.setenv("MATCHER_REPORT_SHARDS", "0")
    with pytest.raises(ValidationError, match="report_shards"):
        Settings()
    monkeypatch.setenv("MATCHER_REPORT_SHARDS", "4")
    monkeypatch.setenv("MATCHER_RAY_ADDRESS", "ray://head:10001")
    assert (Settings().report_shards, Settings().ray_address) == (4, "ray://head:10001")
    monkeypatch.delenv("MATCHER_REPORT_SHARDS")
    monkeypatch.delenv("MATCHER_RAY_ADDRESS")
    assert (Settings().report_shards, Settings().ray_address) == (1, "")  # in the worker, as before
    with pytest.raises(ValueError):
        ReportCluster(0)


def test_a_session_broken_by_ray_is_closed_once_no_job_uses_it(monkeypatch):
    ray = pytest.importorskip("ray")
    closed = []

    class Keeper:
        def close(self):
            closed.append(True)

    monkeypatch.setattr("api.report_ray._SessionKeeper.open", lambda address: Keeper())
    cluster = ReportCluster(2)
    with cluster.session():
        pass
    with pytest.raises(ValueError), cluster.session():  # the report's own failure: the session stays
        raise ValueError("not Ray's")
    assert cluster.is_open and not closed
    with pytest.raises(ray.exceptions.RaySystemError), cluster.session():
        raise ray.exceptions.RaySystemError("node lost")
    assert not cluster.is_open and closed == [True]
    assert failure_message(ray.exceptions.RaySystemError("node lost"), 7) == RAY_FAILED.format(job_id=7)
    assert failure_message(ClusterUnavailable("down"), 7) == RAY_UNAVAILABLE.format(job_id=7)
    assert failure_message(ValueError("x"), 7) is None
