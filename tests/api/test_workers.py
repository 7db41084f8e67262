"""Several workers on one database (issue 12, "Followers").

- two `matcher-admin serve` processes on one PostgreSQL database, each with its own index: a seed written
  through one appears in the matches of the other, both ways; the delay is measured (api/bench_workers.py),
  printed, never asserted;
- `serve --workers 2` on SQLite: the demo is loaded once, by the parent; a write reaches both workers' indexes;
  a web session signed by one worker is accepted by the other;
- in-process, on PostgreSQL: a NOTIFY wakes a follower that would not poll for an hour, also after its
  listener's connection was cut; a listener without a database retries and stops cleanly.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from api import bench_http
from api import bench_workers as bench
from api.change_listener import ChangeListener
from api.main import create_app
from api.settings import Settings
from api.workers import worker_environment
from matcher.corpus import load_corpus

from ..conftest import GOLDEN
from .conftest import fresh_database_url

API = "/api/v1"
BOUND_S = 30.0  # bounds a broken follower or listener; a working one takes milliseconds (NOTIFY) or 0.25 s (poll)


def wait_until(condition: Callable[[], bool], bound: float = BOUND_S) -> bool:
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# ---- separate processes ----------------------------------------------------------------------------------
def test_two_servers_on_one_postgresql_database_see_each_others_writes(tmp_path, model_dir):
    database_url = fresh_database_url("postgresql", tmp_path)
    envs = {name: bench.server_environment(database_url, tmp_path / name, corpus_dir=GOLDEN)
            for name in ("first", "second")}
    bench.admin(envs["first"], "load-demo")
    token = bench.admin(envs["first"], "create-account", "--name", "二台目の試験", "--role", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    with bench.running_servers(envs) as servers, \
            httpx.Client(base_url=servers["first"].url, headers=headers, timeout=30) as first, \
            httpx.Client(base_url=servers["second"].url, headers=headers, timeout=30) as second:
        delays = bench.measure(first, second, writes=20)  # raises when a write is not seen within 30 s
        lags = [client.get("/readyz").json()["checks"]["lag"] for client in (first, second)]
    assert len(delays) == 20
    assert lags == [0, 0]
    print("propagation between two servers (PostgreSQL, NOTIFY):", bench.summary(delays))


def sign_in(client: httpx.Client, token: str) -> None:
    form = client.get("/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    response = client.post("/signin", data={"csrf": csrf.group(1), "token": token, "next": "/"})
    assert response.status_code == 303, response.text


def test_serve_with_two_workers_on_sqlite(tmp_path, model_dir):
    env = bench.server_environment(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path / "data", corpus_dir=GOLDEN)
    env.pop("MATCHER_WEB_SECRET", None)  # the parent must draw one for both workers
    token = bench.admin(env, "create-account", "--name", "二人のワーカー", "--role", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    # no kept-alive connection: each request may be answered by either worker
    one_shot = httpx.Limits(max_keepalive_connections=0)
    with bench.running_servers({"workers": env}, "--workers", "2", "--load-demo") as servers, \
            httpx.Client(base_url=servers["workers"].url, headers=headers, timeout=30, limits=one_shot) as api, \
            httpx.Client(base_url=servers["workers"].url, timeout=30, limits=one_shot) as browser:
        assert api.get(f"{API}/seeds").json()["total"] == len(load_corpus(GOLDEN).seeds)  # loaded once
        need = bench.first_public_need(api)
        body = {"title": need["title"], "summary": need["description"],
                "researcher_id": bench.a_researcher_id(api)}
        seed_id = api.post(f"{API}/seeds", json=body).json()["id"]
        # every worker's index gets it: ten matches in a row, whichever worker answers each, all show it
        assert wait_until(lambda: all(seed_id in bench.seeds_in_match(api, need["id"]) for _ in range(10)))
        # the HTTP benchmark's measurement (api/bench_http.py) on these two workers: every match answered
        measured = bench_http.concurrent_matches(servers["workers"].url, token, [need["id"]], clients=2, requests=2)
        sign_in(browser, token)
        statuses = {browser.get("/coordinator").status_code for _ in range(10)}
    assert measured["n"] == 4 and measured["clients"] == 2 and measured["matches_per_s"] > 0
    assert measured["p50_ms"] <= measured["p95_ms"] <= measured["max_ms"]
    assert statuses == {200}  # a worker with another secret would send the visitor back to /signin


def test_workers_get_one_web_secret_and_load_no_demo(monkeypatch):
    env = worker_environment(Settings(web_secret=None, load_demo=True))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    worker = Settings()
    assert worker.web_secret is not None and worker.web_secret.get_secret_value() == env["MATCHER_WEB_SECRET"]
    assert worker.load_demo is False
    configured = Settings(web_secret="s" * 40)
    assert "MATCHER_WEB_SECRET" not in worker_environment(configured)  # a configured secret is left as it is


def test_several_workers_share_the_cores_for_their_threads_unless_told(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert "MATCHER_THREADS" not in worker_environment(Settings(), workers=1)
    two = worker_environment(Settings(), workers=2)
    assert two["MATCHER_THREADS"] == two["OMP_NUM_THREADS"] == "1"
    assert worker_environment(Settings(), workers=8)["MATCHER_THREADS"] == "1"  # never 0
    monkeypatch.setenv("MATCHER_THREADS", "2")
    assert "MATCHER_THREADS" not in worker_environment(Settings(), workers=2)  # what the operator set stands
    monkeypatch.delenv("MATCHER_THREADS")
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert worker_environment(Settings(), workers=4)["MATCHER_THREADS"] == "4"


# ---- LISTEN/NOTIFY, in-process -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def postgres(backend):
    """Named first by the tests below, so SQLite's module-wide app is never built just to be skipped."""
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite's followers poll (tested in test_change_log.py)")


@pytest.fixture
def deaf_worker(postgres, settings, encoder, tmp_path):
    """A second worker on the same database whose follower polls once an hour: only a NOTIFY wakes it."""
    other = settings.model_copy(update={"index_dir": tmp_path / "deaf", "load_demo": False,
                                        "follow_interval": 3600.0})
    with TestClient(create_app(other, encoder=encoder)) as worker:
        assert wait_until(lambda: worker.app.state.follower.listener.listening)
        yield worker


def write_seed(client, actors, title: str) -> int:
    body = {"title": title, "summary": "雪室の冷熱で野菜を貯蔵する。", "keywords": ["雪室"], "market_areas": ["M3"]}
    response = client.post(f"{API}/seeds", json=body, headers=actors.researcher)
    assert response.status_code == 201, response.text
    seed_id: int = response.json()["id"]
    return seed_id


def test_a_notify_wakes_a_follower_that_would_not_poll_for_an_hour(postgres, client, actors, deaf_worker):
    seed_id = write_seed(client, actors, "通知で届く雪室シーズ")
    assert wait_until(lambda: seed_id in deaf_worker.app.state.service.engine.seeds)


def test_the_listener_reconnects_after_its_connection_is_cut(postgres, client, actors, deaf_worker):
    listener = deaf_worker.app.state.follower.listener
    with Session(client.app.state.db) as session:  # what a server restart or a network cut does to it
        session.connection().execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.backend_pid})
        session.commit()
    assert wait_until(lambda: listener.connections >= 2 and listener.listening)
    assert listener.failures >= 1
    assert deaf_worker.app.state.follower.state(0).alive
    seed_id = write_seed(client, actors, "再接続の後に届く雪室シーズ")
    assert wait_until(lambda: seed_id in deaf_worker.app.state.service.engine.seeds)


def test_a_listener_without_a_database_keeps_retrying_and_stops():
    woken = threading.Event()
    listener = ChangeListener("postgresql://matcher@127.0.0.1:1/none", woken.set, retry_interval=0.01)
    listener.start()
    try:
        assert wait_until(lambda: listener.failures >= 3)
    finally:
        listener.stop()
    assert listener._thread is not None and not listener._thread.is_alive()
    assert listener.connections == 0 and not woken.is_set()
