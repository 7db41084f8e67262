"""Fair use (issue 12): per-account rate limits on matches and writes, and the bounded queue of report jobs.

This module's app has small limits of its own (the `settings` fixture below replaces the shared one), counted
per hour so that no test can slip into a fresh window however slow the machine. Each test spends the
budget of its own accounts. The report queue test holds its running job on an event: nothing is timed.
"""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session

from api import reports_jobs
from api.auth import account_for_token, issue_token
from api.settings import Settings

from ..conftest import GOLDEN
from .conftest import fresh_database_url

API = "/api/v1"
MATCHES_PER_HOUR = 3
WRITES_PER_HOUR = 4
SEED = {"title": "茶殻を混ぜた消臭不織布", "summary": "緑茶の茶殻を不織布に混ぜ、消臭シートにする。"}
NEED = {"title": "茶殻の再利用", "description": "工場で出る茶殻を消臭製品にしたい。", "prefecture_code": "22"}


@pytest.fixture(scope="module")
def settings(backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"limits-{backend}")
    return Settings(data_dir=tmp, database_url=fresh_database_url(backend, tmp), load_demo=True, corpus_dir=GOLDEN,
                    rate_limit_match=f"{MATCHES_PER_HOUR}/hour", rate_limit_write=f"{WRITES_PER_HOUR}/hour",
                    report_jobs_running=1, report_jobs_waiting=1)


def assert_rate_limited(response, wording: str) -> None:
    """The project's error format, in Japanese, with a Retry-After within the window."""
    assert response.status_code == 429, response.text
    assert response.json() == {"error": {"code": "rate_limited", "message": response.json()["error"]["message"],
                                         "details": []}}
    assert wording in response.json()["error"]["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 3600


def a_public_need(client, headers) -> int:
    return client.get(f"{API}/needs", headers=headers).json()["items"][0]["id"]


def test_the_match_after_the_limit_is_refused_and_other_accounts_are_not(client, actors):
    need_id = a_public_need(client, actors.poster)
    url = f"{API}/needs/{need_id}/matches"
    for _ in range(MATCHES_PER_HOUR):
        assert client.post(url, json={}, headers=actors.poster).status_code == 200
    refused = client.post(url, json={}, headers=actors.poster)
    assert_rate_limited(refused, "照合の回数が上限（1時間あたり3回）に達しました")

    assert client.post(url, json={}, headers=actors.other_poster).status_code == 200  # another account
    assert client.get(f"{API}/needs/{need_id}", headers=actors.poster).status_code == 200  # reads are not limited
    assert client.post(url, json={}).status_code == 401  # no token: still told to sign in, not to wait


def test_the_limit_follows_the_account_not_the_token(client, actors):
    need_id = a_public_need(client, actors.coordinator)
    with Session(client.app.state.db) as session:
        account = account_for_token(session, actors.coordinator["Authorization"].removeprefix("Bearer "))
        assert account is not None
        second_token = {"Authorization": f"Bearer {issue_token(session, account, label='二つ目')}"}
    for headers in [actors.coordinator, second_token, actors.coordinator]:
        assert client.post(f"{API}/needs/{need_id}/matches", json={}, headers=headers).status_code == 200
    assert_rate_limited(client.get(f"{API}/seeds/1/needs", headers=second_token), "照合の回数が上限")


def test_writes_are_limited_on_their_own_budget(client, actors):
    seed = client.post(f"{API}/seeds", json=SEED, headers=actors.researcher)
    assert seed.status_code == 201, seed.text
    url = f"{API}/seeds/{seed.json()['id']}"
    for title in ("茶殻の消臭シート", "茶殻の消臭マット"):
        assert client.patch(url, json={"title": title}, headers=actors.researcher).status_code == 200
    assert client.delete(url, headers=actors.researcher).status_code == 200
    assert_rate_limited(client.post(f"{API}/seeds", json=SEED, headers=actors.researcher),
                        "登録・変更の回数が上限（1時間あたり4回）に達しました")
    researcher_patch = client.patch(f"{API}/researchers/{actors.researcher_id}", json={"email_visibility": "public"},
                                    headers=actors.researcher)
    assert_rate_limited(researcher_patch, "登録・変更の回数が上限")

    assert client.get(f"{API}/seeds/1/needs", headers=actors.researcher).status_code == 200  # matches: own budget
    assert client.post(f"{API}/seeds", json=SEED, headers=actors.other_researcher).status_code == 201


def test_posting_a_need_spends_a_match_and_a_write(client, actors):
    for _ in range(MATCHES_PER_HOUR):
        assert client.post(f"{API}/needs", json=NEED, headers=actors.admin).status_code == 201
    assert_rate_limited(client.post(f"{API}/needs", json=NEED, headers=actors.admin), "照合の回数が上限")
    # the three needs spent three of the four writes: one organisation more, and the writes are spent too
    organisation = {"name": "テスト県 工業技術センター", "kind": "municipality", "prefecture_code": "22"}
    assert client.post(f"{API}/organisations", json=organisation, headers=actors.admin).status_code == 201
    assert_rate_limited(client.post(f"{API}/organisations", json=organisation, headers=actors.admin),
                        "登録・変更の回数が上限")


def test_the_report_queue_refuses_a_job_when_full(client, actors, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    real_compute = reports_jobs.compute_report

    def held_compute(*args, **kwargs):  # the running job waits here until the test lets it go
        entered.set()
        assert release.wait(timeout=300), "the test never released the report job"
        return real_compute(*args, **kwargs)

    monkeypatch.setattr(reports_jobs, "compute_report", held_compute)
    start = {"formats": ["json"]}
    running = client.post(f"{API}/reports", json=start, headers=actors.coordinator).json()
    assert entered.wait(timeout=300), "the first report job never started"
    waiting = client.post(f"{API}/reports", json=start, headers=actors.coordinator).json()
    threads = [reports_jobs.ACTIVE[running["id"]], reports_jobs.ACTIVE[waiting["id"]]]
    try:
        assert client.get(f"{API}/reports/{running['id']}", headers=actors.coordinator).json()["status"] == "running"
        assert client.get(f"{API}/reports/{waiting['id']}", headers=actors.coordinator).json()["status"] == "queued"
        jobs_before = len(client.get(f"{API}/reports", headers=actors.coordinator).json())
        for who in (actors.coordinator, actors.admin):  # one queue for the process, whoever asks
            assert_rate_limited(client.post(f"{API}/reports", json=start, headers=who),
                                "レポートの作成が混み合っています（同時に作成 1 件・待機 1 件まで）")
        assert len(client.get(f"{API}/reports", headers=actors.coordinator).json()) == jobs_before  # nothing kept
    finally:
        release.set()
        for thread in threads:
            thread.join()
    for job in (running, waiting):
        assert client.get(f"{API}/reports/{job['id']}", headers=actors.coordinator).json()["status"] == "succeeded"
    again = client.post(f"{API}/reports", json=start, headers=actors.coordinator)
    assert again.status_code == 202, again.text
    last = reports_jobs.ACTIVE.get(again.json()["id"])  # absent once it has finished
    if last is not None:
        last.join()
