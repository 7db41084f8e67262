"""Needs: post (and get partners at once), read, change, withdraw, re-run the match with filters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlmodel import func, or_, select

from matcher.regions import default_prefectures

from .. import access
from ..crud import apply_changes, save
from ..deps import AccountDep, SessionDep, require_roles
from ..errors import ErrorResponse
from ..limits import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX
from ..models import Account, Need, NeedCreate, NeedPublic, NeedUpdate, NeedVisibility, Role, Status
from ..present import match_out, need_public
from ..schemas import MatchOptions, MatchOut, Page

router = APIRouter(prefix="/needs", tags=["needs"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

Poster = Annotated[Account, require_roles(Role.poster, Role.admin)]


class NeedCreated(NeedPublic):
    match: MatchOut


def run_match(request: Request, session, account: Account, need: Need, options: MatchOptions) -> MatchOut:
    prefectures = default_prefectures()

    def keep(seed) -> bool:
        code = seed.prefecture_code
        region = prefectures.get(code).region if code else None
        if options.include_prefectures and code not in options.include_prefectures:
            return False
        if code in options.exclude_prefectures:
            return False
        if options.include_regions and region not in options.include_regions:
            return False
        if region in options.exclude_regions:
            return False
        return not options.market_areas or bool(set(options.market_areas) & set(seed.market_areas))

    filtered = any([options.include_prefectures, options.exclude_prefectures, options.include_regions,
                    options.exclude_regions, options.market_areas])
    result = request.app.state.service.match(
        need.title + "\n" + need.description, need.prefecture_code, top_k=options.top_k, level=options.level,
        scope=options.scope, seed_filter=keep if filtered else None)
    return match_out(session, result, account, need.id)


@router.post("", operation_id="create_need", status_code=status.HTTP_201_CREATED, response_model=NeedCreated)
def create_need(body: NeedCreate, request: Request, session: SessionDep, account: Poster) -> NeedCreated:
    """ニーズを投稿し、その場で連携先候補（大学）を受け取る。"""
    need = Need(**body.model_dump(), owner_account_id=account.id, organisation_id=account.organisation_id)
    save(session, need)
    request.app.state.service.need_changed(session, need)
    match = run_match(request, session, account, need, MatchOptions())
    return NeedCreated(**need_public(session, need).model_dump(), match=match)


@router.get("", operation_id="list_needs", response_model=Page[NeedPublic])
def list_needs(session: SessionDep, account: AccountDep,
               limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               mine: bool = False) -> Page[NeedPublic]:
    """読めるニーズの一覧（公開ニーズと、自分の非公開ニーズ）。"""
    query = select(Need)
    if mine:
        query = query.where(Need.owner_account_id == account.id)
    elif account.role not in access.READ_ALL:
        query = query.where(or_(Need.owner_account_id == account.id,
                                (Need.visibility == NeedVisibility.public) & (Need.status == Status.active)))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Need.id).offset(offset).limit(limit)).all()
    return Page(items=[need_public(session, n) for n in rows], total=total, limit=limit, offset=offset)


@router.get("/{need_id}", operation_id="get_need", response_model=NeedPublic)
def get_need(need_id: int, session: SessionDep, account: AccountDep) -> NeedPublic:
    return need_public(session, access.readable_need(session, account, need_id))


@router.patch("/{need_id}", operation_id="update_need", response_model=NeedPublic)
def update_need(need_id: int, body: NeedUpdate, request: Request, session: SessionDep, account: AccountDep) -> NeedPublic:
    need = access.writable_need(session, account, need_id)
    apply_changes(need, body, not_nullable={"title", "description", "prefecture_code", "market_areas", "visibility"})
    save(session, need)
    request.app.state.service.need_changed(session, need)
    return need_public(session, need)


@router.delete("/{need_id}", operation_id="withdraw_need", response_model=NeedPublic)
def withdraw_need(need_id: int, request: Request, session: SessionDep, account: AccountDep) -> NeedPublic:
    """ニーズを取り下げる（記録は残し、照合の対象から外す）。"""
    need = access.writable_need(session, account, need_id)
    need.status = Status.withdrawn
    save(session, need)
    request.app.state.service.need_changed(session, need)
    return need_public(session, need)


@router.post("/{need_id}/matches", operation_id="match_need", response_model=MatchOut)
def match_need(need_id: int, request: Request, session: SessionDep, account: AccountDep,
               options: MatchOptions | None = None) -> MatchOut:
    """ニーズの照合を条件（件数・範囲・単位・地域・市場領域）を変えて再実行する。"""
    need = access.readable_need(session, account, need_id)
    return run_match(request, session, account, need, options or MatchOptions())
