"""The service benchmarks of issue 12, printed as JSON: `python -m api.bench_service` (docs/benchmarks.md).

Two parts:
- `demo`: a real server process (`matcher-admin serve --load-demo`, uvicorn) on a fresh data folder: the time
  from the command to `/readyz` 200 (what `make run` costs after set-up), then short matches on the idle
  service and while another client PATCHes 10,000-character seed texts in a loop;
- `scale`: the in-process app over 10^5 seeds whose vectors are synthetic rows of the embedding table
  (api/bench_scale.py): `/readyz`, start-up from a snapshot, replay of changes, index work and bytes per write.

Latencies are measured by the client, wall time; CPU time is the server process's (user + system), since
the machine is shared. Every figure comes with the cores and the load average it was taken under.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session

from matcher.corpus import CORPUS_DIR, load_corpus

from . import models as m
from .auth import issue_token
from .bench_scale import Figures, bench_scale, conditions, latency
from .db import make_engine, migrate

TEXT_CHARS = 10_000  # the longest seed summary the API takes (models.TEXT_MAX_CHARS)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---- the server process -------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin_command() -> list[str]:
    script = Path(sys.executable).with_name("matcher-admin")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from api.admin import app; app()"]


class Server:
    """`matcher-admin serve --load-demo` on a fresh data folder, as `make run` starts it."""

    def __init__(self, data_dir: Path, corpus_dir: Path, threads: int):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = os.environ | {"MATCHER_DATA_DIR": str(data_dir), "MATCHER_CORPUS_DIR": str(corpus_dir),
                            "MATCHER_RATE_LIMIT_ENABLED": "false", "MATCHER_THREADS": str(threads)}
        env.pop("DATABASE_URL", None)
        env.pop("MATCHER_DATABASE_URL", None)
        self.started = time.perf_counter()
        self.process = subprocess.Popen([*_admin_command(), "serve", "--load-demo", "--port", str(self.port)],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.data_dir = data_dir

    def wait_ready(self, timeout: float = 600) -> float:
        """Seconds from the command to the first `/readyz` 200."""
        while time.perf_counter() - self.started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode} before it was ready")
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=5) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise TimeoutError("the server was not ready in time")

    def request(self, method: str, path: str, token: str, body: object | None = None) -> float:
        """Seconds the request took; raises on an error status."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}{path}", data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(req, timeout=120) as response:
            response.read()
        return time.perf_counter() - started

    def cpu(self) -> float:
        return process_cpu(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def demo_server(corpus_dir: Path, threads: int) -> Iterator[tuple[Server, float, float]]:
    """A server on a fresh data folder; yields it, the seconds to ready and the CPU seconds that took."""
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        server = Server(Path(tmp), corpus_dir, threads)
        try:
            ready = server.wait_ready()
            yield server, ready, server.cpu()
        finally:
            server.stop()


def corpus_without_vectors(target: Path) -> Path:
    """A copy of the demo corpus without its shipped vectors: the start-up before they were shipped."""
    shutil.copytree(CORPUS_DIR, target, ignore=shutil.ignore_patterns("vectors"))
    return target


def _tokens(data_dir: Path) -> tuple[str, str]:
    """(coordinator, admin) API tokens, made in the server's database."""
    db = make_engine(f"sqlite:///{data_dir / 'matcher.db'}")
    try:
        migrate(db)
        with Session(db) as session:
            tokens = []
            for role in (m.Role.coordinator, m.Role.admin):
                account = m.Account(name=f"bench {role.value}", role=role)
                session.add(account)
                session.commit()
                tokens.append(issue_token(session, account, label="bench"))
            return tokens[0], tokens[1]
    finally:
        db.dispose()


def _long_text(n: int) -> str:
    """A different 10,000-character seed summary for each n, from the corpus's own sentences."""
    corpus = load_corpus(CORPUS_DIR)
    body = "".join(s.summary for s in corpus.seeds[n % 50:] + corpus.seeds[:n % 50])
    head = f"改訂{n}: "
    return (head + body)[:TEXT_CHARS]


def _matches(server: Server, token: str, need_ids: Sequence[int], count: int) -> Figures:
    """Short matches one after another; with the phase's wall time and the server's CPU time in it (which,
    while another client PATCHes, includes encoding those texts)."""
    cpu, wall = server.cpu(), time.perf_counter()
    samples = [server.request("POST", f"/api/v1/needs/{need_ids[k % len(need_ids)]}/matches", token, {"top_k": 10})
               for k in range(count)]
    return latency(samples) | {"phase_wall_s": round(time.perf_counter() - wall, 2),
                               "phase_server_cpu_s": round(server.cpu() - cpu, 2)}


def bench_demo(*, matches: int = 40, threads: int = 2, before: bool = False) -> Figures:
    """Time to ready on the demo corpus, and short-match latency idle vs. under long PATCHes."""
    out: Figures = {"conditions_before": conditions()}
    if before:
        with tempfile.TemporaryDirectory(prefix="bench-corpus-") as tmp:
            with demo_server(corpus_without_vectors(Path(tmp) / "corpora"), threads) as (_, ready, cpu):
                out["ready_without_shipped_vectors"] = {"wall_s": round(ready, 2), "server_cpu_s": round(cpu, 2)}
    with demo_server(CORPUS_DIR, threads) as (server, ready, cpu):
        out["ready_with_shipped_vectors"] = {"wall_s": round(ready, 2), "server_cpu_s": round(cpu, 2)}
        coordinator, admin = _tokens(server.data_dir)
        need_ids = [need.id for need in load_corpus(CORPUS_DIR).needs if need.visibility == "public"]
        _matches(server, coordinator, need_ids, 3)  # warm-up
        idle = _matches(server, coordinator, need_ids, matches)
        patches: list[float] = []
        stop = threading.Event()

        def patch_loop() -> None:
            n = 0
            while not stop.is_set():
                patches.append(server.request("PATCH", "/api/v1/seeds/10001", admin, {"summary": _long_text(n)}))
                n += 1

        writer = threading.Thread(target=patch_loop, daemon=True)
        writer.start()
        time.sleep(1.0)  # the first PATCH is under way
        loaded = _matches(server, coordinator, need_ids, matches)
        stop.set()
        writer.join(timeout=300)
    out["short_match_idle"], out["short_match_while_patching"] = idle, loaded
    out["patch_10000_chars"] = latency(patches) if patches else {"n": 0}
    out["p95_ratio_loaded_over_idle"] = round(loaded["p95_ms"] / idle["p95_ms"], 2)
    out["conditions_after"] = conditions()
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api.bench_service", description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="*", choices=["demo", "scale"], default=["demo", "scale"])
    parser.add_argument("--before", action="store_true", help="also time the start without the shipped vectors")
    parser.add_argument("--matches", type=int, default=40, help="short matches per phase (demo)")
    parser.add_argument("--seeds", type=int, default=100_000, help="seeds of the scale part")
    parser.add_argument("--changes", type=int, default=1000, help="changes replayed after the snapshot (scale)")
    parser.add_argument("--writes", type=int, default=100, help="PATCHes timed for the index work (scale)")
    parser.add_argument("--threads", type=int, default=2, help="the encoder's threads")
    args = parser.parse_args(argv)
    result: Figures = {}
    if "demo" in args.part:
        result["demo"] = bench_demo(matches=args.matches, threads=args.threads, before=args.before)
        print(json.dumps(result, ensure_ascii=False), file=sys.stderr, flush=True)  # partial figures, early
    if "scale" in args.part:
        result["scale"] = bench_scale(seeds=args.seeds, changes=args.changes, writes=args.writes,
                                      threads=args.threads)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
