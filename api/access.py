"""Object-level authorisation: who may read or change which need, seed and researcher, and see which contact.

Roles:
- poster: posts needs; sees public needs and its own confidential ones; changes only its own needs.
- researcher: registers seeds under its own researcher profile; changes only those seeds and its own profile.
- coordinator: reads every need and every listed seed (the network institution's view), changes nothing.
- admin: reads and changes everything except drafts.

Seeds (issue 14, items 4 and 5):
- a draft (`SeedVisibility.private`, shown as 「下書き（自分だけ）」) is its researcher's alone: no coordinator or
  admin reads it, lists it, or runs seed→needs on it. An admin reaches one only through the audited support path
  (`support_seed`, `GET /api/v1/admin/support/seeds/{id}?reason=…`), which writes an audit row with the reason;
- a withdrawn seed is read by its researcher and by admins only (coordinators and everyone else: 404).

A confidential need, draft or withdrawn seed, or unpublished researcher that a reader may not see is reported as
missing (404), not forbidden, so its existence does not leak.

The rules every reader shares ("listed" seeds and needs) are written once each, as a predicate on a row and,
right next to it, as the same condition for a query: lists, counts and the matching index use the query form.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from .errors import forbidden, not_found
from .models import Account, ContactVisibility, Need, NeedVisibility, Researcher, Role, Seed, SeedVisibility, Status

READ_ALL = {Role.coordinator, Role.admin}


# ---- what every signed-in reader sees ------------------------------------------------------------
def seed_is_listed(seed: Seed) -> bool:
    """Active and not a draft: every signed-in user may read it, and the engine matches it."""
    return seed.status == Status.active and seed.visibility != SeedVisibility.private


def listed_seeds() -> ColumnElement[bool]:
    """`seed_is_listed` as a WHERE clause."""
    return and_(col(Seed.status) == Status.active, col(Seed.visibility) != SeedVisibility.private)


def need_is_listed(need: Need) -> bool:
    """Active and public: every signed-in user may read it."""
    return need.status == Status.active and need.visibility == NeedVisibility.public


def listed_needs() -> ColumnElement[bool]:
    """`need_is_listed` as a WHERE clause."""
    return and_(col(Need.status) == Status.active, col(Need.visibility) == NeedVisibility.public)


def may_see_contact(visibility: ContactVisibility, researcher: Researcher, reader: Account | None) -> bool:
    """One contact field (e-mail or phone) of `researcher`, under the visibility the researcher chose for it."""
    if reader is not None and (reader.role == Role.admin or reader.id == researcher.account_id):
        return True
    if visibility == ContactVisibility.public:
        return True
    return visibility == ContactVisibility.registered and reader is not None


# ---- needs -------------------------------------------------------------------------------------------
def can_read_need(account: Account, need: Need) -> bool:
    return account.role in READ_ALL or need.owner_account_id == account.id or need_is_listed(need)


def may_change_need(account: Account, need: Need) -> bool:
    return account.role == Role.admin or need.owner_account_id == account.id


def readable_need(session: Session, account: Account, need_id: int) -> Need:
    need = session.get(Need, need_id)
    if need is None or not can_read_need(account, need):
        raise not_found("ニーズ", need_id)
    return need


def writable_need(session: Session, account: Account, need_id: int) -> Need:
    need = readable_need(session, account, need_id)
    if not may_change_need(account, need):
        raise forbidden("このニーズを変更できるのは、投稿した本人と管理者だけです。")
    return need


# ---- researchers and seeds ------------------------------------------------------------------------
def researcher_of(session: Session, account: Account) -> Researcher | None:
    return session.exec(select(Researcher).where(Researcher.account_id == account.id)).first()


def owns_seed(session: Session, account: Account, seed: Seed) -> bool:
    if account.role != Role.researcher:
        return False
    me = researcher_of(session, account)
    return me is not None and me.id == seed.researcher_id


def admin_may_read_seed(seed: Seed) -> bool:
    """What an admin reads outside the support path: every seed but a draft (withdrawn ones included)."""
    return seed.visibility != SeedVisibility.private


def admin_seeds() -> ColumnElement[bool]:
    """`admin_may_read_seed` as a WHERE clause."""
    return col(Seed.visibility) != SeedVisibility.private


def can_read_seed(session: Session, account: Account, seed: Seed) -> bool:
    """Listed seeds: everyone; withdrawn ones: their researcher and admins; drafts: their researcher alone."""
    if seed_is_listed(seed) or owns_seed(session, account, seed):
        return True
    return account.role == Role.admin and admin_may_read_seed(seed)


def may_change_seed(session: Session, account: Account, seed: Seed) -> bool:
    return account.role == Role.admin or owns_seed(session, account, seed)


def may_see_needs_for_seed(session: Session, account: Account, seed: Seed) -> bool:
    """The needs a seed fits: for its researcher, and for coordinators and admins on a seed they may read (never a
    draft: `readable_seed` has already answered 404 for one)."""
    return owns_seed(session, account, seed) or (account.role in READ_ALL and can_read_seed(session, account, seed))


def readable_seed(session: Session, account: Account, seed_id: int) -> Seed:
    seed = session.get(Seed, seed_id)
    if seed is None or not can_read_seed(session, account, seed):
        raise not_found("シーズ", seed_id)
    return seed


def writable_seed(session: Session, account: Account, seed_id: int) -> Seed:
    seed = readable_seed(session, account, seed_id)
    if not may_change_seed(session, account, seed):
        raise forbidden("このシーズを変更できるのは、登録した研究者本人と管理者だけです。")
    return seed


def support_seed(session: Session, seed_id: int) -> Seed:
    """Any seed, drafts included, for an admin's support request: the caller (api/routes/admin.py) has checked the
    role and the reason, and writes the audit row."""
    seed = session.get(Seed, seed_id)
    if seed is None:
        raise not_found("シーズ", seed_id)
    return seed


# ---- researcher profiles ------------------------------------------------------------------------------
def researcher_is_published(session: Session, researcher: Researcher) -> bool:
    """Whether the researcher has a listed seed: then its profile is in every match result that seed reaches."""
    query = select(Seed.id).where(Seed.researcher_id == researcher.id, listed_seeds())
    return session.exec(query.limit(1)).first() is not None


def may_read_researcher(session: Session, reader: Account, researcher: Researcher) -> bool:
    """A profile by id: the researcher and admins always; anyone else only as far as match results already show
    it (a listed seed), and then its contact fields each by their own setting (`may_see_contact`). A researcher
    with only drafts or withdrawn seeds stays unknown (404) to others, as those seeds do."""
    if reader.role == Role.admin or researcher.account_id == reader.id:
        return True
    return researcher_is_published(session, researcher)


def readable_researcher(session: Session, reader: Account, researcher_id: int) -> Researcher:
    researcher = session.get(Researcher, researcher_id)
    if researcher is None or not may_read_researcher(session, reader, researcher):
        raise not_found("研究者", researcher_id)
    return researcher


def writable_researcher(session: Session, account: Account, researcher_id: int) -> Researcher:
    researcher = readable_researcher(session, account, researcher_id)
    if not (account.role == Role.admin or researcher.account_id == account.id):
        raise forbidden("研究者情報を変更できるのは、本人と管理者だけです。")
    return researcher
