"""Admins: the organisations (filtered by kind and name, 20 a page) and the form that adds a municipality, company
or university with its liaison office and campus location (issue 15).

The form is validated by the API's own `OrganisationCreate` and written by `usecases.create_organisation`, as
`POST /api/v1/organisations` is, so the campus municipality is checked against the prefecture as a need's is.
"""

from __future__ import annotations

from math import ceil
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from matcher.places import default_places
from matcher.regions import default_prefectures

from .. import usecases
from ..deps import ServiceDep, SessionDep
from ..limits import ID_MAX
from ..models import Account, Organisation, OrganisationCreate, OrgKind, Role
from . import admin_labels
from .deps import PAGE_WRITES, SignedIn, require
from .forms import Form, Values, check_csrf, form_errors, text, without_empty
from .needs import municipalities_of, page_of, prefecture_groups
from .render import redirect, render
from .routing import page_router

router = page_router()

PER_PAGE = 20
ORG_FORM_FIELDS = ("name", "kind", "prefecture_code", "municipality_code", "name_en", "liaison_office",
                   "liaison_url", "liaison_email", "liaison_phone")
OPTIONAL = ("municipality_code", "name_en", "liaison_office", "liaison_url", "liaison_email", "liaison_phone")


def require_admin(account: Account) -> None:
    require(account, Role.admin, message=admin_labels.ADMIN_ONLY)


def _filters(request: Request) -> tuple[dict[str, str], OrgKind | None, dict[str, str]]:
    typed = {"kind": request.query_params.get("kind", ""), "name": request.query_params.get("name", "").strip()}
    try:
        kind = OrgKind(typed["kind"]) if typed["kind"] else None
    except ValueError:  # an address the page did not make: narrow nothing by kind, and say so
        return typed, None, {"kind": "種類は一覧から選んでください。"}
    return typed, kind, {}


def _listing(session: Session, kind: OrgKind | None, name: str, number: int) -> tuple[list[Organisation], int]:
    query = select(Organisation)
    if kind is not None:
        query = query.where(col(Organisation.kind) == kind)
    if name:  # a part of the name; LIKE's own wildcards typed by the admin are matched as themselves
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(col(Organisation.name).like(f"%{escaped}%", escape="\\"))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Organisation.id).desc()).offset((number - 1) * PER_PAGE)
                        .limit(PER_PAGE)).all()
    return list(rows), total


def _campus_names(orgs: list[Organisation]) -> dict[int | None, str]:
    """The name of each listed organisation's campus municipality, where it has one."""
    table = default_places().municipalities
    return {o.id: table.get(o.municipality_code).name for o in orgs if o.municipality_code}


def _page(request: Request, session: Session, *, values: Values, errors: dict[str, str],
          created: Organisation | None = None, status: int = 200) -> HTMLResponse:
    typed, kind, filter_errors = _filters(request)
    number, page_errors = page_of(request)
    orgs, total = _listing(session, kind, typed["name"], number)
    pages = max(ceil(total / PER_PAGE), 1)
    context: dict[str, Any] = {
        "orgs": orgs, "total": total, "page": number, "pages": pages, "typed": typed,
        "query": {k: v for k, v in typed.items() if v}, "filter_errors": {**filter_errors, **page_errors},
        "values": values, "errors": errors, "created": created, "labels": admin_labels.ORG_FIELDS,
        "kinds": admin_labels.ORG_KINDS, "creatable": admin_labels.CREATABLE_KINDS,
        "prefectures": default_prefectures(), "prefecture_groups": prefecture_groups(),
        "municipalities": municipalities_of(values.get("prefecture_code")), "campus": _campus_names(orgs)}
    return render(request, "admin_organisations.html", context, status=status)


@router.get("/admin/organisations")
def organisations_page(request: Request, session: SessionDep, account: SignedIn,
                       created: Annotated[int, Query(ge=0, le=ID_MAX)] = 0) -> HTMLResponse:
    require_admin(account)
    return _page(request, session, values={"kind": "university"}, errors={},
                 created=session.get(Organisation, created) if created else None)


@router.post("/admin/organisations", dependencies=[PAGE_WRITES])
def organisation_create(request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                        form: Form) -> Response:
    check_csrf(request, form)
    require_admin(account)
    values: Values = {name: text(form, name).strip() for name in ORG_FORM_FIELDS}
    errors: dict[str, str] = {}
    if values["kind"] not in admin_labels.CREATABLE_KINDS:
        errors["kind"] = "種類は 自治体・企業・大学 から選んでください。"
    try:
        body = OrganisationCreate.model_validate(without_empty(values, *OPTIONAL))
    except ValidationError as exc:
        errors = {**form_errors(exc), **errors}
    if errors:
        return _page(request, session, values=values, errors=errors, status=422)
    org = usecases.create_organisation(session, service, body)
    return redirect(request, f"/admin/organisations?created={org.id}")
