"""The 10^5-seed part of `python -m api.bench_service` (issue 12's targets at scale).

The database is SQLite in a temporary folder: the demo corpus (with its shipped vectors), plus synthetic seeds
up to `seeds` — each a demo seed's text with a numbered title, so the BM25 vocabulary is the corpus's — whose
passage vectors are random unit vectors stored in the embedding table, as a write would have stored them. So
nothing is encoded at start-up (the encoder counts its passages, and the figure says so).

The app runs in this process (TestClient) on the real model, loaded once. Measured:
- start-up without a snapshot, then from the snapshot with nothing changed, and from it with `changes` changes
  committed since (each change: a new title, its stored vector, its change-log row, one transaction);
- the follower replaying `changes` changes on a running service;
- `/readyz` latency; the index work of a seed PATCH beyond encoding (the follower's catch-up in the request,
  and the lock-held index update inside it); the bytes a PATCH writes (write(2) bytes of this process, all
  of them database pages under the data folder) and the bytes it writes to the index folder (none);
- a snapshot's size and time, and its bytes amortised over the changes between two snapshots.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlmodel import Session, select

from matcher.corpus import CORPUS_DIR
from matcher.embed import Encoder
from matcher.index import DENSE_FILE, TERMS_FILE, fingerprint
from matcher.index_delta import REBASE_FRACTION, REBASE_MIN_ITEMS
from matcher.records import seed_text

from . import models as m
from .change_log import ChangeKind, record_change
from .db import make_engine, migrate
from .demo import load_demo
from .embeddings import STORED_DTYPE, Embedding
from .main import create_app
from .service import passage_text
from .settings import Settings

CHUNK = 5000
Figures = dict[str, Any]


def conditions() -> Figures:
    """Where the figures were taken: cores, load average, the date."""
    load = os.getloadavg()
    return {"cores": os.cpu_count(), "load_average_1_5_15": [round(x, 2) for x in load],
            "date": time.strftime("%Y-%m-%d %H:%M %Z"), "python": sys.version.split()[0]}


def latency(samples: Sequence[float]) -> Figures:
    ms = np.asarray(samples) * 1000
    return {"n": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "max_ms": round(float(ms.max()), 2)}


class Counting:
    """The encoder, counting the passages it embeds (the start-ups must embed none)."""

    def __init__(self, inner: Encoder):
        self.inner, self.passages = inner, 0
        self.name, self.dim = inner.name, inner.dim

    def encode_queries(self, texts: Any) -> Any:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Any) -> Any:
        self.passages += len(texts)
        return self.inner.encode_passages(texts)


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    unit: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return unit


def _store(session: Session, model_id: str, texts: list[str], rng: np.random.Generator, dim: int) -> None:
    vectors = _unit(rng, len(texts), dim)
    rows = [{"model_id": model_id, "content_hash": fingerprint(t, model_id), "dim": dim,
             "vector": v.astype(STORED_DTYPE).tobytes()} for t, v in zip(texts, vectors, strict=True)]
    session.execute(insert(Embedding), rows)


def build_database(url: str, seeds: int, model_id: str, dim: int, rng: np.random.Generator) -> float:
    """The demo corpus plus synthetic seeds up to `seeds`, with stored vectors; returns the seconds it took."""
    started = time.perf_counter()
    db = make_engine(url)
    migrate(db)
    with Session(db) as session:
        load_demo(session, CORPUS_DIR)
        demo = session.exec(select(m.Seed)).all()
        todo = max(0, seeds - len(demo))
        for start in range(0, todo, CHUNK):
            batch: list[dict[str, Any]] = []
            for k in range(start, min(todo, start + CHUNK)):
                base = demo[k % len(demo)]
                batch.append({"title": f"{base.title}（合成{k}）", "summary": base.summary, "keywords": base.keywords,
                              "market_areas": base.market_areas, "readiness": base.readiness,
                              "researcher_id": base.researcher_id, "organisation_id": base.organisation_id})
            session.execute(insert(m.Seed), batch)
            texts = [seed_text(row["title"], row["summary"], row["keywords"]) for row in batch]
            _store(session, model_id, texts, rng, dim)
            session.commit()
    db.dispose()
    return time.perf_counter() - started


def commit_changes(url: str, count: int, model_id: str, dim: int, rng: np.random.Generator, tag: str) -> None:
    """`count` seed edits as the API commits them: new title, its stored vector and a change row, together."""
    db = make_engine(url)
    with Session(db) as session:
        ids = list(session.exec(select(m.Seed.id).order_by(m.Seed.id).limit(count)))  # type: ignore[arg-type]
        for seed_id in ids:
            seed = session.get_one(m.Seed, seed_id)
            seed.title = f"{seed.title[:150]}・{tag}"
            session.add(seed)
            _store(session, model_id, [passage_text(seed)], rng, dim)
            record_change(session, ChangeKind.seed, m.stored_id(seed))
            session.commit()
    db.dispose()


@contextmanager
def timed_start(settings: Settings, encoder: Counting, into: Figures) -> Iterator[TestClient]:
    """The app started (lifespan run); `into` gets the wall and CPU seconds that took and the passages encoded."""
    before = encoder.passages
    wall, cpu = time.perf_counter(), time.process_time()
    with TestClient(create_app(settings, encoder=encoder)) as client:
        into.update({"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2),
                     "passages_encoded": encoder.passages - before})
        yield client


def _timer(fn: Callable[..., Any], samples: list[float], cpu: list[float] | None = None) -> Callable[..., Any]:
    """`fn`, appending each call's wall seconds to `samples` and its own thread's CPU seconds to `cpu`: the
    machine is shared, and the CPU time of the calling thread is what the code itself cost."""
    def timed(*args: Any, **kwargs: Any) -> Any:
        started, thread_cpu = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            samples.append(time.perf_counter() - started)
            if cpu is not None:
                cpu.append(time.thread_time() - thread_cpu)

    return timed


def _written_bytes() -> int:
    """Bytes this process passed to write(2) and friends so far (Linux /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no wchar")


def _folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def bench_writes(client: TestClient, token: str, writes: int, index_dir: Path) -> Figures:
    """PATCH seed titles; time the follower's catch-up in each request and the index update inside it."""
    service, follower = client.app.state.service, client.app.state.follower  # type: ignore[attr-defined]
    catch_up: list[float] = []
    catch_up_cpu: list[float] = []
    updates: list[float] = []
    updates_cpu: list[float] = []
    requests: list[float] = []
    follower.catch_up = _timer(follower.catch_up, catch_up, catch_up_cpu)
    service.seed_changed = _timer(service.seed_changed, updates, updates_cpu)
    headers = {"Authorization": f"Bearer {token}"}
    index_before, written = _folder_state(index_dir), _written_bytes()
    for k in range(writes):
        started = time.perf_counter()
        body = {"title": f"改訂された題目 その{k}"}
        response = client.patch(f"/api/v1/seeds/{20001 + k}", json=body, headers=headers)
        requests.append(time.perf_counter() - started)
        response.raise_for_status()
    per_request = (_written_bytes() - written) / writes
    changed = {p: s for p, s in _folder_state(index_dir).items() if index_before.get(p) != s}
    del follower.catch_up, service.seed_changed  # the instance attributes: back to the methods
    return {"patch_request_incl_encoding": latency(requests), "index_work_follower_catch_up": latency(catch_up),
            "index_work_follower_catch_up_thread_cpu": latency(catch_up_cpu),
            "index_update_under_lock": latency(updates), "index_update_under_lock_thread_cpu": latency(updates_cpu),
            "bytes_written_per_request": round(per_request), "index_folder_files_changed_by_requests": len(changed)}


def bench_snapshot(client: TestClient, changes: int) -> Figures:
    """One save, as the upkeep thread makes it, of the last `changes` changes: a delta (matcher/index_delta.py)."""
    follower = client.app.state.follower  # type: ignore[attr-defined]
    wall, cpu = time.perf_counter(), time.process_time()
    written = client.app.state.service.write_snapshot(applied_sequence=follower.tracker.floor)  # type: ignore[attr-defined]
    took = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
    return took | {"bytes_written": written, "changes": changes, "bytes_per_change": round(written / changes)}


def bench_replay(client: TestClient, url: str, changes: int, model_id: str, dim: int,
                 rng: np.random.Generator) -> Figures:
    """The follower stopped, `changes` changes committed, then one catch-up timed: the replay rate."""
    follower = client.app.state.follower  # type: ignore[attr-defined]
    follower.stop()
    commit_changes(url, changes, model_id, dim, rng, "再生")
    wall, cpu = time.perf_counter(), time.process_time()
    applied = follower.catch_up()
    return {"changes": applied, "wall_s": round(time.perf_counter() - wall, 2),
            "cpu_s": round(time.process_time() - cpu, 2)}


def _admin_token(client: TestClient) -> str:
    from .auth import issue_token

    with Session(client.app.state.db) as session:  # type: ignore[attr-defined]
        account = m.Account(name="bench admin", role=m.Role.admin)
        session.add(account)
        session.commit()
        return issue_token(session, account, label="bench")


def bench_scale(*, seeds: int = 100_000, changes: int = 1000, writes: int = 100, threads: int = 2,
                tmp: Path | None = None, encoder: Encoder | None = None) -> Figures:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as name:
        folder = tmp or Path(name)
        return _bench_scale(folder, seeds, changes, writes, threads, encoder)


def _bench_scale(folder: Path, seeds: int, changes: int, writes: int, threads: int,
                 encoder: Encoder | None) -> Figures:
    out: Figures = {"conditions_before": conditions(), "seeds": seeds}
    wall, cpu = time.perf_counter(), time.process_time()
    counting = Counting(encoder or Encoder(threads=threads))
    out["model_load"] = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
    rng = np.random.default_rng(0)
    url = f"sqlite:///{folder / 'matcher.db'}"
    out["build_database_s"] = round(build_database(url, seeds, counting.name, counting.dim, rng), 1)
    settings = Settings(data_dir=folder, database_url=url, rate_limit_enabled=False, threads=threads,
                        snapshot_interval=3600, snapshot_every_changes=10**9)  # snapshots only when told, here
    index_dir = settings.resolved_index_dir
    out["start_without_snapshot"] = {}
    with timed_start(settings, counting, out["start_without_snapshot"]) as client:
        out["readyz"] = latency([_timed_get(client, "/readyz") for _ in range(300)])
        out["writes"] = bench_writes(client, _admin_token(client), writes, index_dir)
        # the start-up saved a full snapshot; the saves after it are deltas (matcher/index_delta.py)
        out[f"snapshot_after_{writes}_patches"] = bench_snapshot(client, writes)
        out["replay_live"] = bench_replay(client, url, changes, counting.name, counting.dim, rng)
        out[f"snapshot_after_{changes}_replayed_changes"] = bench_snapshot(client, changes)
        base = sum((index_dir / part / name).stat().st_size for part in ("seeds", "needs")
                   for name in (DENSE_FILE, TERMS_FILE))
        # a new base is due once the deltas hold 10% of the items: its share per change
        out["full_snapshot"] = {"bytes": base, "bytes_per_change_amortised":
                                round(base / max(REBASE_FRACTION * seeds, REBASE_MIN_ITEMS))}
    # shutting down wrote the snapshot of everything applied; nothing changed since
    out["start_from_snapshot"] = {}
    with timed_start(settings, counting, out["start_from_snapshot"]):
        pass
    commit_changes(url, changes, counting.name, counting.dim, rng, "起動前")
    out[f"start_from_snapshot_plus_{changes}_changes"] = {}
    with timed_start(settings, counting, out[f"start_from_snapshot_plus_{changes}_changes"]):
        pass
    out["conditions_after"] = conditions()
    return out


def _timed_get(client: TestClient, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    took = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {response.text}")
    return took
