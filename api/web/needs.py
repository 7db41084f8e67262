"""Posters (and everyone signed in): the list of needs with search and paging, posting a need, and the poster's own
needs: editing, withdrawing and re-opening one. A need's partners are on its results page (`need_results`)."""

from __future__ import annotations

from math import ceil
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from matcher.market_areas import market_area_choices, market_area_names
from matcher.places import Municipality, default_places
from matcher.regions import REGION_ORDER, Prefecture, default_prefectures

from .. import access, queries, usecases
from ..deps import ServiceDep, SessionDep
from ..errors import ApiError
from ..models import Collaboration, Need, NeedCreate, NeedUpdate, Role
from ..need_search import POSTER_KINDS, NeedSearch
from ..params import PathId
from . import labels
from .deps import PAGE_WRITES, SignedIn, require
from .forms import Form, Values, check_csrf, form_errors, need_values, search_of, without_empty
from .render import redirect, render
from .routing import page_router

router = page_router()

POSTERS = (Role.poster, Role.admin)


def prefecture_groups() -> list[tuple[str, list[Prefecture]]]:
    prefectures = list(default_prefectures())
    return [(region, [p for p in prefectures if p.region == region]) for region in REGION_ORDER]


def need_form_context(values: Values, errors: dict[str, str], need: Need | None = None) -> dict[str, Any]:
    """The form of a new need, or (with `need`) the edit form of a stored one."""
    return {"values": values, "errors": errors, "need": need, "prefecture_groups": prefecture_groups(),
            "municipalities": municipalities_of(values.get("prefecture_code")),
            "market_areas": market_area_choices(), "collaborations": list(Collaboration),
            "visibilities": labels.NEED_VISIBILITY, "labels": labels.FIELD_LABELS}


# ---- the list: the poster's own needs first, then the search --------------------------------------------
PER_PAGE = 20
SEARCH_FIELDS = tuple(NeedSearch.model_fields)




def page_of(request: Request) -> tuple[int, dict[str, str]]:
    typed = request.query_params.get("page", "")
    if not typed:
        return 1, {}
    if typed.isascii() and typed.isdigit() and 1 <= int(typed) <= 100_000:
        return int(typed), {}
    return 1, {"page": labels.PAGE_NUMBER}


MINE_SHOWN = 5  # the newest of the poster's own needs, above the search; "all of mine" is the search with mine=1


@router.get("/needs")
def needs_list(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    search, errors = search_of(request, NeedSearch)
    narrowed = not errors and not search.is_empty()  # a refused value narrows nothing: the page says so
    number, page_errors = page_of(request)
    errors.update(page_errors)
    only_mine = request.query_params.get("mine") == "1"
    found = queries.list_needs(session, account, limit=PER_PAGE, offset=(number - 1) * PER_PAGE, mine=only_mine,
                               search=search if narrowed else None)
    pages = max(ceil(found.total / PER_PAGE), 1)
    if number > pages:  # past the end: say so, rather than show an empty page of a list that has needs
        errors["page"] = labels.PAGE_REFUSED.format(pages=pages)
    mine = queries.list_needs(session, account, limit=MINE_SHOWN, offset=0, mine=True)
    typed = {name: request.query_params.get(name, "") for name in SEARCH_FIELDS}
    query = {k: v for k, v in typed.items() if v} | ({"mine": "1"} if only_mine else {})
    return render(request, "needs_list.html", {
        "needs": found.items, "total": found.total, "page": number, "pages": pages,
        "mine": mine.items, "mine_total": mine.total, "only_mine": only_mine, "typed": typed, "query": query,
        "narrowed": narrowed, "search_refused": bool(errors) and not narrowed and set(errors) != {"page"},
        "errors": errors, "labels": labels.SEARCH_LABELS,
        "prefectures": default_prefectures(), "prefecture_groups": prefecture_groups(), "regions": REGION_ORDER,
        "market_areas": market_area_choices(), "market_names": market_area_names(), "poster_kinds": POSTER_KINDS,
        "may_post": account.role in POSTERS}, status=422 if errors else 200)


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


# ---- the poster's own need: edit, withdraw, re-open -----------------------------------------------------
def stored_values(need: Need) -> Values:
    """A stored need as its edit form shows it."""
    return {"title": need.title, "description": need.description, "prefecture_code": need.prefecture_code,
            "municipality_code": need.municipality_code or "", "market_areas": list(need.market_areas),
            "collaboration": need.collaboration.value if need.collaboration else "",
            "visibility": need.visibility.value}


@router.get("/needs/{need_id}/edit")
def need_edit(need_id: PathId, request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    need = access.writable_need(session, account, need_id)
    return render(request, "need_form.html", need_form_context(stored_values(need), {}, need))


@router.post("/needs/{need_id}/edit", dependencies=[PAGE_WRITES])
def need_update(need_id: PathId, request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                form: Form) -> Response:
    check_csrf(request, form)
    need = access.writable_need(session, account, need_id)
    values = need_values(form)
    data = without_empty(values, "visibility")
    data["collaboration"] = values["collaboration"] or None  # an emptied choice clears it; "" clears the place
    try:
        body = NeedUpdate.model_validate(data)
    except ValidationError as exc:
        errors = form_errors(exc)
        if not values["prefecture_code"]:
            errors["prefecture_code"] = labels.PREFECTURE_MISSING
        return render(request, "need_form.html", need_form_context(values, errors, need), status=422)
    try:
        usecases.update_need(session, service, account, need_id, body)
    except ApiError as exc:  # checked on the merged need: a municipality outside the (new) prefecture
        if exc.status != 422:
            raise
        errors = {d.field: d.message for d in exc.details} or {"_": exc.message}
        return render(request, "need_form.html", need_form_context(values, errors, need), status=422)
    return redirect(request, f"/needs/{need_id}?saved=1")


@router.post("/needs/{need_id}/withdraw", dependencies=[PAGE_WRITES])
def need_withdraw(need_id: PathId, request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                  form: Form) -> RedirectResponse:
    check_csrf(request, form)
    usecases.withdraw_need(session, service, account, need_id)
    return redirect(request, f"/needs/{need_id}?saved=withdrawn")


@router.post("/needs/{need_id}/reopen", dependencies=[PAGE_WRITES])
def need_reopen(need_id: PathId, request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                form: Form) -> RedirectResponse:
    check_csrf(request, form)
    usecases.reopen_need(session, service, account, need_id)
    return redirect(request, f"/needs/{need_id}?saved=reopened")
