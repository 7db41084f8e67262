"""Filling the embedding table for another model, while the service goes on with the current one.

Changing the model (MATCHER_MODEL_DIR) would otherwise mean a start-up that embeds every text before it
answers: hours at national scale. Instead `matcher-admin embed --model-dir NEW` computes the new model's
vectors beforehand, in batches that each commit, showing its progress; it can stop and resume at any time
(what is stored is skipped). When it has finished, a restart on the new model finds every vector stored
and embeds nothing. Texts written meanwhile get the current model's vector from their write; run the
command once more just before switching, and it does only those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.engine import Engine as Database
from sqlmodel import Session, col, select

from matcher.embed import TextEncoder
from matcher.index import fingerprint

from .embeddings import Embedding, store_vectors
from .service import load_records

BATCH = 64
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class EmbedReport:
    model_id: str
    texts: int  # distinct indexed texts (listed seeds, active needs)
    already_stored: int
    embedded: int


def indexed_texts(session: Session, model_id: str) -> dict[str, str]:
    """Fingerprint → text for every text the index holds (listed seeds, active needs)."""
    _, seeds, needs = load_records(session)
    texts = [seed.text for seed in seeds] + [need.text for need in needs]
    return {fingerprint(text, model_id): text for text in texts}


def embed_missing(db: Database, encoder: TextEncoder, progress: Progress | None = None) -> EmbedReport:
    with Session(db) as session:
        texts = indexed_texts(session, encoder.name)
        stored = set(session.exec(select(Embedding.content_hash).where(col(Embedding.model_id) == encoder.name)))
    total = len(texts)
    todo = {p: text for p, text in texts.items() if p not in stored}
    done = 0
    for batch in _batches(list(todo.items())):
        vectors = encoder.encode_passages([text for _, text in batch])
        with Session(db) as session:  # one commit a batch: an interrupted run keeps what it did
            store_vectors(session, encoder.name, {p: v for (p, _), v in zip(batch, vectors, strict=True)})
            session.commit()
        done += len(batch)
        if progress:
            progress(done, len(todo))
    return EmbedReport(model_id=encoder.name, texts=total, already_stored=total - len(todo), embedded=done)


def _batches(items: list[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]
