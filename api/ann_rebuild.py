"""Training the approximate (IVF) index of the service's collections in the background, off the lock.

A collection's ANN index (matcher/ann.py) is due when it has grown past `AnnSettings.threshold` without one, or
has grown or changed by `retrain_factor` since its index was trained. Start-up trains it only when it loads a
saved collection that large (`Collection.load`); this thread covers the rest: a service that grows past the
threshold, or changes enough, while it runs.

The follower pokes it after every batch of changes it applied (`MatchService.changes_applied`), and once at
start. For each collection in turn, one rebuild at a time in this one thread:
1. under the service's lock, `Collection.begin_ann_rebuild` (cheap when none is due; when one is, a copy of the
   ids and vectors, a memcpy);
2. off the lock, `AnnRebuild.build` (seconds at 10^5 vectors): matches and writes go on meanwhile, the writes
   into the old index (if any) and noted as touched;
3. under the lock, `Collection.finish_ann_rebuild`: the writes made meanwhile are applied to the new index,
   which then replaces the old one.

A build that fails is logged and leaves the old index (or none) in place; the next change after
`retry_after` seconds tries again. No request waits on a build.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from matcher.ann import AnnRebuild

if TYPE_CHECKING:
    from matcher.engine import Engine
    from matcher.index import Collection

log = logging.getLogger(__name__)


class AnnRebuilder:
    def __init__(self, engine: Engine, lock: AbstractContextManager[Any], *, retry_after: float = 60.0):
        self.engine = engine
        self.lock = lock  # the service's: held for the copy and the hand-over, never for the training
        self.retry_after = retry_after
        self.built = 0  # rebuilds installed since start
        self.failed = 0  # builds that raised
        self.building: str | None = None  # the collection being trained now, if any
        self._failed_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def collections(self) -> dict[str, Collection]:
        return {"seeds": self.engine.seed_index, "needs": self.engine.need_index}

    # ---- running -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ann-rebuild", daemon=True)
        self._thread.start()
        self.poke()  # the collections as loaded may be due already

    def poke(self) -> None:
        """Changes were applied: look whether a rebuild is due (in the thread; the caller does not wait)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current build, if any (a daemon thread: a build longer than `timeout` is abandoned
        with the process)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            try:
                self.run_once()
            except Exception:  # never let the thread die: the next poke tries again
                log.exception("ANN index rebuild: unexpected error")

    # ---- rebuilding --------------------------------------------------------------------------------
    def run_once(self) -> int:
        """Rebuild every collection whose rebuild is due, one after the other; how many were installed."""
        done = 0
        for part, collection in self.collections().items():
            if self._stop.is_set():
                break
            done += self.rebuild(part, collection)
        return done

    def rebuild(self, part: str, collection: Collection) -> bool:
        """Rebuild `collection`'s ANN index if one is due (and no failure is too recent); True if installed."""
        failed_at = self._failed_at.get(part)
        if failed_at is not None and time.monotonic() < failed_at + self.retry_after:
            return False
        with self.lock:
            pending = collection.begin_ann_rebuild()
        if pending is None:
            return False
        self.building = part
        started = time.monotonic()
        try:
            built = pending.build()
        except Exception:
            log.exception("ANN index rebuild of %s (%d vectors) failed; the previous index stays in place",
                          part, len(pending.ids))
            self._abandon(collection, pending)
            self._failed_at[part] = time.monotonic()
            self.failed += 1
            return False
        finally:
            self.building = None
        with self.lock:
            if collection.ann.rebuild is not pending:  # the slot was replaced meanwhile: this build is not its own
                return False
            collection.finish_ann_rebuild(built)
        self._failed_at.pop(part, None)
        self.built += 1
        log.info("ANN index of %s rebuilt: %s, trained in %.1f s", part, built.describe(),
                 time.monotonic() - started)
        return True

    def _abandon(self, collection: Collection, pending: AnnRebuild) -> None:
        """Forget a failed rebuild, so that a later one can begin; the index in service is left as it is."""
        with self.lock:
            if collection.ann.rebuild is pending:
                collection.ann.rebuild = None
