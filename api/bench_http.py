"""End-to-end matches through HTTP at scale (issue 16): `POST /api/v1/needs/{id}/matches` on real servers.

    python -m api.bench_http --seeds 100000 --workers 1,2 --clients 1,2,4

The database is SQLite in a temporary folder, built as `api.bench_scale` builds it: the demo corpus (with its
shipped passage vectors) plus synthetic seeds up to `--seeds`, each a demo seed's text with a numbered title and a
random unit vector stored in the embedding table. Each need's query vector is then encoded once with the real model
and stored, as a need's write through the API stores it (the corpus ships passage vectors only), so a match encodes
nothing: what is timed is the search, the ranking, the explanations and the HTTP answer.

For each worker count, `matcher-admin serve --workers W` starts on it (the first start builds the index from the
stored vectors and saves a snapshot, the later ones start from that snapshot; each worker gets cores ÷ W torch and
FAISS threads, api/workers.py). Then, for each client count C, C threads each send `--requests` matches, one after
another, over the public demo needs (top 10 partners, the page's default): latency per request (wall, as a user
sees it) and the throughput of all C together.

Targets (issue 16, idle machine, 10^5 seeds): p50 ≤ 80 ms, p95 ≤ 150 ms; throughput grows with workers up to the
core count. The machine's load average is printed before and after: on a shared machine the figures are upper
bounds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlmodel import Session, select

from matcher.corpus import CORPUS_DIR, load_corpus
from matcher.embed import Encoder

from . import models as m
from .bench_scale import build_database, conditions, latency
from .bench_workers import API, admin, running_servers, server_environment
from .db import make_engine
from .embeddings import need_query_vector
from .service import passage_text

MODEL_ID, DIM = "multilingual-e5-small", 384  # the stored vectors' model: the one the servers load
START_BOUND_S = 1800.0  # the first start at 10^6 seeds tokenises every seed's text


def public_need_ids() -> list[int]:
    return [need.id for need in load_corpus(CORPUS_DIR).needs if need.visibility == "public"]


def store_need_query_vectors(url: str) -> int:
    """Every need's query vector, encoded and stored as the need's write stores it; returns how many."""
    encoder = Encoder(threads=2)
    db = make_engine(url)
    with Session(db) as session:
        needs = session.exec(select(m.Need)).all()
        for need in needs:
            need_query_vector(session, encoder, passage_text(need))
        session.commit()
    db.dispose()
    return len(needs)


def _client_loop(url: str, token: str, need_ids: list[int], requests: int, offset: int,
                 samples: list[float], failures: list[str]) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        for k in range(requests):
            need_id = need_ids[(offset + k) % len(need_ids)]
            started = time.perf_counter()
            response = client.post(f"{API}/needs/{need_id}/matches", json={"top_k": 10})
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                failures.append(f"{response.status_code} {response.text[:200]}")
            samples.append(elapsed)


def concurrent_matches(url: str, token: str, need_ids: list[int], clients: int, requests: int) -> dict[str, Any]:
    """`clients` threads, each `requests` matches in a row; latency over all of them and the joint throughput."""
    samples: list[float] = []
    failures: list[str] = []
    threads = [threading.Thread(target=_client_loop, args=(url, token, need_ids, requests, c * 17, samples, failures))
               for c in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} matches failed, first: {failures[0]}")
    return {"clients": clients, **latency(samples), "matches_per_s": round(len(samples) / wall, 2)}


def bench_http(*, seeds: int, workers: list[int], clients: list[int], requests: int, warmup: int = 5) -> dict[str, Any]:
    out: dict[str, Any] = {"benchmark": "POST /api/v1/needs/{id}/matches through HTTP (issue 16)", "seeds": seeds,
                           "vectors": "synthetic seeds: random unit vectors stored as a write stores them",
                           "top_k": 10, "requests_per_client": requests, "conditions_before": conditions()}
    need_ids = public_need_ids()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'bench.db'}"
        out["database_build_s"] = round(build_database(url, seeds, MODEL_ID, DIM, np.random.default_rng(0)), 1)
        out["need_query_vectors_stored"] = store_need_query_vectors(url)
        _say(f"database built: {seeds} seeds")
        env = server_environment(url, folder / "server")
        token = admin(env, "create-account", "--name", "bench", "--role", "coordinator")
        runs = []
        for count in workers:
            started = time.perf_counter()
            with running_servers({f"w{count}": env}, "--workers", str(count),
                                 ready_bound=START_BOUND_S) as servers:
                ready_s = time.perf_counter() - started
                _say(f"{count} worker(s) ready after {ready_s:.0f} s")
                server_url = servers[f"w{count}"].url
                concurrent_matches(server_url, token, need_ids, min(count, 2), warmup)  # each worker's first call
                runs.append({"workers": count, "ready_s": round(ready_s, 1),
                             "by_clients": [concurrent_matches(server_url, token, need_ids, c, requests)
                                            for c in clients]})
        out["runs"] = runs
    out["targets"] = {"p50_ms": 80, "p95_ms": 150, "throughput": "grows with workers up to the core count"}
    out["conditions_after"] = conditions()
    return out


def _say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def _counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100_000)
    parser.add_argument("--workers", type=_counts, default=[1, 2], help="worker counts, comma-separated")
    parser.add_argument("--clients", type=_counts, default=[1, 2, 4], help="concurrent clients, comma-separated")
    parser.add_argument("--requests", type=int, default=40, help="matches per client")
    args = parser.parse_args(argv)
    figures = bench_http(seeds=args.seeds, workers=args.workers, clients=args.clients, requests=args.requests)
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
