"""Seeds: researchers register, update and withdraw their own; everyone signed in reads listed ones.

A draft (visibility private, 「下書き（自分だけ）」) is its researcher's alone: every route here answers 404 for it to
anyone else, coordinators and admins included (admins: api/routes/admin.py's audited support path). A withdrawn
seed is read by its researcher and admins only (api/access.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from .. import access, queries, usecases
from ..deps import AccountDep, ServiceDep, SessionDep, require_roles
from ..errors import ErrorResponse, forbidden
from ..idempotency import ApiRoute
from ..limits import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, TOP_K_MAX
from ..models import Account, Role, SeedCreate, SeedPublic, SeedUpdate
from ..params import PathId
from ..present import seed_public
from ..rate_limits import MATCHES, RATE_LIMITED_RESPONSE, WRITES
from ..schemas import NeedHitOut, Page
from ..seed_search import SeedSearch

router = APIRouter(route_class=ApiRoute, prefix="/seeds", tags=["seeds"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

Registrar = Annotated[Account, require_roles(Role.researcher, Role.admin)]


@router.post("", operation_id="create_seed", status_code=status.HTTP_201_CREATED, response_model=SeedPublic,
             dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def create_seed(body: SeedCreate, session: SessionDep, service: ServiceDep, account: Registrar) -> SeedPublic:
    """研究シーズを登録する（研究者は自分の名義で、管理者は researcher_id を指定して）。"""
    return seed_public(session, usecases.create_seed(session, service, account, body))


@router.get("", operation_id="list_seeds", response_model=Page[SeedPublic])
def list_seeds(session: SessionDep, account: AccountDep,
               limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               mine: bool = False, search: Annotated[SeedSearch, Query()] = SeedSearch()) -> Page[SeedPublic]:
    """読めるシーズの一覧。mine=true で自分のシーズ（取り下げ・下書きを含む）。

    q（キーワード: 空白で区切った語をすべて、タイトルか概要、または研究者の氏名か所属に含む）と、大学の都道府県・
    地域・大学名・市場領域・研究の段階で絞り込める。下書きは本人だけ、取り下げ済みは本人と管理者だけが読める。"""
    return queries.list_seeds(session, account, limit=limit, offset=offset, mine=mine, search=search)


@router.get("/{seed_id}", operation_id="get_seed", response_model=SeedPublic)
def get_seed(seed_id: PathId, session: SessionDep, account: AccountDep) -> SeedPublic:
    """シーズ。下書きは登録した研究者本人だけ、取り下げ済みは本人と管理者だけが読める（ほかの人には 404）。"""
    return seed_public(session, access.readable_seed(session, account, seed_id))


@router.patch("/{seed_id}", operation_id="update_seed", response_model=SeedPublic, dependencies=[WRITES],
              responses=RATE_LIMITED_RESPONSE)
def update_seed(seed_id: PathId, body: SeedUpdate, session: SessionDep, service: ServiceDep,
                account: AccountDep) -> SeedPublic:
    """シーズを変更する（研究者本人・管理者）。送った項目だけが変わり、すぐに照合の対象に反映される。"""
    return seed_public(session, usecases.update_seed(session, service, account, seed_id, body))


@router.delete("/{seed_id}", operation_id="withdraw_seed", response_model=SeedPublic, dependencies=[WRITES],
               responses=RATE_LIMITED_RESPONSE)
def withdraw_seed(seed_id: PathId, session: SessionDep, service: ServiceDep, account: AccountDep) -> SeedPublic:
    """シーズを取り下げる（記録は残し、照合の対象から外す）。"""
    return seed_public(session, usecases.withdraw_seed(session, service, account, seed_id))


@router.post("/{seed_id}/reactivate", operation_id="reactivate_seed", response_model=SeedPublic,
             dependencies=[WRITES], responses={**RATE_LIMITED_RESPONSE, 409: {"model": ErrorResponse}})
def reactivate_seed(seed_id: PathId, session: SessionDep, service: ServiceDep, account: AccountDep) -> SeedPublic:
    """取り下げたシーズを再開する（研究者本人・管理者）。公開範囲は取り下げ前のまま（下書きは下書きのまま）。

    取り下げていなければ 409。"""
    return seed_public(session, usecases.reactivate_seed(session, service, account, seed_id))


@router.get("/{seed_id}/needs", operation_id="needs_for_seed", response_model=list[NeedHitOut],
            dependencies=[MATCHES], responses=RATE_LIMITED_RESPONSE)
def needs_for_seed(seed_id: PathId, session: SessionDep, service: ServiceDep, account: AccountDep,
                   top_k: Annotated[int, Query(ge=1, le=TOP_K_MAX)] = 10) -> list[NeedHitOut]:
    """このシーズに合うニーズ（研究者本人・コーディネーター・管理者。下書きは本人だけ）。"""
    seed = access.readable_seed(session, account, seed_id)
    if not access.may_see_needs_for_seed(session, account, seed):
        raise forbidden("シーズに合うニーズを見られるのは、登録した研究者本人・コーディネーター・管理者です"
                        "（下書きのシーズは本人だけ）。")
    return queries.needs_for_seed(session, service, account, seed, top_k)
