"""The change log: one row per write of a seed, need or university, in the same transaction as the write.

Every index follows the database by reading this log (api/follower.py). A row names only what changed
(kind and id), never the new content: a follower re-reads the item's current state, so applying a change
twice, or two changes out of order, leaves the same index.

Sequence numbers only grow (SQLite: AUTOINCREMENT never reuses a number; PostgreSQL: an identity column),
but transactions may commit out of sequence order, and a rolled-back one leaves a gap forever. The
follower's `AppliedSequence` deals with both.

On PostgreSQL each change also sends a `NOTIFY` on `CHANNEL` in the same transaction, so the server delivers it
at commit (never for a rolled-back write) and every worker's listener (api/change_listener.py) wakes its follower
at once instead of at its next poll. The notice carries nothing: the log is the only source of what changed, and
PostgreSQL folds identical notices of one transaction into one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, func, select

from .models import utcnow

# BIGINT on PostgreSQL; on SQLite only a column typed exactly INTEGER becomes the rowid that
# AUTOINCREMENT guards, so the variant keeps it INTEGER there (SQLite integers are 64-bit anyway).
SequenceType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

CHANNEL = "matcher_changes"  # the NOTIFY channel every follower LISTENs on (PostgreSQL only)


class ChangeKind(StrEnum):
    seed = "seed"
    need = "need"
    university = "university"


class Change(SQLModel, table=True):
    __tablename__ = "change_log"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: int | None = Field(default=None, sa_column=sa.Column(SequenceType, primary_key=True, autoincrement=True))
    kind: str = Field(max_length=20)  # a ChangeKind; plain text, so a new kind needs no ALTER TYPE
    item_id: int
    created_at: datetime = Field(default_factory=utcnow)


def record_change(session: Session, kind: ChangeKind, item_id: int) -> None:
    """Add the change row to the caller's transaction; it commits, or rolls back, with the write itself."""
    session.add(Change(kind=kind, item_id=item_id))
    notify_followers(session)


def notify_followers(session: Session) -> None:
    """Queue a NOTIFY in the caller's transaction (PostgreSQL): sent at its commit, dropped at its rollback.
    SQLite has no such thing; its followers find the change at their next poll."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def latest_sequence(session: Session) -> int:
    """The highest sequence number handed out so far (0 for an empty log): one index lookup."""
    latest = session.exec(select(func.max(col(Change.seq)))).one()
    return latest or 0


def changes_after(session: Session, after: int, limit: int = 1000) -> Sequence[Change]:
    """Committed changes with a sequence number above `after`, oldest first."""
    query = select(Change).where(col(Change.seq) > after).order_by(col(Change.seq)).limit(limit)
    return session.exec(query).all()
