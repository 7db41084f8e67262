"""Each worker's index follows the database through the change log.

The follower reads the changes above its floor (api/applied_sequence.py), re-reads each changed item's
current state and hands it to the matching service, with the passage vector stored beside the text
(api/embeddings.py): nothing is encoded here in the normal course, and the service's lock is held only
for the index update itself, milliseconds.

It runs in two ways, both through `catch_up`, one at a time (`_apply_lock`):
- after a write of this worker commits, in that request, so the writer reads its own write at once;
- in a background thread, every `poll_interval` seconds, so writes of other workers (other processes,
  other machines on the same PostgreSQL) reach this one within a bounded delay;
- on PostgreSQL, also at once when a NOTIFY says another worker committed (api/change_listener.py wakes the
  thread). Polling stays: it is the only way on SQLite, and it covers a listener whose connection is down.

Applying a change is idempotent (the item's state is read again), so a change applied twice, or late,
changes nothing; the tracker only guarantees that none is skipped. Snapshots of the index are written by
api/index_upkeep.py, never by a request.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy.engine import Engine as Database
from sqlmodel import Session

from matcher.index_sync import Vector

from . import models as m
from .applied_sequence import AppliedSequence
from .change_listener import ChangeListener, libpq_url
from .change_log import Change, ChangeKind, changes_after, latest_sequence
from .embeddings import passage_vector
from .service import MatchService, indexed, passage_text

log = logging.getLogger(__name__)

RECENT_WINDOW = 1000  # sequences below the latest that may still be open transactions at start-up
BATCH = 1000  # changes read per query


@dataclass(frozen=True)
class FollowerState:
    """What /readyz reports, read without touching the index or the database's tables."""

    applied: int  # the highest sequence applied
    latest: int  # the database's highest sequence
    lag: int  # sequences handed out and not applied yet
    open_gaps: int  # numbers seen missing: transactions not yet committed, or rolled back
    alive: bool  # the background thread runs (or was never asked to)


class IndexFollower:
    def __init__(self, db: Database, service: MatchService, tracker: AppliedSequence, *,
                 poll_interval: float = 0.25, listen: bool = True):
        self.db = db
        self.service = service
        self.tracker = tracker
        self.poll_interval = poll_interval
        # LISTEN/NOTIFY where the database has it (PostgreSQL); `listen=False` leaves polling alone
        self.listener = (ChangeListener(libpq_url(db.url), self.wake)
                         if listen and db.dialect.name == "postgresql" else None)
        self.applied_count = 0  # changes applied since start: the snapshot writer's trigger
        self._apply_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def starting_point(session: Session) -> AppliedSequence:
        """Read before the index is rebuilt from the database, so nothing committed in between is lost."""
        latest = latest_sequence(session)
        window_floor = max(0, latest - RECENT_WINDOW)
        recent = [c.seq for c in changes_after(session, window_floor, limit=RECENT_WINDOW + 1) if c.seq is not None]
        return AppliedSequence.after_full_sync(recent, window_floor)

    # ---- applying ----------------------------------------------------------------------------------
    def catch_up(self) -> int:
        """Apply every committed change not applied yet; returns how many were applied."""
        with self._apply_lock, Session(self.db) as session:
            self.tracker.expire_gaps()
            applied = 0
            while True:
                changes = changes_after(session, self.tracker.floor, limit=BATCH)
                todo = set(self.tracker.unapplied(c.seq for c in changes if c.seq is not None))
                for change in changes:
                    if change.seq in todo:
                        self._apply(session, change)
                self.tracker.mark_applied(todo)
                applied += len(todo)
                if len(changes) < BATCH or not todo:
                    break
            session.commit()  # vectors a follower had to compute (see _vector) are kept for the next one
            self.applied_count += applied
        if applied:
            self.service.changes_applied()  # an ANN rebuild may be due now: looked at in the background
        return applied

    def _apply(self, session: Session, change: Change) -> None:
        if change.kind == ChangeKind.seed:
            seed = session.get(m.Seed, change.item_id)
            if seed is None:
                self.service.seed_removed(change.item_id)
            else:
                self.service.seed_changed(session, seed, self._vector(session, seed))
        elif change.kind == ChangeKind.need:
            need = session.get(m.Need, change.item_id)
            if need is None:
                self.service.need_removed(change.item_id)
            else:
                self.service.need_changed(session, need, self._vector(session, need))
        else:
            org = session.get(m.Organisation, change.item_id)
            if org is not None:
                self.service.organisation_changed(org)

    def _vector(self, session: Session, row: m.Seed | m.Need) -> Vector | None:
        """The stored vector of the row's text. The writer stored it with the text; a row written before
        vectors were stored, or under another model, has none, and gets one computed here once."""
        if not indexed(row):
            return None
        return passage_vector(session, self.service.encoder, passage_text(row))

    # ---- running -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)
        self._thread.start()
        if self.listener is not None:
            self.listener.start()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()  # closes its connection
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        """Look at the log now rather than at the next tick (a NOTIFY arrived, or a test asks)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.catch_up()
            except Exception:  # a database that is away for a moment: keep following once it is back
                log.exception("index follower: catching up failed; retrying")
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def state(self, latest: int) -> FollowerState:
        """Where the follower stands against `latest`, the database's highest sequence now."""
        alive = self._thread is None or self._thread.is_alive()
        return FollowerState(applied=self.tracker.highest, latest=latest, lag=self.tracker.lag(latest),
                             open_gaps=len(self.tracker.gaps), alive=alive)
