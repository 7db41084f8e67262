"""Object-level authorisation: who may read or change which need, seed and researcher.

Roles:
- poster: posts needs; sees public needs and its own confidential ones; changes only its own needs.
- researcher: registers seeds under its own researcher profile; changes only those seeds and its own profile.
- coordinator: reads everything (the network institution's view), changes nothing.
- admin: reads and changes everything.

A confidential need or private seed that a reader may not see is reported as
missing (404), not forbidden, so its existence does not leak.
"""

from __future__ import annotations

from sqlmodel import Session, select

from .errors import forbidden, not_found
from .models import Account, Need, NeedVisibility, Researcher, Role, Seed, SeedVisibility, Status

READ_ALL = {Role.coordinator, Role.admin}


def researcher_of(session: Session, account: Account) -> Researcher | None:
    return session.exec(select(Researcher).where(Researcher.account_id == account.id)).first()


def can_read_need(account: Account, need: Need) -> bool:
    if account.role in READ_ALL or need.owner_account_id == account.id:
        return True
    return need.visibility == NeedVisibility.public and need.status == Status.active


def readable_need(session: Session, account: Account, need_id: int) -> Need:
    need = session.get(Need, need_id)
    if need is None or not can_read_need(account, need):
        raise not_found("ニーズ", need_id)
    return need


def writable_need(session: Session, account: Account, need_id: int) -> Need:
    need = readable_need(session, account, need_id)
    if not (account.role == Role.admin or need.owner_account_id == account.id):
        raise forbidden("このニーズを変更できるのは、投稿した本人と管理者だけです。")
    return need


def owns_seed(session: Session, account: Account, seed: Seed) -> bool:
    if account.role != Role.researcher:
        return False
    me = researcher_of(session, account)
    return me is not None and me.id == seed.researcher_id


def can_read_seed(session: Session, account: Account, seed: Seed) -> bool:
    if account.role in READ_ALL or owns_seed(session, account, seed):
        return True
    return seed.status == Status.active and seed.visibility != SeedVisibility.private


def readable_seed(session: Session, account: Account, seed_id: int) -> Seed:
    seed = session.get(Seed, seed_id)
    if seed is None or not can_read_seed(session, account, seed):
        raise not_found("シーズ", seed_id)
    return seed


def writable_seed(session: Session, account: Account, seed_id: int) -> Seed:
    seed = readable_seed(session, account, seed_id)
    if not (account.role == Role.admin or owns_seed(session, account, seed)):
        raise forbidden("このシーズを変更できるのは、登録した研究者本人と管理者だけです。")
    return seed


def writable_researcher(session: Session, account: Account, researcher_id: int) -> Researcher:
    researcher = session.get(Researcher, researcher_id)
    if researcher is None:
        raise not_found("研究者", researcher_id)
    if not (account.role == Role.admin or researcher.account_id == account.id):
        raise forbidden("研究者情報を変更できるのは、本人と管理者だけです。")
    return researcher
