"""Load the demo corpus (corpora/) into the database. Idempotent: running it again adds nothing twice.

Seeds and needs keep their corpus ids (10001…, 50001…); organisations are
found again by name and kind, researchers by university, department and name.

The corpus's passage vectors come with it (`corpora/vectors/<model>.npz`, written by `matcher demo-vectors`;
matcher/demo_vectors.py), and its needs' query vectors (`<model>_query.npz`, model id "<model>#query"): each
file's vectors go into the embedding table under the file's own model id, for the texts the corpus holds now,
so the first start-up finds every demo vector and embeds nothing, and a demo need's match reads its query
vector as that of a need posted through the API. A model without a file, or a text edited since the file was
written, is embedded at start-up (a passage) or at its match (a query) as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlmodel import Session, SQLModel, col, select

from matcher import demo_vectors
from matcher import records as rec
from matcher.corpus import CORPUS_DIR, Corpus, load_corpus

from . import models as m
from .embeddings import STORED_DTYPE, Embedding

T = TypeVar("T")


def load_demo(session: Session, corpus_dir: Path = CORPUS_DIR, vectors_dir: Path | None = None) -> dict[str, int]:
    """Add what the database lacks of the corpus and of its shipped vectors (`vectors_dir`, by default the
    corpus's `vectors/` folder); returns how many records of each kind were added."""
    corpus = load_corpus(corpus_dir)
    loader = _Loader(session)
    universities = {u.name: loader.university(u) for u in corpus.universities.values()}
    for seed in corpus.seeds:
        loader.seed(seed, universities[seed.university])
    for need in corpus.needs:
        loader.need(need)
    session.flush()
    _advance_sequences(session)
    add_shipped_vectors(session, corpus, corpus_dir / "vectors" if vectors_dir is None else vectors_dir)
    session.commit()
    return loader.added


def add_shipped_vectors(session: Session, corpus: Corpus, vectors_dir: Path) -> int:
    """Put each shipped file's vectors of the corpus's current texts into the embedding table where it lacks
    them; returns how many. The caller commits."""
    added = 0
    for shipped in demo_vectors.read_all(vectors_dir):
        texts = demo_vectors.texts_for(corpus, shipped.model_id)  # a query file: the needs' texts
        current = set(demo_vectors.fingerprints_of(texts, shipped.model_id))
        vectors = {p: v for p, v in shipped.as_dict().items() if p in current}
        have = set(session.exec(select(Embedding.content_hash).where(
            Embedding.model_id == shipped.model_id, col(Embedding.content_hash).in_(list(vectors)))))
        for content_hash, vector in vectors.items():
            if content_hash not in have:
                session.add(Embedding(model_id=shipped.model_id, content_hash=content_hash, dim=len(vector),
                                      vector=vector.astype(STORED_DTYPE).tobytes()))
                added += 1
    return added


class _Loader:
    def __init__(self, session: Session):
        self.session = session
        self.added = {"organisations": 0, "researchers": 0, "seeds": 0, "needs": 0, "accounts": 0}
        self.researchers: dict[tuple[int, str | None, str], m.Researcher] = {}

    def _add(self, row: SQLModel, kind: str) -> None:
        self.session.add(row)
        self.session.flush()
        self.added[kind] += 1

    def organisation(self, name: str, kind: m.OrgKind, prefecture_code: str | None, **extra: Any) -> m.Organisation:
        query = select(m.Organisation).where(m.Organisation.name == name, m.Organisation.kind == kind)
        found = self.session.exec(query).first()
        if found is None:
            found = m.Organisation(name=name, kind=kind, prefecture_code=_required(prefecture_code, name), **extra)
            self._add(found, "organisations")
        return found

    def university(self, university: rec.University) -> m.Organisation:
        liaison = university.liaison
        return self.organisation(university.name, m.OrgKind.university, university.prefecture_code,
                                 name_en=university.name_en, liaison_office=liaison.office if liaison else None,
                                 liaison_url=liaison.url if liaison else None)

    def researcher(self, r: rec.Researcher, org: m.Organisation) -> m.Researcher:
        key = (m.stored_id(org), r.department, r.name)
        if key not in self.researchers:
            found = self.session.exec(select(m.Researcher).where(
                m.Researcher.organisation_id == org.id, m.Researcher.name == r.name,
                m.Researcher.department == r.department)).first()
            if found is None:
                found = m.Researcher(organisation_id=m.stored_id(org), name=r.name, kana=r.kana,
                                     department=r.department, position=r.position)
                self._add(found, "researchers")
            self.researchers[key] = found
        return self.researchers[key]

    def seed(self, seed: rec.Seed, org: m.Organisation) -> None:
        researcher = self.researcher(_required(seed.researcher, f"seed {seed.id}"), org)
        if self.session.get(m.Seed, seed.id) is not None:
            return
        self.session.add(m.Seed(id=seed.id, title=seed.title, summary=seed.summary, keywords=list(seed.keywords),
                                market_areas=list(seed.market_areas),
                                readiness=m.Readiness(seed.readiness) if seed.readiness else None,
                                researcher_id=m.stored_id(researcher), organisation_id=m.stored_id(org)))
        self.added["seeds"] += 1

    def poster(self, need: rec.Need) -> tuple[m.Organisation, m.Account]:
        kind = m.OrgKind.__members__.get(need.poster_kind or "", m.OrgKind.other)
        org = self.organisation(need.poster_name or "（投稿者不明）", kind, need.prefecture_code)
        account = self.session.exec(select(m.Account).where(m.Account.organisation_id == org.id,
                                                            m.Account.role == m.Role.poster)).first()
        if account is None:
            account = m.Account(name=org.name, role=m.Role.poster, organisation_id=org.id)
            self._add(account, "accounts")
        return org, account

    def need(self, need: rec.Need) -> None:
        if self.session.get(m.Need, need.id) is not None:
            return
        org, account = self.poster(need)
        self.session.add(m.Need(id=need.id, title=need.title, description=need.description,
                                prefecture_code=_required(need.prefecture_code, f"need {need.id}"),
                                municipality_code=need.municipality_code,
                                market_areas=list(need.market_areas),
                                collaboration=m.Collaboration(need.collaboration) if need.collaboration else None,
                                visibility=m.NeedVisibility(need.visibility), owner_account_id=m.stored_id(account),
                                organisation_id=org.id))
        self.added["needs"] += 1


def _required(value: T | None, where: str) -> T:
    """The database needs what the corpus format leaves optional (a prefecture, a seed's researcher)."""
    if value is None:
        raise ValueError(f"the demo corpus lacks a required value ({where})")
    return value


def _advance_sequences(session: Session) -> None:
    """PostgreSQL's id sequences do not see explicit ids; move them past the demo's."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues after the largest id by itself
    for table in ("seed", "need"):
        session.connection().execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                          f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"))
