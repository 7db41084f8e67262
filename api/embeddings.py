"""Vectors are data: the passage vector of every indexed text, stored in the database beside the text.

One row per (model, text). `content_hash` is the index's own fingerprint of the text
(`matcher.index.fingerprint(text, model_id)`), not a separate hash: one notion of "the same text under the
same model" serves both the saved index and this table, so start-up hands the engine's fingerprints to the
table as they are. It carries the model's name too, which the key repeats; the key still leads with
`model_id`, so that a later model's vectors can be filled in beside the current ones and the current ones
found by one index range.

A write finds or computes its vector before its commit, outside the matching service's lock, and adds it in
the same transaction as the text (`passage_vector`), so the table never lacks the vector of a committed text
and never holds one for a write that failed. At start-up `MatchService.start` reads the vectors it needs from
here (`known_vectors`) and stores those the index holds but the table lacks (`store_indexed`), so deleting
the index and restarting embeds nothing again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Column, LargeBinary
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, select

from matcher.embed import TextEncoder
from matcher.index import Collection, fingerprint
from matcher.index import query_key as query_key  # the "#query" rule lives in the engine; kept here for callers
from matcher.index_sync import KnownVectors, Vector

from .models import utcnow

# float32, little-endian, whatever the machine: the bytes mean the same on every server reading them
STORED_DTYPE = np.dtype("<f4")
INSERT_ROWS_PER_STATEMENT = 500  # 5 parameters a row, far below SQLite's and PostgreSQL's limits


class Embedding(SQLModel, table=True):
    model_id: str = Field(primary_key=True, max_length=200)  # the encoder's name (`TextEncoder.name`)
    content_hash: str = Field(primary_key=True, max_length=64)  # matcher.index.fingerprint(text, model_id)
    dim: int
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # `dim` float32 values, STORED_DTYPE
    created_at: datetime = Field(default_factory=utcnow)


def passage_vector(session: Session, encoder: TextEncoder, text: str) -> Vector:
    """The vector of `text`: the stored one, or else encoded now and added to the session's transaction.

    Call it before the commit of the row the text belongs to, so that one commit stores both.
    """
    content_hash = fingerprint(text, encoder.name)
    stored = known_vectors(session, encoder.name)([content_hash])
    if content_hash in stored:
        return stored[content_hash]
    vector: Vector = encoder.encode_passages([text])[0]
    store_vectors(session, encoder.name, {content_hash: vector})
    return vector


def need_query_vector(session: Session, encoder: TextEncoder, text: str) -> Vector:
    """The query vector of a need's text, stored with the need (a write) so that its matches and reports never
    encode it again: the stored one, or else encoded now and added to the session's transaction."""
    model_id = query_key(encoder.name)
    content_hash = fingerprint(text, model_id)
    stored = known_vectors(session, model_id)([content_hash])
    if content_hash in stored:
        return stored[content_hash]
    vector: Vector = encoder.encode_queries([text])[0]
    store_vectors(session, model_id, {content_hash: vector})
    return vector


def stored_query_vectors(session: Session, model_id: str, texts: Sequence[str]) -> list[Vector | None]:
    """The stored query vectors of `texts` (None where a text has none: a need written before they were kept),
    for a match or a report, which only read."""
    key = query_key(model_id)
    prints = [fingerprint(text, key) for text in texts]
    found: dict[str, Vector] = {}
    for start in range(0, len(prints), INSERT_ROWS_PER_STATEMENT):
        found.update(known_vectors(session, key)(prints[start:start + INSERT_ROWS_PER_STATEMENT]))
    return [found.get(p) for p in prints]


def known_vectors(session: Session, model_id: str) -> KnownVectors:
    """The engine's lookup of stored vectors, by fingerprint, for the model `model_id`."""

    def lookup(prints: Sequence[str]) -> dict[str, Vector]:
        # no autoflush: a write looks up its vector with its changed row still pending, and flushing it here
        # would take the database's write lock (SQLite's is the whole file) for the time the encoder takes
        with session.no_autoflush:
            rows = session.exec(select(Embedding).where(Embedding.model_id == model_id,
                                                        col(Embedding.content_hash).in_(list(prints))))
            return {row.content_hash: np.frombuffer(row.vector, dtype=STORED_DTYPE) for row in rows}

    return lookup


def store_indexed(session: Session, model_id: str, collections: Iterable[Collection]) -> int:
    """Add the vectors the collections hold and the table lacks; returns how many. The caller commits.

    These are the ones start-up computed (rows from before the table existed, the demo corpus) and those an
    index saved before this table existed holds.
    """
    have = set(session.exec(select(Embedding.content_hash).where(Embedding.model_id == model_id)))
    missing: dict[str, Vector] = {}
    for collection in collections:
        todo = {p: item_id for item_id, p in collection.fingerprints.items() if p not in have and p not in missing}
        missing.update(zip(todo, collection.vectors_of(list(todo.values())), strict=True))
    store_vectors(session, model_id, missing)
    return len(missing)


def store_vectors(session: Session, model_id: str, vectors: Mapping[str, Vector]) -> None:
    """Add rows (fingerprint → vector) in the session's transaction. A row that another writer of the same
    text added meanwhile is kept as it is (same text, same model, same vector), rather than failing this
    write on the duplicate key."""
    rows: list[dict[str, Any]] = [
        {"model_id": model_id, "content_hash": p, "dim": len(v), "vector": np.asarray(v, dtype=STORED_DTYPE).tobytes(),
         "created_at": utcnow()} for p, v in vectors.items()]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), INSERT_ROWS_PER_STATEMENT):
        statement = dialect.insert(Embedding).values(rows[start:start + INSERT_ROWS_PER_STATEMENT])
        session.connection().execute(statement.on_conflict_do_nothing())
