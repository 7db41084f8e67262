"""Benchmark: how long a seed written through one server takes to appear in matches served by another.

Two `matcher-admin serve` processes run on one database, each with its own index folder (so each answers
from its own index, kept up to date by its follower). Each write goes to one of them, alternately; the
delay is from the write's response to the first match response of the other server whose results hold
the new seed. The seed's text is the need's own, so it ranks first once the other index has it. Each delay
ends with one match response, so a match's own time (`match_p50_ms`, printed too) is its resolution. Target
(issue 12): p95 ≤ 1 s.

    python -m api.bench_workers --postgres postgresql+psycopg://matcher@127.0.0.1:54329/postgres
    python -m api.bench_workers                      # SQLite in a temporary folder (followers poll)
    python -m api.bench_workers --postgres URL --polling-only   # LISTEN/NOTIFY off: what polling alone gives

With --postgres a fresh database is created on that server and dropped afterwards. Prints JSON.
tests/api/test_workers.py runs the same functions.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from matcher.corpus import CORPUS_DIR

API = "/api/v1"
ADMIN = [sys.executable, "-c", "from api.admin import app; app()"]  # the installed `matcher-admin`, by module
START_BOUND_S = 120.0  # a server that is not ready by then is broken (it loads the model: seconds)
SEEN_BOUND_S = 30.0  # a write not seen on the other server by then is lost


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment(database_url: str, data_dir: Path, *, corpus_dir: Path = CORPUS_DIR,
                       notify: bool = True, **extra: str) -> dict[str, str]:
    """One server's environment: the shared database, its own data and index folders, no rate limits."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "MATCHER_DATA_DIR": str(data_dir),
                "MATCHER_INDEX_DIR": str(data_dir / "index"), "MATCHER_CORPUS_DIR": str(corpus_dir),
                "MATCHER_RATE_LIMIT_ENABLED": "false", "MATCHER_FOLLOW_NOTIFY": str(notify).lower()}, **extra)
    return env


def admin(env: Mapping[str, str], *args: str) -> str:
    """Run a `matcher-admin` command to its end; returns its last line of output (a token, for create-account)."""
    done = subprocess.run([*ADMIN, *args], env=dict(env), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"matcher-admin {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def running_servers(envs: Mapping[str, Mapping[str, str]], *serve_args: str,
                    ready_bound: float = START_BOUND_S) -> Iterator[dict[str, Server]]:
    """Start one `matcher-admin serve` per environment, all at once; wait until each is ready; stop them all."""
    servers: dict[str, Server] = {}
    with ExitStack() as stack:
        for name, env in envs.items():
            port = free_port()
            log_path = Path(env["MATCHER_DATA_DIR"]) / f"{name}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file: IO[bytes] = stack.enter_context(open(log_path, "wb"))
            process = subprocess.Popen([*ADMIN, "serve", "--port", str(port), *serve_args], env=dict(env),
                                       stdout=log_file, stderr=subprocess.STDOUT)
            servers[name] = server = Server(name, f"http://127.0.0.1:{port}", process, log_path)
            stack.callback(stop, server)  # registered after the log file: runs first
        for server in servers.values():
            wait_ready(server, ready_bound)
        yield servers


def wait_ready(server: Server, bound: float = START_BOUND_S) -> None:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server {server.name} exited ({server.process.returncode}):\n{server.log_tail()}")
        try:
            if httpx.get(server.url + "/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    raise TimeoutError(f"server {server.name} not ready after {bound:.0f} s:\n{server.log_tail()}")


def stop(server: Server) -> None:
    """SIGTERM, so the lifespan's shutdown runs (follower, listener, snapshot); SIGKILL if it hangs."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# ---- the measurement ------------------------------------------------------------------------------------
def seeds_in_match(client: httpx.Client, need_id: int) -> set[int]:
    response = client.post(f"{API}/needs/{need_id}/matches", json={"level": "seed", "top_k": 10})
    response.raise_for_status()
    return {hit["seed_id"] for partner in response.json()["partners"] for hit in partner["seeds"]}


def first_public_need(client: httpx.Client) -> dict[str, Any]:
    response = client.get(f"{API}/needs", params={"limit": 1})
    response.raise_for_status()
    need: dict[str, Any] = response.json()["items"][0]
    return need


def a_researcher_id(client: httpx.Client) -> int:
    response = client.get(f"{API}/seeds", params={"limit": 1})
    response.raise_for_status()
    researcher_id: int = response.json()["items"][0]["researcher_id"]
    return researcher_id


def propagation_delay(writer: httpx.Client, reader: httpx.Client, need: dict[str, Any], researcher_id: int,
                      number: int) -> float:
    """Write a seed through `writer`; seconds until `reader` first shows it in the need's matches. The seed is
    withdrawn afterwards (through the writer), so the next one ranks first again."""
    body = {"title": f"{need['title']}（{number}）", "summary": need["description"], "keywords": [],
            "market_areas": [], "researcher_id": researcher_id}
    response = writer.post(f"{API}/seeds", json=body)
    response.raise_for_status()
    seed_id = response.json()["id"]
    written = time.perf_counter()
    deadline = time.monotonic() + SEEN_BOUND_S
    while seed_id not in seeds_in_match(reader, need["id"]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"seed {seed_id} written {SEEN_BOUND_S:.0f} s ago is not in the other server's matches")
    delay = time.perf_counter() - written
    writer.delete(f"{API}/seeds/{seed_id}").raise_for_status()
    return delay


def measure(first: httpx.Client, second: httpx.Client, *, writes: int = 20) -> list[float]:
    """Delays of `writes` seeds, written through each server in turn and read through the other."""
    need, researcher_id = first_public_need(first), a_researcher_id(first)
    pairs = [(first, second), (second, first)]
    return [propagation_delay(*pairs[i % 2], need, researcher_id, i) for i in range(writes)]


def read_latency_ms(client: httpx.Client, need_id: int, reads: int = 10) -> float:
    """The median time of one match on an idle server: the resolution of the delays above (each ends with one)."""
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        seeds_in_match(client, need_id)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1)


def summary(delays: list[float]) -> dict[str, float | int]:
    ordered = sorted(delays)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"writes": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(p95 * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1)}


# ---- the command -----------------------------------------------------------------------------------------
@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped afterwards."""
    import psycopg

    name = f"matcher_bench_{uuid.uuid4().hex[:10]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(database_url: str, folder: Path, *, writes: int, notify: bool, corpus_dir: Path) -> dict[str, Any]:
    envs = {name: server_environment(database_url, folder / name, corpus_dir=corpus_dir, notify=notify)
            for name in ("first", "second")}
    setup = envs["first"]
    admin(setup, "load-demo")  # migrates, then loads: once, before either server starts
    token = admin(setup, "create-account", "--name", "bench", "--role", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    with running_servers(envs) as servers, \
            httpx.Client(base_url=servers["first"].url, headers=headers, timeout=30) as first, \
            httpx.Client(base_url=servers["second"].url, headers=headers, timeout=30) as second:
        delays = measure(first, second, writes=writes)
        read_ms = read_latency_ms(second, first_public_need(second)["id"])
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    return {"what": "two servers: seed written through one, first seen in the other's matches", "backend": backend,
            "notify": notify and backend == "postgresql", **summary(delays), "match_p50_ms": read_ms}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="SERVER_URL", help="a PostgreSQL server (a fresh database is made)")
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--polling-only", action="store_true", help="turn LISTEN/NOTIFY off")
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR, help="the demo corpus to load")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp, ExitStack() as stack:
        url = (stack.enter_context(fresh_postgres_database(args.postgres)) if args.postgres
               else f"sqlite:///{Path(tmp) / 'bench.db'}")
        figures = run(url, Path(tmp), writes=args.writes, notify=not args.polling_only, corpus_dir=args.corpus)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
