"""The reads the JSON routes and the web pages share: lists of needs and seeds, and the two kinds of match.

Each applies the rules of api/access.py, so a page shows exactly what the API would answer the same account.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from matcher.seed_groups import SeedFilter
from matcher.serialize import need_hit_to_dict

from . import access
from .embeddings import stored_query_vectors
from .models import Account, Need, NeedPublic, Organisation, Researcher, Role, Seed, SeedPublic
from .need_search import NeedSearch, search_condition
from .present import match_out, need_public, seed_public
from .schemas import MatchOptions, MatchOut, NeedHitOut, Page
from .seed_search import SeedSearch, seed_search_condition
from .service import MatchService, passage_text, seed_record

Table = TypeVar("Table", Need, Seed)


# ---- lists ---------------------------------------------------------------------------------------------
def _page(session: Session, query: SelectOfScalar[Table], order: Sequence[ColumnElement[Any] | Mapped[Any]],
          limit: int, offset: int) -> tuple[list[Table], int]:
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(*order).offset(offset).limit(limit)).all()
    return list(rows), total


# newest first; the id breaks ties (needs loaded together share a time), so that pages never overlap
NEWEST_FIRST = (col(Need.created_at).desc(), col(Need.id).desc())


def list_needs(session: Session, account: Account, *, limit: int, offset: int, mine: bool,
               search: NeedSearch | None = None) -> Page[NeedPublic]:
    """The needs `account` may read (listed ones and its own), newest first, narrowed by `search`
    (api/need_search.py); `mine`: only its own, withdrawn ones too."""
    query = select(Need)
    if mine:
        query = query.where(Need.owner_account_id == account.id)
    elif account.role not in access.READ_ALL:
        query = query.where(or_(col(Need.owner_account_id) == account.id, access.listed_needs()))
    if search is not None:
        query = query.where(search_condition(search))
    rows, total = _page(session, query, NEWEST_FIRST, limit, offset)
    return Page(items=[need_public(session, n) for n in rows], total=total, limit=limit, offset=offset)


def _own_seeds(me: Researcher | None) -> ColumnElement[bool]:
    return col(Seed.researcher_id) == me.id if me is not None else false()


def readable_seeds(session: Session, account: Account) -> ColumnElement[bool]:
    """`access.can_read_seed` as a WHERE clause: listed seeds, its own (a researcher), and for an admin every seed
    but a draft. Coordinators read listed seeds only: never a draft, never a withdrawn seed."""
    me = access.researcher_of(session, account) if account.role == Role.researcher else None
    if account.role == Role.admin:
        return access.admin_seeds()
    return or_(access.listed_seeds(), _own_seeds(me))


def list_seeds(session: Session, account: Account, *, limit: int, offset: int, mine: bool,
               search: SeedSearch | None = None) -> Page[SeedPublic]:
    """The seeds `account` may read (`readable_seeds`), narrowed by `search` (api/seed_search.py); `mine`: only
    its own, withdrawn and drafts too."""
    query = select(Seed)
    if mine:
        me = access.researcher_of(session, account) if account.role == Role.researcher else None
        query = query.where(_own_seeds(me))
    else:
        query = query.where(readable_seeds(session, account))
    if search is not None:
        query = query.where(seed_search_condition(search))
    rows, total = _page(session, query, [col(Seed.id)], limit, offset)
    return Page(items=[seed_public(session, s) for s in rows], total=total, limit=limit, offset=offset)


# ---- matching ------------------------------------------------------------------------------------------
def _seed_filter(options: MatchOptions) -> SeedFilter | None:
    """The options' place and market-area filters, which the engine answers from its seed groups
    (matcher/seed_groups.py); None when nothing is filtered."""
    keep = SeedFilter(include_prefectures=frozenset(options.include_prefectures),
                      exclude_prefectures=frozenset(options.exclude_prefectures),
                      include_regions=frozenset(options.include_regions),
                      exclude_regions=frozenset(options.exclude_regions), market_areas=frozenset(options.market_areas))
    return keep or None


def match_need(session: Session, service: MatchService, account: Account, need: Need,
               options: MatchOptions) -> MatchOut:
    """Partners for `need`, with contacts shown as `account` may see them."""
    text = passage_text(need)
    (stored,) = stored_query_vectors(session, service.encoder.name, [text])  # kept by the need's write
    result = service.match(text, need.prefecture_code, top_k=options.top_k, level=options.level,
                           scope=options.scope, seed_filter=_seed_filter(options),
                           municipality=need.municipality_code, sort=options.sort, query_vector=stored)
    return match_out(session, result, account, need.id)


def needs_for_seed(session: Session, service: MatchService, account: Account, seed: Seed,
                   top_k: int) -> list[NeedHitOut]:
    """Needs that fit `seed`, matched by its text: a researcher can also try a draft before publishing it.

    The caller has checked `access.may_see_needs_for_seed`.
    """
    record = seed_record(seed, session.get_one(Researcher, seed.researcher_id),
                         session.get_one(Organisation, seed.organisation_id))
    hits = service.needs_for_text(record.text, record.prefecture_code, top_k=top_k,
                                  include_confidential=account.role in access.READ_ALL, university=record.university)
    return [NeedHitOut(**need_hit_to_dict(h)) for h in hits]
