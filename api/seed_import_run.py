"""The real import of a シーズ集: all rows or none, idempotent by external id, the encoder its only slow part.

Three steps, so that no lock and no write transaction is held while the encoder runs (minutes at 10^4 rows):
1. plan the rows over a read transaction (api/seed_import_plan.py) and find which texts the index will hold
   whose vectors the embedding table lacks; close it;
2. encode those texts, in chunks of `ENCODE_CHUNK` (each one batched encoder call; the chunks only let the
   page show progress: the job writes it to its row at each chunk boundary), with no session open: SQLite would
   otherwise refuse the later write of a read transaction that another writer overtook meanwhile;
3. plan again in the write session, over the database as it is now (another write may have come between),
   encode what that plan adds (nothing, normally), and save every new and changed seed with its vector and
   change row in one transaction through the one write path (`usecases.save_imported_seeds`).
Unchanged rows are not written at all, and an unchanged text is never encoded again: its vector is in the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine as Database
from sqlmodel import Session

from matcher.embed import TextEncoder
from matcher.index import fingerprint
from matcher.index_sync import Vector

from . import usecases
from .embeddings import INSERT_ROWS_PER_STATEMENT, known_vectors
from .models import Seed, Status
from .seed_import_plan import ImportPlan, plan_import
from .seed_import_read import SourceRow
from .service import MatchService, indexed, passage_text

ENCODE_CHUNK = 128  # texts per encoder call: 4 of the encoder's own batches, a progress step of seconds
Progress = Callable[[str, int, int], None]  # stage (Japanese), done, total


class ImportRejected(Exception):
    """Some row cannot be imported: nothing was written. `plan` says which and why."""

    def __init__(self, plan: ImportPlan):
        super().__init__(f"{len(plan.problems())} problems")
        self.plan = plan


@dataclass(frozen=True)
class ImportOutcome:
    plan: ImportPlan  # as written
    encoded: int  # texts embedded by this import
    reused: int  # texts of written seeds whose stored vectors were used as they were


def run_import(db: Database, encoder: TextEncoder, organisation_id: int, rows: list[SourceRow], *,
               service: MatchService | None = None, progress: Progress | None = None) -> ImportOutcome:
    """Import `rows` into the university `organisation_id`; ImportRejected (nothing written) if any row is refused."""
    report = progress or _silent
    report("行を確認しています", 0, len(rows))
    with Session(db) as session:
        plan = _checked_plan(session, organisation_id, rows)
        missing = _missing(session, encoder.name, _indexed_texts(session, encoder.name, plan))
    vectors = encode_texts(encoder, missing, report)
    report("保存しています", len(rows), len(rows))
    with Session(db) as session:
        plan = _checked_plan(session, organisation_id, rows)
        seeds = _seeds_of(session, plan)
        texts = _indexed_texts(session, encoder.name, plan)
        late = _missing(session, encoder.name, {p: t for p, t in texts.items() if p not in vectors})
        # no progress here: a progress write (a job's row, api/seed_import_jobs.py) from another connection would
        # overtake this session's read, and SQLite would then refuse its write
        vectors = {**vectors, **encode_texts(encoder, late, _silent)}
        usecases.save_imported_seeds(session, service, seeds, vectors, encoder.name)
    report("完了しました", len(rows), len(rows))
    return ImportOutcome(plan, encoded=len(vectors), reused=len(texts) - len(vectors))


def _silent(stage: str, done: int, total: int) -> None:
    """No progress to report."""


def encode_texts(encoder: TextEncoder, texts: Mapping[str, str], progress: Progress) -> dict[str, Vector]:
    """Fingerprint → passage vector of `texts` (fingerprint → text), one encoder call per chunk."""
    items = list(texts.items())
    vectors: dict[str, Vector] = {}
    for start in range(0, len(items), ENCODE_CHUNK):
        progress("文章をベクトルにしています", start, len(items))
        chunk = items[start:start + ENCODE_CHUNK]
        vectors.update(zip((p for p, _ in chunk), encoder.encode_passages([t for _, t in chunk]), strict=True))
    if items:
        progress("文章をベクトルにしています", len(items), len(items))
    return vectors


def _checked_plan(session: Session, organisation_id: int, rows: list[SourceRow]) -> ImportPlan:
    plan = plan_import(session, organisation_id, rows)
    if not plan.ok:
        raise ImportRejected(plan)
    return plan


def _seeds_of(session: Session, plan: ImportPlan) -> list[Seed]:
    """The seeds to write, as the plan leaves them: new ones, and the stored ones with their changed fields."""
    seeds = []
    for row in plan.writes():
        if row.action == "create":
            seed = Seed(**row.values, organisation_id=plan.organisation_id, external_id=row.external_id)
        else:
            seed = session.get_one(Seed, row.seed_id)
            for name, value in row.values.items():
                setattr(seed, name, value)
        seeds.append(seed)
    return seeds


def _indexed_texts(session: Session, model_id: str, plan: ImportPlan) -> dict[str, str]:
    """Fingerprint → text of each seed to write that the index will hold (active and not a draft)."""
    texts: dict[str, str] = {}
    with session.no_autoflush:
        for row in plan.writes():
            status = Status.active if row.seed_id is None else session.get_one(Seed, row.seed_id).status
            seed = Seed(**row.values, organisation_id=plan.organisation_id, status=status)
            if indexed(seed):
                text = passage_text(seed)
                texts[fingerprint(text, model_id)] = text
    return texts


def _missing(session: Session, model_id: str, texts: Mapping[str, str]) -> dict[str, str]:
    """Those of `texts` (fingerprint → text) whose vector the embedding table lacks."""
    prints = list(texts)
    lookup = known_vectors(session, model_id)
    stored: set[str] = set()
    for start in range(0, len(prints), INSERT_ROWS_PER_STATEMENT):
        stored.update(lookup(prints[start:start + INSERT_ROWS_PER_STATEMENT]))
    return {p: t for p, t in texts.items() if p not in stored}
