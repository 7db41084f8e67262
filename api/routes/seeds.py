"""Seeds: researchers register, update and withdraw their own; everyone signed in reads visible ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlmodel import func, or_, select

from matcher.serialize import need_hit_to_dict

from .. import access
from ..crud import apply_changes, save
from ..deps import AccountDep, SessionDep, require_roles
from ..errors import ApiError, ErrorResponse, forbidden
from ..limits import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, TOP_K_MAX
from ..models import Account, Organisation, Researcher, Role, Seed, SeedCreate, SeedPublic, SeedUpdate, SeedVisibility, Status
from ..present import seed_public
from ..service import seed_record
from ..schemas import NeedHitOut, Page

router = APIRouter(prefix="/seeds", tags=["seeds"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

Registrar = Annotated[Account, require_roles(Role.researcher, Role.admin)]


@router.post("", operation_id="create_seed", status_code=status.HTTP_201_CREATED, response_model=SeedPublic)
def create_seed(body: SeedCreate, request: Request, session: SessionDep, account: Registrar) -> SeedPublic:
    """研究シーズを登録する（研究者は自分の名義で、管理者は researcher_id を指定して）。"""
    if account.role == Role.researcher:
        me = access.researcher_of(session, account)
        if me is None:
            raise forbidden("このアカウントには研究者情報が結び付いていません。管理者に登録を依頼してください。")
        if body.researcher_id not in (None, me.id):
            raise forbidden("他の研究者の名義でシーズを登録することはできません。")
        researcher = me
    else:
        if body.researcher_id is None:
            raise ApiError(422, "validation_error", "researcher_id を指定してください。")
        researcher = session.get(Researcher, body.researcher_id)
        if researcher is None:
            raise ApiError(422, "validation_error", f"研究者（ID: {body.researcher_id}）が見つかりません。")
    seed = Seed(**body.model_dump(exclude={"researcher_id"}), researcher_id=researcher.id,
                organisation_id=researcher.organisation_id)
    save(session, seed)
    request.app.state.service.seed_changed(session, seed)
    return seed_public(session, seed)


@router.get("", operation_id="list_seeds", response_model=Page[SeedPublic])
def list_seeds(session: SessionDep, account: AccountDep,
               limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               mine: bool = False) -> Page[SeedPublic]:
    """読めるシーズの一覧。mine=true で自分のシーズ（取り下げ・非公開を含む）。"""
    query = select(Seed)
    me = access.researcher_of(session, account) if account.role == Role.researcher else None
    if mine:
        query = query.where(Seed.researcher_id == (me.id if me else -1))
    elif account.role not in access.READ_ALL:
        visible = (Seed.status == Status.active) & (Seed.visibility != SeedVisibility.private)
        query = query.where(or_(visible, Seed.researcher_id == me.id) if me else visible)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Seed.id).offset(offset).limit(limit)).all()
    return Page(items=[seed_public(session, s) for s in rows], total=total, limit=limit, offset=offset)


@router.get("/{seed_id}", operation_id="get_seed", response_model=SeedPublic)
def get_seed(seed_id: int, session: SessionDep, account: AccountDep) -> SeedPublic:
    return seed_public(session, access.readable_seed(session, account, seed_id))


@router.patch("/{seed_id}", operation_id="update_seed", response_model=SeedPublic)
def update_seed(seed_id: int, body: SeedUpdate, request: Request, session: SessionDep, account: AccountDep) -> SeedPublic:
    seed = access.writable_seed(session, account, seed_id)
    apply_changes(seed, body, not_nullable={"title", "summary", "keywords", "market_areas", "visibility"})
    save(session, seed)
    request.app.state.service.seed_changed(session, seed)
    return seed_public(session, seed)


@router.delete("/{seed_id}", operation_id="withdraw_seed", response_model=SeedPublic)
def withdraw_seed(seed_id: int, request: Request, session: SessionDep, account: AccountDep) -> SeedPublic:
    """シーズを取り下げる（記録は残し、照合の対象から外す）。"""
    seed = access.writable_seed(session, account, seed_id)
    seed.status = Status.withdrawn
    save(session, seed)
    request.app.state.service.seed_changed(session, seed)
    return seed_public(session, seed)


@router.get("/{seed_id}/needs", operation_id="needs_for_seed", response_model=list[NeedHitOut])
def needs_for_seed(seed_id: int, request: Request, session: SessionDep, account: AccountDep,
                   top_k: Annotated[int, Query(ge=1, le=TOP_K_MAX)] = 10) -> list[NeedHitOut]:
    """このシーズに合う公開ニーズ（研究者本人・コーディネーター・管理者）。"""
    seed = access.readable_seed(session, account, seed_id)
    if not (account.role in access.READ_ALL or access.owns_seed(session, account, seed)):
        raise forbidden("シーズに合うニーズを見られるのは、登録した研究者本人・コーディネーター・管理者です。")
    # matched by its text, so a researcher can also try a draft (private) seed before publishing it
    record = seed_record(seed, session.get(Researcher, seed.researcher_id), session.get(Organisation, seed.organisation_id))
    hits = request.app.state.service.needs_for_text(record.text, record.prefecture_code, top_k=top_k,
                                                    include_confidential=account.role in access.READ_ALL)
    return [NeedHitOut(**need_hit_to_dict(h)) for h in hits]
