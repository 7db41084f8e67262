"""Upkeep of the index in the background, never by a request: snapshots to disk, and BM25 merges.

BM25 keeps a small delta segment beside its main one (matcher/lexical.py); merging them is O(N), so the
service turns the merge off on the write path, and this thread merges with the lock held only for the two
short steps (`merge_outside_lock`).

A snapshot is written when `every_changes` changes were applied since the last one, or when
`interval` seconds passed with at least one change, and once more at shutdown. Writing is in two steps
(matcher/index_snapshot.py): a quick copy under the service's lock, then serialising and writing the files
off the lock, so matches and the follower go on meanwhile.

Several workers may share one index folder; an exclusive lock on a file beside it (`flock`, which the
kernel drops when a process dies) lets one write at a time, and a worker that finds it taken skips its
turn. A snapshot is only a head start: start-up compares it with the database in full and repairs what
differs, so a stale or half-written one costs time, never correctness.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time

from matcher.index_snapshot import remove_leftover_temp_files

from .follower import IndexFollower
from .service import MatchService

log = logging.getLogger(__name__)

LOCK_FILE = ".snapshot.lock"


class IndexUpkeep:
    def __init__(self, service: MatchService, follower: IndexFollower, *, interval: float = 30.0,
                 every_changes: int = 500):
        self.service = service
        self.follower = follower
        self.interval = interval
        self.every_changes = every_changes
        self.written_at_count = follower.applied_count
        self.written_at_time = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def due(self) -> bool:
        changes = self.follower.applied_count - self.written_at_count
        waited = time.monotonic() - self.written_at_time
        return changes >= self.every_changes or (changes > 0 and waited >= self.interval)

    def write_now(self) -> bool:
        """Write a snapshot unless another worker is writing one; True when this one was written."""
        directory = self.service.index_dir
        directory.mkdir(parents=True, exist_ok=True)
        count = self.follower.applied_count
        with open(directory / LOCK_FILE, "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            # a write cut short by a crash leaves a temp file as large as the index: only now, with the writers'
            # lock held, is none of them in use
            for part in ("seeds", "needs"):
                remove_leftover_temp_files(directory / part)
            # read before the copy: the snapshot then holds at least what the sequence says
            self.service.write_snapshot(applied_sequence=self.follower.tracker.floor)
        self.written_at_count = count
        self.written_at_time = time.monotonic()
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="index-upkeep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop, and write what changed since the last snapshot."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.follower.applied_count != self.written_at_count:
            self.write_now()

    def _run(self) -> None:
        tick = min(1.0, self.interval)
        while not self._stop.wait(tick):
            try:
                self.service.merge_lexical()
                if self.due():
                    self.write_now()
            except Exception:  # a full disk must not stop matching; the next turn tries again
                log.exception("index upkeep failed; retrying at the next turn")
