"""The shared visibility rules are written twice, for a row and for a query: both forms must agree."""

from __future__ import annotations

from itertools import product

from sqlmodel import Session, SQLModel, create_engine, select

from api import access
from api import models as m


def _database():
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    return engine


def test_listed_seeds_query_agrees_with_the_predicate():
    with Session(_database()) as session:
        for status, visibility in product(m.Status, m.SeedVisibility):
            session.add(m.Seed(title=f"{status} {visibility}", status=status, visibility=visibility,
                               researcher_id=1, organisation_id=1))
        session.commit()
        seeds = session.exec(select(m.Seed)).all()
        queried = {s.id for s in session.exec(select(m.Seed).where(access.listed_seeds())).all()}
    assert queried == {s.id for s in seeds if access.seed_is_listed(s)}
    assert len(queried) == 2  # active and public or registered; never a draft or a withdrawn seed


def test_listed_needs_query_agrees_with_the_predicate():
    with Session(_database()) as session:
        for status, visibility in product(m.Status, m.NeedVisibility):
            session.add(m.Need(title=f"{status} {visibility}", description="d", prefecture_code="15", status=status,
                               visibility=visibility, owner_account_id=1))
        session.commit()
        needs = session.exec(select(m.Need)).all()
        queried = {n.id for n in session.exec(select(m.Need).where(access.listed_needs())).all()}
    assert queried == {n.id for n in needs if access.need_is_listed(n)}
    assert len(queried) == 1


def test_contact_fields_follow_the_researchers_choice():
    researcher = m.Researcher(name="r", organisation_id=1, account_id=7)
    stranger = m.Account(id=8, name="s", role=m.Role.poster)
    owner = m.Account(id=7, name="o", role=m.Role.researcher)
    admin = m.Account(id=9, name="a", role=m.Role.admin)
    seen = {v: [access.may_see_contact(v, researcher, reader) for reader in (None, stranger, owner, admin)]
            for v in m.ContactVisibility}
    assert seen == {m.ContactVisibility.public: [True, True, True, True],
                    m.ContactVisibility.registered: [False, True, True, True],
                    m.ContactVisibility.private: [False, False, True, True]}
