"""Researchers: their seeds, registering, editing, withdrawing and re-activating one, and the needs a seed fits."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from matcher.market_areas import market_area_choices, market_area_names
from matcher.regions import default_prefectures

from .. import access, queries, usecases
from ..deps import ServiceDep, SessionDep
from ..models import Readiness, Role, Seed, SeedCreate, SeedUpdate, Status
from ..params import PathId
from ..present import seed_public
from . import labels
from .deps import PAGE_MATCHES, PAGE_WRITES, SignedIn, require
from .forms import Form, Values, check_csrf, form_errors, seed_data, seed_values
from .render import redirect, render
from .routing import page_router

router = page_router()

def seed_form_context(values: Values, errors: dict[str, str], seed: Seed | None = None) -> dict[str, Any]:
    return {"values": values, "errors": errors, "seed": seed, "market_areas": market_area_choices(),
            "readiness": list(Readiness), "visibilities": labels.SEED_VISIBILITY, "labels": labels.FIELD_LABELS}


def stored_values(seed: Seed) -> Values:
    """A stored seed as its edit form shows it."""
    return {"title": seed.title, "summary": seed.summary, "keywords": "、".join(seed.keywords),
            "market_areas": list(seed.market_areas), "readiness": seed.readiness.value if seed.readiness else "",
            "visibility": seed.visibility.value}


@router.get("/my/seeds")
def my_seeds(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    require(account, Role.researcher, message=labels.RESEARCHER_ONLY)
    page = queries.list_seeds(session, account, limit=200, offset=0, mine=True)
    return render(request, "my_seeds.html", {"seeds": page.items, "researcher": access.researcher_of(session, account),
                                             "status_names": labels.STATUS_NAMES,
                                             "visibilities": labels.SEED_VISIBILITY})


@router.get("/seeds/new")
def seed_new(request: Request, account: SignedIn) -> HTMLResponse:
    require(account, Role.researcher, message=labels.RESEARCHER_ONLY)
    return render(request, "seed_form.html", seed_form_context({"visibility": "public", "market_areas": []}, {}))


@router.post("/seeds/new", dependencies=[PAGE_WRITES])
def seed_create(request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                form: Form) -> Response:
    check_csrf(request, form)
    require(account, Role.researcher, message=labels.RESEARCHER_ONLY)
    values = seed_values(form)
    try:
        body = SeedCreate.model_validate(seed_data(values))
    except ValidationError as exc:
        return render(request, "seed_form.html", seed_form_context(values, form_errors(exc)), status=422)
    created = usecases.create_seed(session, service, account, body)
    return redirect(request, f"/seeds/{created.id}?saved=1")


@router.get("/seeds/{seed_id}", dependencies=[PAGE_MATCHES])  # it shows the needs the seed fits
def seed_detail(seed_id: PathId, request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                saved: str = "") -> HTMLResponse:
    seed = access.readable_seed(session, account, seed_id)
    hits = None
    if access.may_see_needs_for_seed(session, account, seed):
        hits = queries.needs_for_seed(session, service, account, seed, top_k=10)
    may_change = access.may_change_seed(session, account, seed)
    return render(request, "seed_detail.html", {
        "seed": seed_public(session, seed), "may_edit": may_change and seed.status == Status.active,
        "may_reactivate": may_change and seed.status == Status.withdrawn, "hits": hits, "saved": saved,
        "prefectures": default_prefectures(), "status_names": labels.STATUS_NAMES,
        "visibilities": labels.SEED_VISIBILITY, "market_names": market_area_names()})


@router.get("/seeds/{seed_id}/edit")
def seed_edit(seed_id: PathId, request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    seed = access.writable_seed(session, account, seed_id)
    return render(request, "seed_form.html", seed_form_context(stored_values(seed), {}, seed))


@router.post("/seeds/{seed_id}/edit", dependencies=[PAGE_WRITES])
def seed_update(seed_id: PathId, request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                form: Form) -> Response:
    check_csrf(request, form)
    seed = access.writable_seed(session, account, seed_id)
    values = seed_values(form)
    data = seed_data(values)
    data.setdefault("readiness", None)  # an emptied choice clears the stage
    try:
        body = SeedUpdate.model_validate(data)
    except ValidationError as exc:
        return render(request, "seed_form.html", seed_form_context(values, form_errors(exc), seed), status=422)
    usecases.update_seed(session, service, account, seed_id, body)
    return redirect(request, f"/seeds/{seed_id}?saved=1")


@router.post("/seeds/{seed_id}/withdraw", dependencies=[PAGE_WRITES])
def seed_withdraw(seed_id: PathId, request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                  form: Form) -> RedirectResponse:
    check_csrf(request, form)
    usecases.withdraw_seed(session, service, account, seed_id)
    return redirect(request, f"/seeds/{seed_id}?saved=withdrawn")


@router.post("/seeds/{seed_id}/reactivate", dependencies=[PAGE_WRITES])
def seed_reactivate(seed_id: PathId, request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                    form: Form) -> RedirectResponse:
    check_csrf(request, form)
    usecases.reactivate_seed(session, service, account, seed_id)
    return redirect(request, f"/seeds/{seed_id}?saved=reactivated")
