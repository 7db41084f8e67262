"""The service trains its approximate (IVF) index in the background past the threshold (api/ann_rebuild.py).

An app on SQLite over the golden corpus (12 seeds) and the real model, with a threshold of 20 seeds: the seeds
written through the API push the collection past it, the follower pokes the rebuilder, and the index is trained
off the service's lock while writes and matches go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from matcher.ann import AnnRebuild, AnnSettings, DenseAnn

from ..conftest import GOLDEN
from .conftest import GENEROUS_LIMITS, Actors, make_actors

API = "/api/v1"
THRESHOLD = 20
TOPICS = ["水田の雑草を抑える微生物資材", "橋梁の腐食を画像から見つける手法", "地下水の硝酸を除く吸着材",
          "高齢者の歩行を支える軽量装具", "漁港の水揚げを予測する統計モデル", "竹の繊維を使った樹脂部品",
          "雪を冷熱源に使う倉庫", "木質バイオマスの小型ボイラー", "果樹の病害を早く見つけるセンサー",
          "廃食用油から作る潤滑剤"]
NEED = {"title": "温泉排水の熱を融雪に使いたい",
        "description": "旅館街の温泉排水の熱で、冬の歩道の雪を融かす仕組みを大学と一緒に作りたい。",
        "prefecture_code": "15"}
T = TypeVar("T")


@contextmanager
def app_client(tmp_path, encoder, **overrides: Any) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'test.db'}", load_demo=True,
                        corpus_dir=GOLDEN, ann_threshold=THRESHOLD, ann_kind="ivf-flat",
                        ann_max_probe_share=1.0,  # one list of one: searched whatever nprobe it needs
                        **GENEROUS_LIMITS, **overrides)
    with TestClient(create_app(settings, encoder=encoder)) as client:
        yield client


def post_seed(client: TestClient, actors: Actors, title: str, summary: str) -> int:
    created = client.post(f"{API}/seeds", json={"title": title, "summary": summary, "keywords": [title[:6]]},
                          headers=actors.researcher)
    assert created.status_code == 201, created.json()
    return int(created.json()["id"])


def filler_seed(client: TestClient, actors: Actors, i: int) -> int:
    topic = TOPICS[i % len(TOPICS)]
    return post_seed(client, actors, f"{topic}（試験 {i}）", f"{topic}について、試験 {i} 番の研究を進めています。")


def wait_for(value: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while (found := value()) is None or found is False:
        assert time.monotonic() < deadline, f"not reached in {timeout} s"
        time.sleep(0.02)
    return found


def fill_to_threshold(client: TestClient, actors: Actors) -> list[int]:
    seeds = client.app.state.service.engine.seed_index  # type: ignore[attr-defined]
    missing = THRESHOLD - len(seeds)
    assert missing > 1, "the golden corpus alone is past the test's threshold"
    ids = [filler_seed(client, actors, i) for i in range(missing)]
    assert len(seeds) == THRESHOLD
    return ids


def test_the_service_trains_its_index_past_the_threshold_off_the_lock(tmp_path, encoder, monkeypatch):
    started, proceed = threading.Event(), threading.Event()
    train = AnnRebuild.build

    def gated(self: AnnRebuild, queries: Any = None) -> DenseAnn:
        started.set()
        assert proceed.wait(60), "the test never let the build go on"
        return train(self, queries)

    monkeypatch.setattr(AnnRebuild, "build", gated)
    searched = []
    candidates = DenseAnn.candidates
    monkeypatch.setattr(DenseAnn, "candidates", lambda self, *a, **k: searched.append(1) or candidates(self, *a, **k))
    try:
        with app_client(tmp_path, encoder) as client:
            actors = make_actors(client.app)
            service = client.app.state.service
            seeds = service.engine.seed_index
            assert seeds.ann.settings == AnnSettings(threshold=THRESHOLD, kind="ivf-flat", max_probe_share=1.0)
            assert service.engine.need_index.ann.settings == seeds.ann.settings
            assert seeds.ann.index is None and not started.is_set()

            filler = fill_to_threshold(client, actors)
            assert started.wait(30), "no rebuild began once the collection reached the threshold"
            assert seeds.ann.index is None and seeds.ann.rebuild is not None
            # while the index trains, writes and matches go on: the lock is not held
            during = post_seed(client, actors, "温泉排水の熱で歩道を融雪する熱交換器",
                               "温泉の排水から熱を取り出し、冬の歩道の雪を融かす熱交換器を開発しています。")
            withdrawn = filler[0]
            assert client.delete(f"{API}/seeds/{withdrawn}", headers=actors.researcher).status_code == 200
            need = client.post(f"{API}/needs", json=NEED, headers=actors.poster)
            assert need.status_code == 201 and need.json()["match"]["partners"]
            assert seeds.ann.index is None and not searched  # still the exact search
            proceed.set()

            ann = wait_for(lambda: seeds.ann.index)
            assert ann.kind == "ivf-flat" and ann.trained_size == THRESHOLD and ann.changes == 0
            with service._lock:
                held = set(ann.candidates(seeds.vectors_of([during])[0], len(seeds)).tolist())
                assert held == seeds.ids() and len(ann) == len(seeds)  # the writes made during the build
                assert during in held and withdrawn not in held
                assert seeds.ann.active(len(seeds)) is ann and seeds.ann.rebuild is None
            assert service.ann_rebuilder.built == 1 and service.ann_rebuilder.failed == 0

            searched.clear()
            found = client.post(f"{API}/needs/{need.json()['id']}/matches", json={"level": "seed", "top_k": 3},
                                headers=actors.poster)
            assert found.status_code == 200 and searched, "the match did not go through the IVF index"
            assert found.json()["partners"][0]["seeds"][0]["seed_id"] == during
            assert client.get("/readyz").status_code == 200
    finally:
        proceed.set()


def test_a_failing_build_leaves_the_service_answering_and_no_index(tmp_path, encoder, monkeypatch, caplog):
    attempts: list[int] = []

    def broken(self: AnnRebuild, queries: Any = None) -> DenseAnn:
        attempts.append(len(self.ids))
        raise RuntimeError("training failed (test)")

    monkeypatch.setattr(AnnRebuild, "build", broken)
    caplog.set_level(logging.ERROR, logger="api.ann_rebuild")
    with app_client(tmp_path, encoder, ann_retry_after_s=0) as client:
        actors = make_actors(client.app)
        service = client.app.state.service
        seeds, rebuilder = service.engine.seed_index, service.ann_rebuilder
        fill_to_threshold(client, actors)
        wait_for(lambda: rebuilder.failed >= 1)
        assert attempts == [THRESHOLD]
        with service._lock:
            assert seeds.ann.index is None and seeds.ann.rebuild is None  # the next change may begin another
        assert rebuilder.alive()
        assert "ANN index rebuild of seeds" in caplog.text and "training failed (test)" in caplog.text

        need = client.post(f"{API}/needs", json=NEED, headers=actors.poster)
        assert need.status_code == 201 and need.json()["match"]["partners"]
        assert client.get("/readyz").status_code == 200

        filler_seed(client, actors, 99)  # the next change tries again (the need's too: no pause, retry_after 0)
        wait_for(lambda: THRESHOLD + 1 in attempts)
        assert set(attempts) == {THRESHOLD, THRESHOLD + 1} and rebuilder.failed == len(attempts) >= 2
        assert seeds.ann.index is None and rebuilder.built == 0


def test_the_ann_settings_come_from_the_environment(monkeypatch):
    assert Settings().ann_settings == AnnSettings()  # defaults unchanged
    monkeypatch.setenv("MATCHER_ANN_THRESHOLD", "50000")
    monkeypatch.setenv("MATCHER_ANN_KIND", "ivf-flat")
    monkeypatch.setenv("MATCHER_ANN_RETRAIN_FACTOR", "3")
    ann = Settings().ann_settings
    assert (ann.threshold, ann.kind, ann.retrain_factor) == (50_000, "ivf-flat", 3.0)
    monkeypatch.setenv("MATCHER_ANN_KIND", "hnsw")
    with pytest.raises(ValueError, match="MATCHER_ANN_KIND"):
        Settings()
