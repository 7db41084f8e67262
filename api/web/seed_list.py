"""Everyone signed in: the seeds (and their researchers) by keyword and filters, 20 a page (issue 15).

The page reads the same `SeedSearch` as `GET /api/v1/seeds` (api/seed_search.py), so both accept and refuse the
same values; a refused value narrows nothing, and the page says so next to the field.
"""

from __future__ import annotations

from math import ceil

from fastapi import Request
from fastapi.responses import HTMLResponse

from matcher.market_areas import market_area_choices, market_area_names
from matcher.regions import REGION_ORDER, default_prefectures

from .. import queries
from ..deps import SessionDep
from ..models import Readiness
from ..seed_search import SeedSearch
from . import labels
from .deps import SignedIn
from .forms import search_of
from .needs import page_of, prefecture_groups
from .render import render
from .routing import page_router

router = page_router()

PER_PAGE = 20
SEARCH_FIELDS = tuple(SeedSearch.model_fields)


@router.get("/seeds")
def seeds_list(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    typed = {name: request.query_params.get(name, "") for name in SEARCH_FIELDS}
    search, errors = search_of(request, SeedSearch)
    number, page_errors = page_of(request)
    errors.update(page_errors)
    narrowed = not set(errors) - {"page"} and not search.is_empty()
    found = queries.list_seeds(session, account, limit=PER_PAGE, offset=(number - 1) * PER_PAGE, mine=False,
                               search=search if narrowed else None)
    pages = max(ceil(found.total / PER_PAGE), 1)
    if number > pages:
        errors["page"] = labels.PAGE_REFUSED.format(pages=pages)
    return render(request, "seeds_list.html", {
        "seeds": found.items, "total": found.total, "page": number, "pages": pages, "typed": typed,
        "query": {k: v for k, v in typed.items() if v}, "narrowed": narrowed, "errors": errors,
        "search_refused": bool(set(errors) - {"page"}), "labels": labels.SEED_SEARCH_LABELS,
        "prefectures": default_prefectures(), "prefecture_groups": prefecture_groups(), "regions": REGION_ORDER,
        "market_areas": market_area_choices(), "market_names": market_area_names(), "readiness": list(Readiness)},
        status=422 if errors else 200)
