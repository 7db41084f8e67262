"""Organisations, researchers and the signed-in account; a researcher's export (its profile, seeds, the record of
who was shown its contact, the introduction requests addressed to it) and erasure of its own data (APPI).

A researcher's profile by id follows the rules of its contact details (api/access.py `may_read_researcher`):
the researcher and admins always, others only once a listed seed has put it in match results, and every contact
field it shows is recorded in the audit log (api/present.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlmodel import col, func, select

from .. import access, erasure, usecases
from ..deps import AccountDep, ServiceDep, SessionDep, require_roles
from ..errors import ApiError, ErrorResponse, not_found
from ..idempotency import ApiRoute
from ..limits import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX
from ..models import (
    Account,
    AccountPublic,
    Organisation,
    OrganisationCreate,
    OrganisationPublic,
    OrgKind,
    Researcher,
    ResearcherCreate,
    ResearcherPublic,
    ResearcherUpdate,
    Role,
)
from ..params import PathId
from ..present import researcher_public
from ..rate_limits import RATE_LIMITED_RESPONSE, WRITES
from ..schemas import Page

NO_PROFILE = "このアカウントには研究者情報が結び付いていません（研究者のアカウントだけが使えます）。"
CONFIRM = ("研究者情報とすべてのシーズを削除します（元に戻せません）。よければ confirm=true を付けて"
           "もう一度送ってください。削除の前に GET /api/v1/researchers/me/export で控えを保存できます。")

router = APIRouter(route_class=ApiRoute, tags=["people"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

Admin = Annotated[Account, require_roles(Role.admin)]


@router.get("/me", operation_id="get_me", response_model=AccountPublic)
def get_me(session: SessionDep, account: AccountDep) -> AccountPublic:
    """トークンの持ち主のアカウント（名前・役割・所属する組織、研究者ならその研究者の ID）。"""
    me = access.researcher_of(session, account)
    return AccountPublic(**account.model_dump(), researcher_id=me.id if me else None)


@router.get("/organisations", operation_id="list_organisations", response_model=Page[OrganisationPublic])
def list_organisations(session: SessionDep, _: AccountDep, kind: OrgKind | None = None,
                       limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
                       offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Page[OrganisationPublic]:
    """組織（大学・自治体・企業など）の一覧。ID の順。kind で種別を絞り込める。"""
    query = select(Organisation)
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Organisation.id)).offset(offset).limit(limit)).all()
    return Page(items=[OrganisationPublic.model_validate(o, from_attributes=True) for o in rows],
                total=total, limit=limit, offset=offset)


@router.get("/organisations/{organisation_id}", operation_id="get_organisation", response_model=OrganisationPublic)
def get_organisation(organisation_id: PathId, session: SessionDep, _: AccountDep) -> OrganisationPublic:
    """組織1件（名称・種別・所在地、大学なら産学連携窓口）。"""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise not_found("組織", organisation_id)
    return OrganisationPublic.model_validate(org, from_attributes=True)


@router.post("/organisations", operation_id="create_organisation", status_code=status.HTTP_201_CREATED,
             response_model=OrganisationPublic, dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def create_organisation(body: OrganisationCreate, session: SessionDep, service: ServiceDep,
                        _: Admin) -> OrganisationPublic:
    """組織を登録する（管理者）。大学は産学連携窓口と所在地も登録すると、照合結果に連絡先と距離が出る。"""
    org = usecases.create_organisation(session, service, body)
    return OrganisationPublic.model_validate(org, from_attributes=True)


@router.post("/researchers", operation_id="create_researcher", status_code=status.HTTP_201_CREATED,
             response_model=ResearcherPublic, dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def create_researcher(body: ResearcherCreate, session: SessionDep, service: ServiceDep,
                      account: Admin) -> ResearcherPublic:
    """研究者を登録する（管理者）。連絡先は項目ごとに公開範囲（public / registered / private）を選べる。"""
    return researcher_public(session, usecases.create_researcher(session, service, body), account)


def _my_profile(session: SessionDep, account: Account) -> Researcher:
    me = access.researcher_of(session, account)
    if me is None:
        raise ApiError(404, "not_found", NO_PROFILE)
    return me


@router.get("/researchers/me/export", operation_id="export_my_data", response_model=erasure.ResearcherExport)
def export_my_data(session: SessionDep, account: AccountDep) -> erasure.ResearcherExport:
    """自分の研究者情報・連絡先とその公開範囲・すべてのシーズ（下書き・取り下げを含む）、自分の連絡先が誰に示されたかの
    記録と、自分あての紹介依頼（依頼者・メッセージ・回答と理由）を JSON で受け取る（個人情報保護法に基づく開示）。"""
    return erasure.export_researcher(session, account, _my_profile(session, account))


def _erase(request: Request, session: SessionDep, service: ServiceDep, account: Account, researcher: Researcher,
           confirm: bool) -> erasure.ErasureOut:
    if not confirm:
        raise ApiError(422, "validation_error", CONFIRM)
    return erasure.erase_researcher(session, service, request.app.state.settings.data_dir, account, researcher)


@router.delete("/researchers/me", operation_id="erase_my_data", response_model=erasure.ErasureOut,
               dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def erase_my_data(request: Request, session: SessionDep, service: ServiceDep, account: AccountDep,
                  confirm: bool = False) -> erasure.ErasureOut:
    """自分の研究者情報とすべてのシーズを削除する（confirm=true が必要。元に戻せない）。シーズは照合の対象から外れ、
    そのシーズを示したレポートのファイルも削除され、アカウントは匿名化して停止する。"""
    return _erase(request, session, service, account, _my_profile(session, account), confirm)


@router.get("/researchers/{researcher_id}", operation_id="get_researcher", response_model=ResearcherPublic)
def get_researcher(researcher_id: PathId, session: SessionDep, account: AccountDep) -> ResearcherPublic:
    """研究者情報。本人と管理者のほかは、公開中のシーズがある研究者だけ。連絡先は項目ごとの公開範囲に従う。"""
    return researcher_public(session, access.readable_researcher(session, account, researcher_id), account)


@router.delete("/researchers/{researcher_id}", operation_id="erase_researcher", response_model=erasure.ErasureOut,
               dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def erase_researcher(researcher_id: PathId, request: Request, session: SessionDep, service: ServiceDep,
                     account: AccountDep, confirm: bool = False) -> erasure.ErasureOut:
    """研究者情報とすべてのシーズを削除する（本人と管理者。confirm=true が必要）。"""
    researcher = access.readable_researcher(session, account, researcher_id)
    if not (account.role == Role.admin or researcher.account_id == account.id):
        raise ApiError(403, "forbidden", "研究者情報を削除できるのは、本人と管理者だけです。")
    return _erase(request, session, service, account, researcher, confirm)


@router.patch("/researchers/{researcher_id}", operation_id="update_researcher", response_model=ResearcherPublic,
               dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def update_researcher(researcher_id: PathId, body: ResearcherUpdate, session: SessionDep, service: ServiceDep,
                      account: AccountDep) -> ResearcherPublic:
    """研究者情報と連絡先の公開範囲（項目ごと: public / registered / private）を変更する。"""
    researcher = usecases.update_researcher(session, service, account, researcher_id, body)
    return researcher_public(session, researcher, account)
