"""Posters (and everyone signed in): the list of needs, posting one, and a need's partners with filters (htmx)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from matcher.market_areas import market_area_choices, market_area_names
from matcher.places import Municipality, default_places
from matcher.rank import DEFAULT_SORT, SORTS
from matcher.regions import REGION_ORDER, Prefecture, default_prefectures

from .. import access, queries, usecases
from ..deps import ServiceDep, SessionDep
from ..errors import validation_details
from ..models import Account, Collaboration, Need, NeedCreate, Organisation, Role
from ..params import PathId
from ..schemas import MatchOptions
from ..service import MatchService
from . import explanations, labels
from .deps import PAGE_MATCHES, PAGE_WRITES, SignedIn, require
from .forms import Form, check_csrf, form_errors, need_values, without_empty
from .render import redirect, render
from .routing import page_router

router = page_router()

POSTERS = (Role.poster, Role.admin)


def prefecture_groups() -> list[tuple[str, list[Prefecture]]]:
    prefectures = list(default_prefectures())
    return [(region, [p for p in prefectures if p.region == region]) for region in REGION_ORDER]


def need_form_context(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {"values": values, "errors": errors, "prefecture_groups": prefecture_groups(),
            "municipalities": municipalities_of(values.get("prefecture_code")),
            "market_areas": market_area_choices(), "collaborations": list(Collaboration),
            "visibilities": labels.NEED_VISIBILITY, "labels": labels.FIELD_LABELS}


@router.get("/needs")
def needs_list(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    page = queries.list_needs(session, account, limit=200, offset=0, mine=False)
    return render(request, "needs_list.html", {"needs": page.items, "total": page.total,
                                               "prefectures": default_prefectures(),
                                               "may_post": account.role in POSTERS})


@router.get("/needs/new")
def need_new(request: Request, account: SignedIn) -> HTMLResponse:
    require(account, *POSTERS, message=labels.POSTER_ONLY)
    return render(request, "need_form.html", need_form_context({"visibility": "public", "market_areas": []}, {}))


def municipalities_of(prefecture_code: object) -> list[Municipality]:
    """The municipalities the form offers for a prefecture (none before one is chosen)."""
    code = str(prefecture_code or "")
    return default_places().municipalities.in_prefecture(code) if code else []


@router.get("/needs/municipalities")  # before /needs/{need_id}
def municipality_options(request: Request, account: SignedIn, prefecture_code: str = "") -> HTMLResponse:
    """The form's choices of municipality, refreshed (htmx) when the prefecture changes."""
    return render(request, "_municipality_options.html", {"municipalities": municipalities_of(prefecture_code)})


@router.post("/needs/new", dependencies=[PAGE_WRITES])  # the match runs on the results page
def need_create(request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                form: Form) -> Response:
    check_csrf(request, form)
    require(account, *POSTERS, message=labels.POSTER_ONLY)
    values = need_values(form)
    try:
        body = NeedCreate.model_validate(without_empty(values, "collaboration", "visibility", "municipality_code"))
    except ValidationError as exc:
        errors = form_errors(exc)
        if not values["prefecture_code"]:
            errors["prefecture_code"] = labels.PREFECTURE_MISSING
        return render(request, "need_form.html", need_form_context(values, errors), status=422)
    created = usecases.create_need(session, service, account, body)
    return redirect(request, f"/needs/{created.id}?created=1")


# ---- a need's partners ----------------------------------------------------------------------------
def results_context(session: Session, service: MatchService, account: Account, need: Need,
                    filters: dict[str, str]) -> dict[str, Any]:
    """The match under the page's filters, or the reason the filters were refused."""
    try:
        options = MatchOptions(scope=filters["scope"], level=filters["level"],
                               include_regions=[filters["region"]] if filters["region"] else [],
                               market_areas=[filters["market_area"]] if filters["market_area"] else [],
                               sort=filters["sort"] or DEFAULT_SORT)
    except ValidationError as exc:
        fields = {d.field.split(".")[0] for d in validation_details(exc.errors())}
        return {"need": need, "match": None, "filters": filters,
                "filter_error": labels.FILTER_REFUSED.format(fields="・".join(sorted(fields)))}
    match = queries.match_need(session, service, account, need, options)
    return {"need": need, "match": match, "filters": filters, "filter_error": None,
            "gain": explanations.gain_sentence(match),
            "seeds_note": explanations.seed_floor_note(service.engine.settings.seed_floor)}


def page_filters(scope: str, level: str, region: str, market_area: str, sort: str = "") -> dict[str, str]:
    """The page's filters as given; an absent sort stays "" (the default, 総合), out of the page's address."""
    return {"scope": scope or "all", "level": level or "university", "region": region, "market_area": market_area,
            "sort": sort}


def results_page_context(session: Session, account: Account, need: Need) -> dict[str, Any]:
    org = session.get(Organisation, need.organisation_id) if need.organisation_id else None
    return {"poster": org.name if org else None, "prefecture": default_prefectures().get(need.prefecture_code),
            "may_edit": access.may_change_need(account, need), "scopes": labels.SCOPES, "levels": labels.LEVELS,
            "sorts": SORTS, "sort_help": explanations.SORT_HELP,
            "regions": REGION_ORDER, "market_areas": market_area_choices(), "market_names": market_area_names(),
            "visibilities": labels.NEED_VISIBILITY, "status_names": labels.STATUS_NAMES}


@router.get("/needs/{need_id}", dependencies=[PAGE_MATCHES])
def need_results(need_id: PathId, request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                 scope: str = "", level: str = "", region: str = "", market_area: str = "", sort: str = "",
                 created: str = "") -> HTMLResponse:
    need = access.readable_need(session, account, need_id)
    ctx = results_context(session, service, account, need, page_filters(scope, level, region, market_area, sort))
    ctx.update(results_page_context(session, account, need), created=bool(created))
    return render(request, "need_results.html", ctx, status=200 if ctx["match"] else 422)


@router.get("/needs/{need_id}/results", dependencies=[PAGE_MATCHES])
def need_results_fragment(need_id: PathId, request: Request, session: SessionDep, service: ServiceDep,
                          account: SignedIn, scope: str = "", level: str = "", region: str = "",
                          market_area: str = "", sort: str = "") -> HTMLResponse:
    """The result list alone, for htmx; the browser's address follows the filters."""
    need = access.readable_need(session, account, need_id)
    ctx = results_context(session, service, account, need, page_filters(scope, level, region, market_area, sort))
    ctx.update(results_page_context(session, account, need))
    query = urlencode({k: v for k, v in ctx["filters"].items() if v})
    headers = {"HX-Push-Url": f"/needs/{need_id}" + (f"?{query}" if query else ""), "Vary": "HX-Request"}
    return render(request, "_results.html", ctx, headers=headers)
