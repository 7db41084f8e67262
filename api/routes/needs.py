"""Needs: post (and get partners at once), read, change, withdraw, re-run the match with filters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from .. import access, queries, usecases
from ..deps import AccountDep, ServiceDep, SessionDep, require_roles
from ..errors import ErrorResponse
from ..idempotency import ApiRoute
from ..limits import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX
from ..models import Account, NeedCreate, NeedPublic, NeedUpdate, Role
from ..params import PathId
from ..present import need_public
from ..rate_limits import MATCHES, RATE_LIMITED_RESPONSE, WRITES
from ..schemas import MatchOptions, MatchOut, Page

router = APIRouter(route_class=ApiRoute, prefix="/needs", tags=["needs"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

Poster = Annotated[Account, require_roles(Role.poster, Role.admin)]


class NeedCreated(NeedPublic):
    match: MatchOut


@router.post("", operation_id="create_need", status_code=status.HTTP_201_CREATED, response_model=NeedCreated,
             dependencies=[MATCHES, WRITES], responses=RATE_LIMITED_RESPONSE)  # a write that matches at once
def create_need(body: NeedCreate, session: SessionDep, service: ServiceDep, account: Poster) -> NeedCreated:
    """ニーズを投稿し、その場で連携先候補（大学）を受け取る。"""
    need = usecases.create_need(session, service, account, body)
    match = queries.match_need(session, service, account, need, MatchOptions())
    return NeedCreated(**need_public(session, need).model_dump(), match=match)


@router.get("", operation_id="list_needs", response_model=Page[NeedPublic])
def list_needs(session: SessionDep, account: AccountDep,
               limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               mine: bool = False) -> Page[NeedPublic]:
    """読めるニーズの一覧（公開ニーズと、自分の非公開ニーズ）。"""
    return queries.list_needs(session, account, limit=limit, offset=offset, mine=mine)


@router.get("/{need_id}", operation_id="get_need", response_model=NeedPublic)
def get_need(need_id: PathId, session: SessionDep, account: AccountDep) -> NeedPublic:
    return need_public(session, access.readable_need(session, account, need_id))


@router.patch("/{need_id}", operation_id="update_need", response_model=NeedPublic, dependencies=[WRITES],
              responses=RATE_LIMITED_RESPONSE)
def update_need(need_id: PathId, body: NeedUpdate, session: SessionDep, service: ServiceDep,
                account: AccountDep) -> NeedPublic:
    return need_public(session, usecases.update_need(session, service, account, need_id, body))


@router.delete("/{need_id}", operation_id="withdraw_need", response_model=NeedPublic, dependencies=[WRITES],
               responses=RATE_LIMITED_RESPONSE)
def withdraw_need(need_id: PathId, session: SessionDep, service: ServiceDep, account: AccountDep) -> NeedPublic:
    """ニーズを取り下げる（記録は残し、照合の対象から外す）。"""
    return need_public(session, usecases.withdraw_need(session, service, account, need_id))


@router.post("/{need_id}/matches", operation_id="match_need", response_model=MatchOut, dependencies=[MATCHES],
             responses=RATE_LIMITED_RESPONSE)
def match_need(need_id: PathId, session: SessionDep, service: ServiceDep, account: AccountDep,
               options: MatchOptions | None = None) -> MatchOut:
    """ニーズの照合を条件（件数・範囲・単位・並べ替え・地域・市場領域）を変えて再実行する。

    並べ替え（sort）: overall（総合、既定）か content（内容重視: 最も近いシーズ1件だけ）。どちらでも各候補の
    signals に「内容の近さ」と「実績・体制」（登録シーズの数。score には含まない）を示す。"""
    need = access.readable_need(session, account, need_id)
    return queries.match_need(session, service, account, need, options or MatchOptions())
