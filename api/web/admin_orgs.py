"""Admins: the organisations (filtered by kind and name, 20 a page), the form that adds a municipality, company
or university with its liaison office and campus location, and the form that edits one (issue 15).

The new organisation is validated by the API's own `OrganisationCreate` and written by
`usecases.create_organisation`, as `POST /api/v1/organisations` is, so the campus municipality is checked against
the prefecture as a need's is. An edit is validated and written by api/organisation_edit.py, as
`PATCH /api/v1/admin/organisations/{id}` is: the same checks as a creation, over the organisation as edited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from matcher.places import default_places
from matcher.regions import default_prefectures

from .. import organisation_edit, usecases
from ..deps import ServiceDep, SessionDep
from ..errors import ApiError
from ..limits import ID_MAX
from ..models import Account, Organisation, OrganisationCreate, OrgKind, Role
from ..params import PathId
from . import admin_labels
from .admin_lists import listing, name_part
from .deps import PAGE_WRITES, SignedIn, require
from .forms import Form, Values, check_csrf, form_errors, text, without_empty
from .needs import municipalities_of, prefecture_groups
from .render import redirect, render
from .routing import page_router

router = page_router()

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


def _listing(request: Request, session: Session) -> dict[str, Any]:
    """The organisations as the address narrows them (a kind, a part of the name), one page of them, newest first."""
    typed, kind, errors = _filters(request)
    query = select(Organisation)
    if kind is not None:
        query = query.where(col(Organisation.kind) == kind)
    if typed["name"]:
        query = query.where(name_part(col(Organisation.name), typed["name"]))
    listed = listing(request, session, query, col(Organisation.id).desc(), typed, errors)
    return {**listed, "orgs": listed["rows"], "campus": _campus_names(listed["rows"])}


def _campus_names(orgs: list[Organisation]) -> dict[int | None, str]:
    """The name of each listed organisation's campus municipality, where it has one."""
    table = default_places().municipalities
    return {o.id: table.get(o.municipality_code).name for o in orgs if o.municipality_code}


def _page(request: Request, session: Session, *, values: Values, errors: dict[str, str],
          created: Organisation | None = None, updated: Organisation | None = None,
          status: int = 200) -> HTMLResponse:
    context: dict[str, Any] = {
        **_listing(request, session), "values": values, "errors": errors, "created": created, "updated": updated,
        "labels": admin_labels.ORG_FIELDS, "kinds": admin_labels.ORG_KINDS,
        "creatable": admin_labels.CREATABLE_KINDS, "prefectures": default_prefectures(),
        "prefecture_groups": prefecture_groups(), "municipalities": municipalities_of(values.get("prefecture_code"))}
    return render(request, "admin_organisations.html", context, status=status)


@router.get("/admin/organisations")
def organisations_page(request: Request, session: SessionDep, account: SignedIn,
                       created: Annotated[int, Query(ge=0, le=ID_MAX)] = 0,
                       updated: Annotated[int, Query(ge=0, le=ID_MAX)] = 0) -> HTMLResponse:
    require_admin(account)
    return _page(request, session, values={"kind": "university"}, errors={},
                 created=session.get(Organisation, created) if created else None,
                 updated=session.get(Organisation, updated) if updated else None)


@router.post("/admin/organisations", dependencies=[PAGE_WRITES])
def organisation_create(request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                        form: Form) -> Response:
    check_csrf(request, form)
    require_admin(account)
    values = _form_values(form)
    errors: dict[str, str] = {}
    if values["kind"] not in admin_labels.CREATABLE_KINDS:
        errors["kind"] = admin_labels.KIND_CHOICE
    try:
        body = OrganisationCreate.model_validate(without_empty(values, *OPTIONAL))
    except ValidationError as exc:
        errors = {**form_errors(exc), **errors}
    if errors:
        return _page(request, session, values=values, errors=errors, status=422)
    org = usecases.create_organisation(session, service, body)
    return redirect(request, f"/admin/organisations?created={org.id}")


def _form_values(form: FormData) -> Values:
    return {name: text(form, name).strip() for name in ORG_FORM_FIELDS}


# ---- editing -----------------------------------------------------------------------------------------
def _stored_values(org: Organisation) -> Values:
    """The edit form's first values: the stored ones, the campus by its name (as an admin types it)."""
    values: Values = {name: str(getattr(org, name) or "") for name in ORG_FORM_FIELDS}
    values["kind"] = org.kind.value
    if org.municipality_code:
        values["municipality_code"] = default_places().municipalities.get(org.municipality_code).name
    return values


def _edit_page(request: Request, org: Organisation, *, values: Values, errors: dict[str, str],
               status: int = 200) -> HTMLResponse:
    kinds = [*admin_labels.CREATABLE_KINDS, *([org.kind] if org.kind not in admin_labels.CREATABLE_KINDS else [])]
    context: dict[str, Any] = {
        "org": org, "values": values, "errors": errors, "labels": admin_labels.ORG_FIELDS,
        "kinds": admin_labels.ORG_KINDS, "creatable": kinds, "prefecture_groups": prefecture_groups(),
        "municipalities": municipalities_of(values.get("prefecture_code"))}
    return render(request, "admin_organisation_edit.html", context, status=status)


@router.get("/admin/organisations/{organisation_id}/edit")
def organisation_edit_page(request: Request, organisation_id: PathId, session: SessionDep,
                           account: SignedIn) -> HTMLResponse:
    require_admin(account)
    org = organisation_edit.find(session, organisation_id)
    return _edit_page(request, org, values=_stored_values(org), errors={})


@router.post("/admin/organisations/{organisation_id}/edit", dependencies=[PAGE_WRITES])
def organisation_update(request: Request, organisation_id: PathId, session: SessionDep, service: ServiceDep,
                        account: SignedIn, form: Form) -> Response:
    check_csrf(request, form)
    require_admin(account)
    org = organisation_edit.find(session, organisation_id)
    values = _form_values(form)
    errors: dict[str, str] = {}
    if values["kind"] not in admin_labels.CREATABLE_KINDS and values["kind"] != org.kind.value:
        errors["kind"] = admin_labels.KIND_CHOICE
    changes = {name: (value or None) if name in OPTIONAL else value for name, value in values.items()}
    try:
        body = organisation_edit.merged(org, changes)
    except ValidationError as exc:
        errors = {**form_errors(exc), **errors}
    if errors:
        return _edit_page(request, org, values=values, errors=errors, status=422)
    try:
        organisation_edit.update_organisation(session, service, account, org, body)
    except ApiError as exc:  # a university with researchers stays one
        session.rollback()
        return _edit_page(request, org, values=values, errors={"kind": exc.message}, status=422)
    return redirect(request, f"/admin/organisations?updated={organisation_id}")
