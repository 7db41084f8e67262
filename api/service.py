"""The matching service: the engine, kept in line with the database.

The database is the source of truth, passage vectors included (api/embeddings.py).
At start-up the saved snapshot of the index is loaded and compared with the
database (by id and by a fingerprint of each text); anything missing, stale,
extra or corrupt is rebuilt from the stored vectors, and only a text without one
is embedded (its vector is then stored, so the next start embeds nothing).

After that the index follows the database through the change log: every write
(api/usecases.py) commits a change row with the item, and this process's
follower (api/follower.py) re-reads the item and calls `seed_changed` /
`need_changed` / `organisation_changed` with its stored vector. Those hold the
lock for the index update alone; nothing is encoded or written to disk under
it. Snapshots and BM25 merges happen in the background (api/index_upkeep.py), and so does the training of
the approximate (IVF) index once a collection grows past its threshold (api/ann_rebuild.py).

Seeds are matched when listed (`access.seed_is_listed`: active and not a draft); needs when active.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session, col, select

from matcher import records as rec
from matcher.engine import Engine
from matcher.index_delta import manifest_of
from matcher.lexical import merge_outside_lock
from matcher.priority import FOREGROUND
from matcher.results import MatchResult, NeedHit, SyncReport
from matcher.text import JapaneseTokenizer, check_text

from . import models as m
from .access import listed_seeds, seed_is_listed
from .ann_rebuild import AnnRebuilder
from .embeddings import known_vectors, store_indexed

if TYPE_CHECKING:
    from matcher.ann import AnnSettings
    from matcher.embed import TextEncoder
    from matcher.index_sync import Vector

    from .follower import IndexFollower


class IndexNotFollowingError(RuntimeError):
    """A write committed but no follower applies the change log: the index would fall behind unnoticed."""


def university_record(org: m.Organisation) -> rec.University:
    liaison = None
    if org.liaison_office or org.liaison_url or org.liaison_email or org.liaison_phone:
        liaison = rec.Liaison(office=org.liaison_office or f"{org.name} 産学連携窓口", url=org.liaison_url,
                              email=org.liaison_email, phone=org.liaison_phone)
    return rec.University(name=org.name, prefecture_code=org.prefecture_code, name_en=org.name_en, liaison=liaison,
                          municipality_code=org.municipality_code)  # None: the master's 本部所在地 (places.campus)


class SeedFields(Protocol):
    """What `seed_record` reads of a seed: a `m.Seed`, or a row of its columns (start-up reads those)."""

    @property
    def id(self) -> int | None: ...
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def keywords(self) -> list[str]: ...
    @property
    def market_areas(self) -> list[str]: ...
    @property
    def readiness(self) -> m.Readiness | None: ...


def seed_record(seed: SeedFields, researcher: m.Researcher, org: m.Organisation) -> rec.Seed:
    if seed.id is None:
        raise ValueError("a seed that was never saved has no record")
    return rec.Seed(
        id=seed.id, title=seed.title, summary=seed.summary, keywords=tuple(seed.keywords),
        market_areas=tuple(seed.market_areas), university=org.name, prefecture_code=org.prefecture_code,
        researcher=rec.Researcher(name=researcher.name, university=org.name, department=researcher.department,
                                  kana=researcher.kana, position=researcher.position, id=researcher.id),
        readiness=seed.readiness.value if seed.readiness else None,
    )


def need_record(need: m.Need, org: m.Organisation | None) -> rec.Need:
    return rec.Need(
        id=m.stored_id(need), title=need.title, description=need.description, prefecture_code=need.prefecture_code,
        poster_name=org.name if org else None, poster_kind=org.kind.value if org else None,
        market_areas=tuple(need.market_areas),
        collaboration=need.collaboration.value if need.collaboration else None, visibility=need.visibility.value,
        municipality_code=need.municipality_code,
    )


def passage_text(row: m.Seed | m.Need) -> str:
    """The text the engine embeds for `row` (`rec.Seed.text`, `rec.Need.text`), known before the row has an id."""
    if isinstance(row, m.Seed):
        return rec.seed_text(row.title, row.summary, row.keywords)
    return rec.need_text(row.title, row.description)


def indexed(row: m.Seed | m.Need) -> bool:
    """Whether the index holds `row`: a listed seed, an active need."""
    return seed_is_listed(row) if isinstance(row, m.Seed) else row.status == m.Status.active


def load_records(session: Session) -> tuple[list[rec.University], list[rec.Seed], list[rec.Need]]:
    orgs = {o.id: o for o in session.exec(select(m.Organisation)).all()}
    researchers = {r.id: r for r in session.exec(select(m.Researcher)).all()}
    universities = [university_record(o) for o in orgs.values() if o.kind == m.OrgKind.university]
    # plain column rows, not ORM objects: building and tracking 10^5 objects took 3.9 of start-up's 6.0 s here
    seed_rows = sa.select(col(m.Seed.id), col(m.Seed.title), col(m.Seed.summary), col(m.Seed.keywords),
                          col(m.Seed.market_areas), col(m.Seed.readiness), col(m.Seed.researcher_id),
                          col(m.Seed.organisation_id)).where(listed_seeds())
    seeds = [seed_record(s, researchers[s.researcher_id], orgs[s.organisation_id])
             for s in session.execute(seed_rows).all()]
    needs = [need_record(n, orgs.get(n.organisation_id) if n.organisation_id else None)
             for n in session.exec(select(m.Need).where(col(m.Need.status) == m.Status.active)).all()]
    return universities, seeds, needs


class MatchService:
    def __init__(self, engine: Engine, index_dir: Path, start_reports: tuple[SyncReport, SyncReport]):
        self.engine = engine
        self.index_dir = Path(index_dir)
        self.start_reports = start_reports
        self.follower: IndexFollower | None = None  # set by the app's start-up (api/main.py)
        self.ann_rebuilder: AnnRebuilder | None = None  # trains the ANN indexes in the background (start_ann_rebuilds)
        # Writes tokenise their texts with a tagger of their own, before taking the lock: MeCab's tagger is not
        # re-entrant, so sharing the engine's would make a short match wait ~100 ms behind a 10,000-character
        # write's tokenising. The follower applies one change at a time, so this one needs no lock of its own.
        self._write_tokenizer = JapaneseTokenizer()
        # FAISS and the BM25 matrix are not safe under concurrent change; the
        # expensive part (encoding the query) happens outside this lock.
        self._lock = threading.RLock()

    @classmethod
    def start(cls, session: Session, encoder: TextEncoder, index_dir: Path,
              ann: AnnSettings | None = None) -> MatchService:
        """`ann`: the settings of the collections' approximate indexes (matcher/ann.py); None keeps the defaults."""
        universities, seeds, needs = load_records(session)
        engine, seed_report, need_report = Engine.open(index_dir, encoder, seeds=seeds, needs=needs,
                                                       universities=universities,
                                                       known=known_vectors(session, encoder.name), ann=ann)
        store_indexed(session, encoder.name, (engine.seed_index, engine.need_index))
        session.commit()
        for collection in (engine.seed_index, engine.need_index):
            collection.lexical.auto_merge = False  # merged in the background (merge_lexical), not by a write
        return cls(engine, index_dir, (seed_report, need_report))

    @property
    def encoder(self) -> TextEncoder:
        return self.engine.encoder

    # ---- following the database ---------------------------------------
    def catch_up(self) -> None:
        """Apply what the change log holds and the index does not yet: a write calls it after its commit."""
        if self.follower is None:
            raise IndexNotFollowingError("the change log has no follower in this process")
        self.follower.catch_up()

    def changes_applied(self) -> None:
        """The follower applied changes: a rebuild of an ANN index may be due (looked at in the background)."""
        if self.ann_rebuilder is not None:
            self.ann_rebuilder.poke()

    def start_ann_rebuilds(self, retry_after: float = 60.0) -> AnnRebuilder:
        """Train each collection's ANN index in a background thread whenever one is due (api/ann_rebuild.py),
        with the lock held only for the copy and the hand-over; `stop()` it at shutdown."""
        self.ann_rebuilder = AnnRebuilder(self.engine, self._lock, retry_after=retry_after)
        self.ann_rebuilder.start()
        return self.ann_rebuilder

    def organisation_changed(self, org: m.Organisation) -> None:
        if org.kind == m.OrgKind.university:
            with self._lock:
                self.engine.add_university(university_record(org))

    def seed_changed(self, session: Session, seed: m.Seed, vector: Vector | None = None) -> None:
        """`vector`: the seed's passage vector, found or computed before the commit. Without it (a researcher's
        change leaves the texts of its seeds as they were) the index keeps the vector it holds."""
        if not indexed(seed):
            self.seed_removed(m.stored_id(seed))
            return
        # read from the database before taking the lock: no match waits on a query
        org = session.get_one(m.Organisation, seed.organisation_id)
        record = seed_record(seed, session.get_one(m.Researcher, seed.researcher_id), org)
        terms = self._write_tokenizer.terms(record.text)
        with self._lock:
            self.engine.add_university(university_record(org))
            self.engine.upsert_seed(record, vector, terms)

    def seed_removed(self, seed_id: int) -> None:
        """A seed whose row no longer exists (the API withdraws rather than deletes; an admin may delete)."""
        with self._lock:
            if seed_id in self.engine.seeds:
                self.engine.delete_seed(seed_id)

    def need_changed(self, session: Session, need: m.Need, vector: Vector | None = None) -> None:
        if not indexed(need):
            self.need_removed(m.stored_id(need))
            return
        org = session.get(m.Organisation, need.organisation_id) if need.organisation_id else None  # before the lock
        record = need_record(need, org)
        terms = self._write_tokenizer.terms(record.text)
        with self._lock:
            self.engine.upsert_need(record, vector, terms)

    def need_removed(self, need_id: int) -> None:
        with self._lock:
            if need_id in self.engine.needs:
                self.engine.delete_need(need_id)

    def write_snapshot(self, applied_sequence: int) -> int:
        """Save the index, tagged with the change-log sequence it reflects at least (api/index_upkeep.py); the
        bytes written. Mostly a delta of what changed since the last save (matcher/index_delta.py).

        Under the lock only the copy (milliseconds: a memcpy of the vectors, or of the changed items);
        reading the manifests, serialising and writing are not.
        """
        collections = {"seeds": self.engine.seed_index, "needs": self.engine.need_index}
        manifests = {part: manifest_of(self.index_dir / part) for part in collections}
        with self._lock:
            pending = {part: c.next_save(manifests[part], applied_sequence) for part, c in collections.items()}
        written = 0
        for part, collection in collections.items():
            written += pending[part].write(self.index_dir / part)
            with self._lock:
                collection.saved(pending[part])
        return written

    def merge_lexical(self) -> None:
        """Merge each BM25 delta into its main segment where due, the O(N) build outside the lock."""
        for collection in (self.engine.seed_index, self.engine.need_index):
            merge_outside_lock(collection.lexical, self._lock)

    def reader_copy(self) -> Engine:
        """A copy of the engine for a long read (a report job): the lock is held for the copy alone, milliseconds,
        and the reader then searches the copy while matches and writes go on (`Engine.reader_copy`)."""
        return self.engine.reader_copy(self._lock)

    # ---- matching --------------------------------------------------------
    def match(self, text: str, prefecture: object, query_vector: Vector | None = None,
              **options: Any) -> MatchResult:
        """`query_vector`: the text's stored query vector, where the need has one (embeddings.need_query_vector);
        else it is encoded here."""
        # validate before the costly encoding; the engine checks again, cheaply
        check_text(text, field="ニーズの本文", max_chars=self.engine.settings.max_text_chars)
        with FOREGROUND.foreground():  # a long write's encoding steps aside meanwhile (matcher/priority.py)
            vector = self.engine.encoder.encode_queries([text])[0] if query_vector is None else query_vector
            with self._lock:
                return self.engine.match(text, prefecture, query_vector=vector, **options)

    def needs_for_text(self, text: str, prefecture: object, **options: Any) -> list[NeedHit]:
        check_text(text, field="シーズの本文", max_chars=self.engine.settings.max_text_chars)
        with FOREGROUND.foreground():
            vector = self.engine.encoder.encode_queries([text])[0]  # outside the lock, like match()
            with self._lock:
                return self.engine.needs_for_text(text, prefecture, query_vector=vector, **options)
