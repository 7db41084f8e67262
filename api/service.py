"""The matching service: the engine, kept in line with the database.

The database is the source of truth. At start-up the saved index is loaded
and compared with the database (by id and by a fingerprint of each text);
anything missing, stale, extra or corrupt is rebuilt. Every write goes
through api/usecases.py, whose one commit step calls `seed_changed` /
`need_changed` / `organisation_changed` after the commit, in the same request,
so the index follows the database; the index is saved after each change with
atomic file replaces. A crash between commit and save is repaired by the
start-up comparison.

Seeds are matched when listed (`access.seed_is_listed`: active and not a draft); needs when active.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from matcher import records as rec
from matcher.engine import Engine
from matcher.results import MatchResult, NeedHit, SyncReport
from matcher.text import check_text

from . import models as m
from .access import listed_seeds, seed_is_listed

if TYPE_CHECKING:
    from matcher.embed import TextEncoder


def university_record(org: m.Organisation) -> rec.University:
    liaison = None
    if org.liaison_office or org.liaison_url or org.liaison_email or org.liaison_phone:
        liaison = rec.Liaison(office=org.liaison_office or f"{org.name} 産学連携窓口", url=org.liaison_url,
                              email=org.liaison_email, phone=org.liaison_phone)
    return rec.University(name=org.name, prefecture_code=org.prefecture_code, name_en=org.name_en, liaison=liaison)


def seed_record(seed: m.Seed, researcher: m.Researcher, org: m.Organisation) -> rec.Seed:
    return rec.Seed(
        id=m.stored_id(seed), title=seed.title, summary=seed.summary, keywords=tuple(seed.keywords),
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
    )


def load_records(session: Session) -> tuple[list[rec.University], list[rec.Seed], list[rec.Need]]:
    orgs = {o.id: o for o in session.exec(select(m.Organisation)).all()}
    researchers = {r.id: r for r in session.exec(select(m.Researcher)).all()}
    universities = [university_record(o) for o in orgs.values() if o.kind == m.OrgKind.university]
    seeds = [seed_record(s, researchers[s.researcher_id], orgs[s.organisation_id])
             for s in session.exec(select(m.Seed).where(listed_seeds())).all()]
    needs = [need_record(n, orgs.get(n.organisation_id) if n.organisation_id else None)
             for n in session.exec(select(m.Need).where(col(m.Need.status) == m.Status.active)).all()]
    return universities, seeds, needs


class MatchService:
    def __init__(self, engine: Engine, index_dir: Path, start_reports: tuple[SyncReport, SyncReport]):
        self.engine = engine
        self.index_dir = Path(index_dir)
        self.start_reports = start_reports
        # FAISS and the BM25 matrix are not safe under concurrent change; the
        # expensive part (encoding the query) happens outside this lock.
        self._lock = threading.RLock()

    @classmethod
    def start(cls, session: Session, encoder: TextEncoder, index_dir: Path) -> MatchService:
        universities, seeds, needs = load_records(session)
        engine, seed_report, need_report = Engine.open(index_dir, encoder, seeds=seeds, needs=needs,
                                                       universities=universities)
        return cls(engine, index_dir, (seed_report, need_report))

    # ---- following the database ---------------------------------------
    def organisation_changed(self, org: m.Organisation) -> None:
        if org.kind == m.OrgKind.university:
            with self._lock:
                self.engine.add_university(university_record(org))

    def seed_changed(self, session: Session, seed: m.Seed) -> None:
        with self._lock:
            if seed_is_listed(seed):
                org = session.get_one(m.Organisation, seed.organisation_id)
                self.engine.add_university(university_record(org))
                self.engine.upsert_seed(seed_record(seed, session.get_one(m.Researcher, seed.researcher_id), org))
            elif seed.id in self.engine.seeds:
                self.engine.delete_seed(seed.id)
            self.engine.save(self.index_dir)

    def need_changed(self, session: Session, need: m.Need) -> None:
        with self._lock:
            if need.status == m.Status.active:
                org = session.get(m.Organisation, need.organisation_id) if need.organisation_id else None
                self.engine.upsert_need(need_record(need, org))
            elif need.id in self.engine.needs:
                self.engine.delete_need(need.id)
            self.engine.save(self.index_dir)

    def is_consistent_with(self, session: Session) -> bool:
        """True when the index holds exactly the database's matchable seeds and active needs."""
        _, seeds, needs = load_records(session)
        with self._lock:
            try:
                self.engine.seed_index.check_consistent()
                self.engine.need_index.check_consistent()
            except Exception:
                return False
            return (self.engine.seed_index.ids() == {s.id for s in seeds}
                    and self.engine.need_index.ids() == {n.id for n in needs})

    # ---- matching --------------------------------------------------------
    def match(self, text: str, prefecture: object, **options: Any) -> MatchResult:
        # validate before the costly encoding; the engine checks again, cheaply
        check_text(text, field="ニーズの本文", max_chars=self.engine.settings.max_text_chars)
        vector = self.engine.encoder.encode_queries([text])[0]
        with self._lock:
            return self.engine.match(text, prefecture, query_vector=vector, **options)

    def needs_for_text(self, text: str, prefecture: object, **options: Any) -> list[NeedHit]:
        check_text(text, field="シーズの本文", max_chars=self.engine.settings.max_text_chars)
        vector = self.engine.encoder.encode_queries([text])[0]  # outside the lock, like match()
        with self._lock:
            return self.engine.needs_for_text(text, prefecture, query_vector=vector, **options)
