"""Isolation (issue 12): readers never wait for writers, nor for report jobs, beyond a short critical section.

Checked by the order of events, never by timing: the long operation is held at a known point by a
`threading.Event`, and the short match must finish while it is held there. Were the long operation holding the
service's lock (or anything else a match needs) at that point, the match could not finish until it was released.
`GUARD_S` only turns such a deadlock into a failure instead of a hung run; a correct run never comes near it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import models as m
from api import reports_jobs
from api.embeddings import Embedding
from api.limits import TEXT_MAX_CHARS
from api.main import create_app
from api.service import passage_text
from matcher.index import fingerprint
from matcher.reports.candidates import Searcher

API = "/api/v1"
GUARD_S = 120.0
MARKER = "【隔離試験の長文】"
FILLER = "屋根の雪を融かす仕組みを、地中熱と太陽熱の組み合わせで安価に作りたい。"
LONG_DESCRIPTION = (MARKER + FILLER * 400)[:TEXT_MAX_CHARS]  # the longest description a write may send
SHORT_NEED = {"title": "カキ養殖の効率化", "description": "養殖カキの成長を早めたい。", "prefecture_code": "34"}


class HeldEncoder:
    """The real encoder, except that encoding a passage with MARKER in it waits until the test releases it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def encode_queries(self, texts: list[str]) -> Any:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> Any:
        if any(MARKER in text for text in texts):
            self.entered.set()
            self.release.wait(GUARD_S)
        return self.inner.encode_passages(texts)


@pytest.fixture(scope="module")
def held(encoder) -> HeldEncoder:
    return HeldEncoder(encoder)


@pytest.fixture(scope="module")
def client(settings, held):
    with TestClient(create_app(settings, encoder=held)) as test_client:
        yield test_client


@pytest.fixture
def background() -> Iterator[Callable[..., Future[Any]]]:
    """Runs a call in another thread, as another user's request would arrive."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield pool.submit


def lock_is_free(client) -> bool:
    """Whether another thread could take the service's lock now (a match takes it to search)."""
    lock = client.app.state.service._lock
    if not lock.acquire(blocking=False):
        return False
    lock.release()
    return True


def test_a_short_match_finishes_while_a_long_write_is_encoding(client, actors, held, background):
    need_id = client.post(f"{API}/needs", json=SHORT_NEED, headers=actors.poster).json()["id"]
    other_id = client.post(f"{API}/needs", json=SHORT_NEED, headers=actors.other_poster).json()["id"]
    held.entered.clear()
    held.release.clear()
    try:
        write = background(client.patch, f"{API}/needs/{need_id}", json={"description": LONG_DESCRIPTION},
                           headers=actors.poster)
        assert held.entered.wait(GUARD_S), "the write never reached its encoding"
        assert lock_is_free(client)
        match = background(client.post, f"{API}/needs/{other_id}/matches", json={"top_k": 3},
                           headers=actors.other_poster).result(timeout=GUARD_S)
        assert match.status_code == 200 and match.json()["partners"]
        assert not write.done()  # the match finished while the write was still held inside its encoding
    finally:
        held.release.set()
    written = write.result(timeout=GUARD_S)
    assert written.status_code == 200, written.text
    assert written.json()["description"] == LONG_DESCRIPTION
    service = client.app.state.service
    with Session(client.app.state.db) as session:
        text = passage_text(session.get_one(m.Need, need_id))
        stored = session.get_one(Embedding, (service.encoder.name, fingerprint(text, service.encoder.name)))
    assert service.engine.needs[need_id].text == text
    assert service.engine.need_index.fingerprints[need_id] == fingerprint(text, service.encoder.name)
    assert service.engine.need_index.vectors_of([need_id])[0].tobytes() == stored.vector


def test_a_report_job_does_not_hold_up_matches_or_writes(client, actors, background, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    compute_report = reports_jobs.compute_report

    def report_held_in_its_search(*args: Any, progress: Any, **kwargs: Any) -> Any:
        def held_progress(stage: str, done: int, total: int) -> None:
            if stage == Searcher.stage and done == 0:  # the search over the seeds starts
                entered.set()
                release.wait(GUARD_S)
            progress(stage, done, total)

        return compute_report(*args, progress=held_progress, **kwargs)

    monkeypatch.setattr(reports_jobs, "compute_report", report_held_in_its_search)
    service = client.app.state.service
    needs_at_start = len(service.engine.needs)  # a report covers confidential needs too (coordinators read them)
    try:
        job = client.post(f"{API}/reports", json={"formats": ["json"]}, headers=actors.coordinator).json()
        assert entered.wait(GUARD_S), "the report never reached its search"
        assert lock_is_free(client)
        posted = background(client.post, f"{API}/needs", json=SHORT_NEED,
                            headers=actors.poster).result(timeout=GUARD_S)  # a write that matches at once
        assert posted.status_code == 201 and posted.json()["match"]["partners"]
        assert posted.json()["id"] in service.engine.needs
        assert client.get(f"{API}/reports/{job['id']}", headers=actors.coordinator).json()["status"] == "running"
    finally:
        release.set()
    finished = wait_for_job(client, actors.coordinator, job["id"])
    assert finished["status"] == "succeeded", finished
    assert finished["summary"]["needs"] == needs_at_start  # the report read the needs of its start, not the new one


def wait_for_job(client, headers, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"{API}/reports/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"report job {job_id} did not finish")


class WatchedTokenizer:
    """The service's write tokenizer, noting for each call whether the service's lock was free meanwhile."""

    def __init__(self, inner: Any, client: TestClient) -> None:
        self.inner = inner
        self.client = client
        self.lock_free_while_tokenising: list[bool] = []

    def terms(self, text: str) -> list[str]:
        # asked from another thread: the lock is re-entrant, so this thread would always get it
        with ThreadPoolExecutor(max_workers=1) as other:
            self.lock_free_while_tokenising.append(other.submit(lock_is_free, self.client).result())
        return list(self.inner.terms(text))


def test_a_long_write_is_tokenised_outside_the_services_lock(client, actors, monkeypatch):
    """MeCab on 10,000 characters takes ~100 ms: a short match must not wait behind it."""
    service = client.app.state.service
    watched = WatchedTokenizer(service._write_tokenizer, client)
    monkeypatch.setattr(service, "_write_tokenizer", watched)
    need = dict(SHORT_NEED, title="長文の取り込み", description=FILLER * 100)
    assert client.post(f"{API}/needs", json=need, headers=actors.poster).status_code == 201
    assert watched.lock_free_while_tokenising and all(watched.lock_free_while_tokenising)
    need_id = max(service.engine.needs)
    assert service.engine.needs[need_id].title == "長文の取り込み"
