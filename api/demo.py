"""Load the demo corpus (corpora/) into the database. Idempotent: running it again adds nothing twice.

Seeds and needs keep their corpus ids (10001…, 50001…); organisations are
found again by name and kind, researchers by university, department and name.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, select

from matcher.corpus import CORPUS_DIR, load_corpus

from . import models as m


def load_demo(session: Session, corpus_dir: Path = CORPUS_DIR) -> dict[str, int]:
    corpus = load_corpus(corpus_dir)
    added = {"organisations": 0, "researchers": 0, "seeds": 0, "needs": 0, "accounts": 0}

    def organisation(name: str, kind: m.OrgKind, prefecture_code: str, **extra) -> m.Organisation:
        found = session.exec(select(m.Organisation).where(m.Organisation.name == name, m.Organisation.kind == kind)).first()
        if found is None:
            found = m.Organisation(name=name, kind=kind, prefecture_code=prefecture_code, **extra)
            session.add(found)
            session.flush()
            added["organisations"] += 1
        return found

    universities = {}
    for u in corpus.universities.values():
        universities[u.name] = organisation(
            u.name, m.OrgKind.university, u.prefecture_code, name_en=u.name_en,
            liaison_office=u.liaison.office if u.liaison else None, liaison_url=u.liaison.url if u.liaison else None)

    researchers: dict[tuple, m.Researcher] = {}
    for seed in corpus.seeds:
        org = universities[seed.university]
        r = seed.researcher
        key = (org.id, r.department, r.name)
        if key not in researchers:
            found = session.exec(select(m.Researcher).where(
                m.Researcher.organisation_id == org.id, m.Researcher.name == r.name,
                m.Researcher.department == r.department)).first()
            if found is None:
                found = m.Researcher(organisation_id=org.id, name=r.name, kana=r.kana, department=r.department,
                                     position=r.position)
                session.add(found)
                session.flush()
                added["researchers"] += 1
            researchers[key] = found
        if session.get(m.Seed, seed.id) is None:
            session.add(m.Seed(id=seed.id, title=seed.title, summary=seed.summary, keywords=list(seed.keywords),
                               market_areas=list(seed.market_areas),
                               readiness=m.Readiness(seed.readiness) if seed.readiness else None,
                               researcher_id=researchers[key].id, organisation_id=org.id))
            added["seeds"] += 1

    for need in corpus.needs:
        if session.get(m.Need, need.id) is not None:
            continue
        kind = m.OrgKind(need.poster_kind) if need.poster_kind in m.OrgKind.__members__ else m.OrgKind.other
        org = organisation(need.poster_name or "（投稿者不明）", kind, need.prefecture_code)
        account = session.exec(select(m.Account).where(m.Account.organisation_id == org.id,
                                                       m.Account.role == m.Role.poster)).first()
        if account is None:
            account = m.Account(name=org.name, role=m.Role.poster, organisation_id=org.id)
            session.add(account)
            session.flush()
            added["accounts"] += 1
        session.add(m.Need(id=need.id, title=need.title, description=need.description,
                           prefecture_code=need.prefecture_code, market_areas=list(need.market_areas),
                           collaboration=m.Collaboration(need.collaboration) if need.collaboration else None,
                           visibility=m.NeedVisibility(need.visibility), owner_account_id=account.id,
                           organisation_id=org.id))
        added["needs"] += 1
    session.flush()
    _advance_sequences(session)
    session.commit()
    return added


def _advance_sequences(session: Session) -> None:
    """PostgreSQL's id sequences do not see explicit ids; move them past the demo's."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues after the largest id by itself
    for table in ("seed", "need"):
        session.exec(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"))
