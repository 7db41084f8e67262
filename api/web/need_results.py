"""A need's partners: the results page, its list alone for htmx (filters and paging), and the export as CSV / XLSX.

The filters are the API's `MatchOptions` (api/schemas.py): the page, the fragment and the export build them the
same way from the same query string (`page_filters` → `match_options`), so a file holds the partners the page
shows, in its order, for the same filters; the page shows them 10 at a time, the file all of them.
"""

from __future__ import annotations

from math import ceil
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from matcher.market_areas import market_area_choices, market_area_names
from matcher.rank import DEFAULT_SORT, SORTS
from matcher.regions import REGION_ORDER, default_prefectures

from .. import access, queries
from ..deps import ServiceDep, SessionDep
from ..errors import ApiError, validation_details
from ..limits import TOP_K_MAX
from ..models import Account, Need, Organisation
from ..need_export import EXPORT_FORMATS, export_response
from ..params import PathId
from ..schemas import MatchOptions
from ..service import MatchService
from . import explanations, labels
from .deps import PAGE_MATCHES, SignedIn
from .needs import prefecture_groups
from .render import render
from .routing import page_router

router = page_router()

PER_PAGE = 10
COUNTS = (10, 20, 30, 40, TOP_K_MAX)  # how many partners to find: up to the API's top_k
FILTER_NAMES = ("scope", "level", "prefecture", "region", "market_area", "sort", "count")


def page_filters(request: Request) -> dict[str, str]:
    """The page's filters as given; an absent one stays "" (its default), out of the page's address."""
    given = {name: request.query_params.get(name, "") for name in (*FILTER_NAMES, "page")}
    given["scope"] = given["scope"] or "all"
    given["level"] = given["level"] or "university"
    return given


def match_options(filters: dict[str, str]) -> MatchOptions:
    """The filters as the API's options (a ValidationError for a value the API would refuse)."""
    return MatchOptions.model_validate({
        "scope": filters["scope"], "level": filters["level"], "sort": filters["sort"] or DEFAULT_SORT,
        "top_k": filters["count"] or PER_PAGE,
        "include_prefectures": [filters["prefecture"]] if filters["prefecture"] else [],
        "include_regions": [filters["region"]] if filters["region"] else [],
        "market_areas": [filters["market_area"]] if filters["market_area"] else []})


def page_number(typed: str, pages: int) -> int | None:
    """The page asked for (1 when none), or None when it is not a page of this list."""
    if not typed:
        return 1
    if not (typed.isascii() and typed.isdigit()) or not 1 <= int(typed) <= max(pages, 1):
        return None
    return int(typed)


def refusal(exc: ValidationError) -> str:
    """Which filters the options refused, by the names the page gives them."""
    fields = {d.field.split(".")[0] for d in validation_details(exc.errors())}
    return labels.FILTER_REFUSED.format(fields="・".join(sorted(labels.RESULT_FILTER_LABELS.get(f, f) for f in fields)))


def results_context(session: Session, service: MatchService, account: Account, need: Need,
                    filters: dict[str, str]) -> dict[str, Any]:
    """The match under the page's filters and the page of it shown, or the reason the filters were refused."""
    query = {k: v for k, v in filters.items() if v and k != "page"}  # the filters of every link the page makes
    ctx: dict[str, Any] = {"need": need, "filters": filters, "query": query}
    try:
        options = match_options(filters)
    except ValidationError as exc:
        return {**ctx, "match": None, "filter_error": refusal(exc)}
    match = queries.match_need(session, service, account, need, options)
    pages = ceil(len(match.partners) / PER_PAGE)
    page = page_number(filters["page"], pages)
    if page is None:
        return {**ctx, "match": None, "filter_error": labels.PAGE_REFUSED.format(pages=max(pages, 1))}
    start = (page - 1) * PER_PAGE
    return {**ctx, "match": match, "filter_error": None, "shown": match.partners[start:start + PER_PAGE],
            "first_rank": start + 1, "page": page, "pages": pages,
            "gain": explanations.gain_sentence(match),
            "seeds_note": explanations.seed_floor_note(service.engine.settings.seed_floor)}


def results_page_context(session: Session, account: Account, need: Need) -> dict[str, Any]:
    org = session.get(Organisation, need.organisation_id) if need.organisation_id else None
    return {"poster": org.name if org else None, "prefecture": default_prefectures().get(need.prefecture_code),
            "may_edit": access.may_change_need(account, need), "scopes": labels.SCOPES, "levels": labels.LEVELS,
            "sorts": SORTS, "sort_help": explanations.SORT_HELP, "counts": COUNTS,
            "prefecture_names": {p.code: p.name for p in default_prefectures()},
            "regions": REGION_ORDER, "prefecture_groups": prefecture_groups(), "market_areas": market_area_choices(),
            "market_names": market_area_names(), "visibilities": labels.NEED_VISIBILITY,
            "status_names": labels.STATUS_NAMES, "export_formats": labels.EXPORT_FORMATS}


def address(need_id: int, query: dict[str, str], **more: object) -> str:
    """The page's address for `query` (and e.g. a page number): what the browser shows and links point to."""
    params = urlencode({**query, **{k: v for k, v in more.items() if v not in (None, "", 1)}})
    return f"/needs/{need_id}" + (f"?{params}" if params else "")


@router.get("/needs/{need_id}", dependencies=[PAGE_MATCHES])
def need_results(need_id: PathId, request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                 created: str = "", saved: str = "") -> HTMLResponse:
    need = access.readable_need(session, account, need_id)
    ctx = results_context(session, service, account, need, page_filters(request))
    ctx.update(results_page_context(session, account, need), created=bool(created), saved=saved)
    return render(request, "need_results.html", ctx, status=200 if ctx["match"] else 422)


@router.get("/needs/{need_id}/results", dependencies=[PAGE_MATCHES])
def need_results_fragment(need_id: PathId, request: Request, session: SessionDep, service: ServiceDep,
                          account: SignedIn) -> HTMLResponse:
    """The result list alone, for htmx; the browser's address follows the filters and the page."""
    need = access.readable_need(session, account, need_id)
    ctx = results_context(session, service, account, need, page_filters(request))
    ctx.update(results_page_context(session, account, need))
    pushed = address(need_id, ctx["query"], page=ctx.get("page"))
    return render(request, "_results.html", ctx, headers={"HX-Push-Url": pushed, "Vary": "HX-Request"})


@router.get("/needs/{need_id}/export", dependencies=[PAGE_MATCHES])
def need_results_export(need_id: PathId, request: Request, session: SessionDep, service: ServiceDep,
                        account: SignedIn, format: str = "csv") -> Response:
    """The partners of the page's filters, all pages, as CSV or XLSX (api/need_export.py)."""
    need = access.readable_need(session, account, need_id)
    if format not in EXPORT_FORMATS:
        raise ApiError(422, "validation_error", labels.EXPORT_FORMAT_REFUSED)
    filters = page_filters(request)
    try:
        options = match_options(filters)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", refusal(exc)) from exc
    match = queries.match_need(session, service, account, need, options)
    return export_response(need, options, match, "csv" if format == "csv" else "xlsx")
