"""The kill test (issue 12): the real server, killed with SIGKILL at random moments while a client writes.

`matcher-admin serve` runs as a subprocess on a data dir of its own. A client thread registers, edits,
hides and withdraws seeds in a loop; after a random 0.2–2 s the server is killed (in the middle of a
request, a commit, a change-log apply or a background snapshot write: snapshots are due every 3 changes
here, so many kills land in one). Then it is started again, RUNS times. After every restart:

- every acknowledged write (a 2xx the client received) is in the database with the content it sent; the one
  request cut off by the kill may have committed or not, and either is accepted;
- /readyz becomes 200;
- the index the server loaded equals the database in ids and content fingerprints: its start-up verifies the
  snapshot in full and saves what it repaired, so the snapshot on disk is the index it holds until the first
  new write (api/verify.py compares them, under the snapshot writers' lock);
- on SQLite, `PRAGMA integrity_check` is ok (after each kill).

At the end the server is stopped cleanly (SIGTERM) after a last round of writes, and the snapshot it writes at
shutdown, its in-memory index after following the log, is compared again.

The random seed is printed in every failure; MATCHER_KILL_SEED=<seed> repeats the same choices (the moments
the kills land still depend on the machine's timing).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from api import models as m
from api.db import make_engine
from api.settings import Settings
from api.verify import check_index

from ..conftest import GOLDEN
from .conftest import fresh_database_url

RUNS = 20
ADMIN = Path(sys.executable).parent / "matcher-admin"  # the venv's, like .venv/bin/matcher-admin
PREFIX = "耐障害試験"  # every title the writer sends starts with it, so its seeds are told from the corpus's
WORDS = ("融雪", "地中熱", "センサー", "複合材料", "発酵", "画像診断", "触媒", "防災", "農業用ロボット", "水素")
STARTUP_DEADLINE_S = 300  # only so that a server that never becomes ready fails the test instead of hanging it
Content = dict[str, str]  # title, summary, visibility, status


@dataclass
class Ledger:
    """What the client knows: the content of each seed as last acknowledged, and the request the kill cut off."""

    acknowledged: dict[int, Content] = field(default_factory=dict)
    in_flight: tuple[int | None, Content] | None = None  # (seed id, or None for a create; content sent)
    writes_acknowledged: int = 0
    unexpected: list[str] = field(default_factory=list)  # answers other than the 2xx expected

    def live(self) -> list[int]:
        return sorted(i for i, c in self.acknowledged.items() if c["status"] == "active")

    def reconcile(self, stored: dict[int, Content]) -> list[str]:
        """Compare with the database's seeds; adopt the cut-off request where it committed. Returns problems."""
        problems = []
        cut_id, cut_content = self.in_flight if self.in_flight else (None, None)
        for seed_id, expected in self.acknowledged.items():
            actual = stored.get(seed_id)
            if actual != expected and not (seed_id == cut_id and actual == cut_content):
                problems.append(f"seed {seed_id}: acknowledged {expected}, database holds {actual}")
            elif actual != expected:
                self.acknowledged[seed_id] = actual  # the cut-off PATCH committed: it is the state from now on
        unknown = sorted(set(stored) - set(self.acknowledged))
        created_unanswered = self.in_flight is not None and cut_id is None
        if unknown and not (created_unanswered and len(unknown) == 1 and stored[unknown[0]] == cut_content):
            problems.append(f"seeds nobody was told of: {[(i, stored[i]) for i in unknown]}")
        elif unknown:
            self.acknowledged[unknown[0]] = stored[unknown[0]]  # the cut-off POST committed
        self.in_flight = None
        return problems


class Writer(threading.Thread):
    """One client, one request at a time, so at most one request is unanswered when the server dies."""

    def __init__(self, base_url: str, token: str, ledger: Ledger, rng: random.Random):
        super().__init__(name="kill-test-writer", daemon=True)
        self.base_url, self.token, self.ledger, self.rng = base_url, token, ledger, rng
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base_url + "/api/v1", headers=headers, timeout=60) as client:
            while not self.stop.is_set():
                method, url, body, seed_id, content = self._next_request()
                self.ledger.in_flight = (seed_id, content)
                try:
                    response = client.request(method, url, json=body)
                except httpx.TransportError:
                    return  # the server died with this request unanswered: in_flight stays set
                self.ledger.in_flight = None
                if not self._acknowledge(method, url, response, seed_id, content):
                    return

    def _next_request(self) -> tuple[str, str, dict[str, str] | None, int | None, Content]:
        live, roll = self.ledger.live(), self.rng.random()
        if not live or roll < 0.3:
            body = {"title": self._text(), "summary": self._text(), "visibility": "public"}
            return "POST", "/seeds", body, None, {**body, "status": "active"}
        seed_id = self.rng.choice(live)
        before = self.ledger.acknowledged[seed_id]
        if roll > 0.95:
            return "DELETE", f"/seeds/{seed_id}", None, seed_id, {**before, "status": "withdrawn"}
        body = self._change(before)
        return "PATCH", f"/seeds/{seed_id}", body, seed_id, {**before, **body}

    def _change(self, before: Content) -> dict[str, str]:
        """A new title, a new summary, both, or a switch between public and private (which the index drops)."""
        kind = self.rng.choice(("title", "summary", "both", "visibility"))
        if kind == "visibility":
            return {"visibility": "private" if before["visibility"] == "public" else "public"}
        fields = ("title", "summary") if kind == "both" else (kind,)
        return {name: self._text() for name in fields}

    def _text(self) -> str:
        return f"{PREFIX} " + "と".join(self.rng.sample(WORDS, 3)) + f" {self.rng.randrange(10**6)}"

    def _acknowledge(self, method: str, url: str, response: httpx.Response, seed_id: int | None,
                     content: Content) -> bool:
        if not response.is_success:
            self.ledger.unexpected.append(f"{method} {url}: {response.status_code} {response.text[:300]}")
            return False
        body = response.json()
        answered = {name: body[name] for name in content}
        if answered != content:
            self.ledger.unexpected.append(f"{method} {url}: sent {content}, answered {answered}")
            return False
        self.ledger.acknowledged[seed_id if seed_id is not None else body["id"]] = content
        self.ledger.writes_acknowledged += 1
        return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`matcher-admin serve` as a subprocess, its output appended to one log file."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        with open(self.log, "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen([str(ADMIN), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> str | None:
        """None once /readyz answers 200; otherwise why not."""
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return f"the server exited with {self.process.returncode}"
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/readyz").status_code == 200:
                        return None
                time.sleep(0.1)
        return f"/readyz not 200 within {STARTUP_DEADLINE_S} s"

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no shutdown code runs
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM: uvicorn runs the app's shutdown, which writes a last snapshot. Returns the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def admin_command(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(ADMIN), *args], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"matcher-admin {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


@dataclass
class KillTest:
    """The state one kill test carries between runs, and the checks after each restart."""

    backend: str
    seed: int
    settings: Settings
    server: Server
    researcher_id: int = 0
    token: str = ""  # the researcher account's, from `matcher-admin create-account`
    ledger: Ledger = field(default_factory=Ledger)
    checks: int = 0  # seed states compared with the database, over all restarts
    kills_during_snapshot: int = 0  # runs after which a snapshot temp file was left: the kill cut a write
    torn: int = 0  # snapshot files cut short on purpose between a kill and the restart

    def fail(self, what: str) -> None:
        pytest.fail(f"{what}\n(kill test on {self.backend}, seed {self.seed}: rerun with MATCHER_KILL_SEED="
                    f"{self.seed})\n--- server log (end) ---\n{self.server.log_tail()}")

    def check_database_and_index(self, db) -> None:
        with Session(db) as session:
            query = select(m.Seed).where(m.Seed.researcher_id == self.researcher_id,
                                         col(m.Seed.title).startswith(PREFIX))
            stored = {m.stored_id(s): {"title": s.title, "summary": s.summary, "visibility": s.visibility.value,
                                       "status": s.status.value} for s in session.exec(query)}
            self.checks += len(self.ledger.acknowledged)
            if problems := self.ledger.reconcile(stored):
                self.fail("acknowledged writes missing from the database:\n" + "\n".join(problems))
            check = check_index(session, self.settings.resolved_index_dir, self.settings.model_dir.name)
        if not check.consistent:
            self.fail(f"the index the server loaded is not the database's: {check}")

    def check_sqlite(self) -> None:
        if self.backend != "sqlite":
            return
        path = self.settings.sqlalchemy_url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path)) as connection:
            result = connection.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            self.fail(f"PRAGMA integrity_check: {result}")

    def count_cut_snapshot_writes(self, seen: set[Path]) -> None:
        left = set(self.settings.resolved_index_dir.glob("*/.*.tmp"))
        if left - seen:
            self.kills_during_snapshot += 1
        seen |= left

    def tear_a_snapshot_file(self, rng: random.Random) -> None:
        """Leave a snapshot file cut short, as a write lost by the disk would, for the next start to cope with.

        Kills land in a real snapshot write only now and then (it takes milliseconds; `kills_during_snapshot`
        counts them), so every fourth run, on average, is given a torn file on purpose.
        """
        files = sorted(self.settings.resolved_index_dir.glob("*/*.faiss")) + \
            sorted(self.settings.resolved_index_dir.glob("*/*.json"))
        if files and rng.random() < 0.25:
            victim = rng.choice(files)
            victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
            self.torn += 1

    def start(self) -> None:
        self.server.start()
        if (why := self.server.wait_ready()) is not None:
            self.fail(f"the restarted server did not become ready: {why}")

    def write(self, rng: random.Random, seconds: float) -> None:
        """Write for `seconds`, then kill the server under the writer."""
        writer = Writer(self.server.base_url, self.token, self.ledger, random.Random(rng.random()))
        writer.start()
        time.sleep(seconds)
        self.server.kill()
        writer.join(timeout=120)
        if writer.is_alive() or self.ledger.unexpected:
            self.fail(f"the writer: {'still running' if writer.is_alive() else self.ledger.unexpected}")


def environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {**os.environ, "MATCHER_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url,
            "MATCHER_CORPUS_DIR": str(GOLDEN), "MATCHER_RATE_LIMIT_ENABLED": "false",
            # snapshots every 3 changes or 0.2 s, so that many kills cut one half-way
            "MATCHER_SNAPSHOT_EVERY_CHANGES": "3", "MATCHER_SNAPSHOT_INTERVAL": "0.2"}


# slow (about 3.5 minutes per backend: 20 restarts, each loading the real model): `make test-kill`, which .ci/run calls
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_acknowledged_writes_and_the_index_survive_sigkill(backend, tmp_path):
    began = time.monotonic()
    seed = int(os.environ.get("MATCHER_KILL_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    url = fresh_database_url(backend, tmp_path) if backend == "postgresql" else f"sqlite:///{tmp_path / 'kill.db'}"
    env = environment(tmp_path, url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    test = KillTest(backend, seed, settings, Server(env, tmp_path / "server.log"))
    admin_command(env, "load-demo")
    db = make_engine(url)
    try:
        with Session(db) as session:
            test.researcher_id = m.stored_id(session.exec(select(m.Researcher).order_by(col(m.Researcher.id))).first())
        test.token = admin_command(env, "create-account", "--name", "耐障害試験の研究者", "--role", "researcher",
                                   "--researcher-id", str(test.researcher_id)).strip().splitlines()[-1]
        seen: set[Path] = set()
        for _ in range(RUNS):
            test.start()
            test.check_database_and_index(db)
            test.write(rng, rng.uniform(0.2, 2.0))
            test.check_sqlite()
            test.count_cut_snapshot_writes(seen)
            test.tear_a_snapshot_file(rng)
        test.start()
        test.check_database_and_index(db)
        finish_cleanly(test, rng)
        test.check_database_and_index(db)  # the snapshot written at shutdown: the index after following the log
        test.check_sqlite()
    finally:
        if test.server.process is not None and test.server.process.poll() is None:
            test.server.kill()
        db.dispose()
    print(f"\nkill test on {backend}: {RUNS} kills and restarts, {test.ledger.writes_acknowledged} acknowledged "
          f"writes, {test.checks} seed states checked, {test.kills_during_snapshot} kills cut a snapshot write, "
          f"{test.torn} snapshot files torn on purpose, {time.monotonic() - began:.0f} s (seed {seed})")
    assert test.ledger.writes_acknowledged > RUNS  # the loop wrote at all: a kill test without writes proves nothing


def finish_cleanly(test: KillTest, rng: random.Random) -> None:
    """A last round of writes, then a clean stop: the shutdown writes the index the follower kept up to date."""
    writer = Writer(test.server.base_url, test.token, test.ledger, random.Random(rng.random()))
    writer.start()
    time.sleep(1.0)
    writer.stop.set()
    writer.join(timeout=120)
    if writer.is_alive() or test.ledger.unexpected:
        test.fail(f"the last writer: {'still running' if writer.is_alive() else test.ledger.unexpected}")
    # uvicorn re-raises the signal once its shutdown is complete, so a clean stop ends "killed by SIGTERM"
    if (status := test.server.stop()) not in (0, -signal.SIGTERM):
        test.fail(f"the server did not stop cleanly on SIGTERM (exit status {status})")
