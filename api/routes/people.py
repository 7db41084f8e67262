"""Organisations, researchers and the signed-in account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlmodel import col, func, select

from .. import access, usecases
from ..deps import AccountDep, ServiceDep, SessionDep, require_roles
from ..errors import ErrorResponse, not_found
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

router = APIRouter(route_class=ApiRoute, tags=["people"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

Admin = Annotated[Account, require_roles(Role.admin)]


@router.get("/me", operation_id="get_me", response_model=AccountPublic)
def get_me(session: SessionDep, account: AccountDep) -> AccountPublic:
    me = access.researcher_of(session, account)
    return AccountPublic(**account.model_dump(), researcher_id=me.id if me else None)


@router.get("/organisations", operation_id="list_organisations", response_model=Page[OrganisationPublic])
def list_organisations(session: SessionDep, _: AccountDep, kind: OrgKind | None = None,
                       limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
                       offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Page[OrganisationPublic]:
    query = select(Organisation)
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Organisation.id)).offset(offset).limit(limit)).all()
    return Page(items=[OrganisationPublic.model_validate(o, from_attributes=True) for o in rows],
                total=total, limit=limit, offset=offset)


@router.get("/organisations/{organisation_id}", operation_id="get_organisation", response_model=OrganisationPublic)
def get_organisation(organisation_id: PathId, session: SessionDep, _: AccountDep) -> OrganisationPublic:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise not_found("組織", organisation_id)
    return OrganisationPublic.model_validate(org, from_attributes=True)


@router.post("/organisations", operation_id="create_organisation", status_code=status.HTTP_201_CREATED,
             response_model=OrganisationPublic, dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def create_organisation(body: OrganisationCreate, session: SessionDep, service: ServiceDep,
                        _: Admin) -> OrganisationPublic:
    org = usecases.create_organisation(session, service, body)
    return OrganisationPublic.model_validate(org, from_attributes=True)


@router.post("/researchers", operation_id="create_researcher", status_code=status.HTTP_201_CREATED,
             response_model=ResearcherPublic, dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def create_researcher(body: ResearcherCreate, session: SessionDep, service: ServiceDep,
                      account: Admin) -> ResearcherPublic:
    return researcher_public(usecases.create_researcher(session, service, body), account)


@router.get("/researchers/{researcher_id}", operation_id="get_researcher", response_model=ResearcherPublic)
def get_researcher(researcher_id: PathId, session: SessionDep, account: AccountDep) -> ResearcherPublic:
    researcher = session.get(Researcher, researcher_id)
    if researcher is None:
        raise not_found("研究者", researcher_id)
    return researcher_public(researcher, account)


@router.patch("/researchers/{researcher_id}", operation_id="update_researcher", response_model=ResearcherPublic,
               dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def update_researcher(researcher_id: PathId, body: ResearcherUpdate, session: SessionDep, service: ServiceDep,
                      account: AccountDep) -> ResearcherPublic:
    """研究者情報と連絡先の公開範囲（項目ごと: public / registered / private）を変更する。"""
    researcher = usecases.update_researcher(session, service, account, researcher_id, body)
    return researcher_public(researcher, account)
