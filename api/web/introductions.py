"""Introduction requests on the pages (issue 15): asking from a partner of a need's results, the list of requests
(mine, to answer, my region's), one request with its status and, once accepted, the contact details; answering;
a researcher's choice to receive requests itself. The rules are api/introductions.py, as for the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from .. import access, introductions, usecases
from ..deps import ServiceDep, SessionDep
from ..errors import ApiError, forbidden, not_found
from ..introduction_models import IntroductionAnswer, IntroductionCreate
from ..limits import ID_MAX
from ..models import Account, Organisation, Researcher, ResearcherUpdate, Role, Seed
from ..params import PathId
from . import labels
from .deps import PAGE_WRITES, SignedIn
from .forms import Form, check_csrf, form_errors, text
from .render import redirect, render
from .routing import page_router

router = page_router()
NO_PARTNER = ("紹介を依頼する連携先の候補が分かりません。"
              "ニーズの結果の画面から、候補の「紹介を依頼する」でやり直してください。")


def _listed_seed(session: Session, seed_id: int) -> Seed:
    seed = session.get(Seed, seed_id)
    if seed is None or not access.seed_is_listed(seed):
        raise not_found("シーズ", seed_id)
    return seed


def _form_context(session: Session, account: Account, need_id: int, seed_id: int, level: str,
                  values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    seed = _listed_seed(session, seed_id)  # first: a draft or withdrawn seed is missing to everyone
    need = access.readable_need(session, account, need_id)
    if account.role not in introductions.REQUESTERS or not access.may_change_need(account, need):
        raise forbidden(introductions.ONLY_THE_POSTER)
    researcher = session.get(Researcher, seed.researcher_id)
    return {"need": need, "seed": seed, "level": level if level in labels.PARTNER_LEVELS else "university",
            "university": session.get_one(Organisation, seed.organisation_id), "researcher": researcher,
            "values": values, "errors": errors,
            "reaches_anyone": bool(introductions.reached(session, seed.organisation_id, seed.researcher_id))}


@router.get("/needs/{need_id}/introductions/new")
def introduction_new(need_id: PathId, request: Request, session: SessionDep, account: SignedIn,
                     seed_id: Annotated[int, Query(ge=1, le=ID_MAX)], level: str = "university") -> HTMLResponse:
    ctx = _form_context(session, account, need_id, seed_id, level, {"message": ""}, {})
    return render(request, "introduction_form.html", ctx)


@router.post("/needs/{need_id}/introductions/new", dependencies=[PAGE_WRITES])
def introduction_create(need_id: PathId, request: Request, session: SessionDep, account: SignedIn,
                        form: Form) -> Response:
    check_csrf(request, form)
    values = {"message": text(form, "message"), "seed_id": text(form, "seed_id"), "level": text(form, "level")}
    try:
        body = IntroductionCreate.model_validate({"need_id": need_id, "seed_id": values["seed_id"],
                                                  "level": values["level"] or "university",
                                                  "message": values["message"]})
    except ValidationError as exc:
        typed = values["seed_id"]
        seed_id = int(typed) if typed.isascii() and typed.isdigit() else 0
        if not 0 < seed_id <= ID_MAX:  # the form came from no partner card: nothing to show again
            raise ApiError(422, "validation_error", NO_PARTNER) from exc
        ctx = _form_context(session, account, need_id, seed_id, values["level"], values, form_errors(exc))
        return render(request, "introduction_form.html", ctx, status=422)
    created = introductions.create(session, account, body)
    return redirect(request, f"/introductions/{created.id}?sent=1")


@router.get("/introductions")
def introduction_list(request: Request, session: SessionDep, account: SignedIn, saved: str = "") -> HTMLResponse:
    rows = introductions.listed(session, account)
    region = introductions.coordinator_region(session, account) if account.role == Role.coordinator else None
    return render(request, "introductions.html", {
        "mine": [r for r in rows if r.is_mine], "others": [r for r in rows if not r.is_mine],
        "researcher": access.researcher_of(session, account), "region": region, "saved": bool(saved),
        "status_names": labels.INTRODUCTION_STATUS})


@router.get("/introductions/{request_id}")
def introduction_detail(request_id: PathId, request: Request, session: SessionDep, account: SignedIn,
                        sent: str = "", answered: str = "") -> HTMLResponse:
    row = introductions.readable_request(session, account, request_id)
    return render(request, "introduction.html", {
        "item": introductions.out(session, account, row), "mine": row.requester_account_id == account.id,
        "values": {"reason": ""}, "errors": {}, "sent": bool(sent), "answered": bool(answered),
        "status_names": labels.INTRODUCTION_STATUS})


@router.post("/introductions/{request_id}/answer", dependencies=[PAGE_WRITES])
def introduction_answer(request_id: PathId, request: Request, session: SessionDep, account: SignedIn,
                        form: Form) -> Response:
    check_csrf(request, form)
    row = introductions.readable_request(session, account, request_id)
    values = {"reason": text(form, "reason"), "decision": text(form, "decision")}
    try:
        body = IntroductionAnswer.model_validate({"accept": values["decision"] == "accept",
                                                  "reason": values["reason"]})
    except ValidationError as exc:
        if not introductions.may_answer(session, account, row):
            raise forbidden(introductions.NOT_AN_ANSWERER) from exc
        return render(request, "introduction.html", {
            "item": introductions.out(session, account, row), "mine": row.requester_account_id == account.id,
            "values": values, "errors": form_errors(exc), "sent": False, "answered": False,
            "status_names": labels.INTRODUCTION_STATUS}, status=422)
    introductions.answer(session, account, request_id, body)
    return redirect(request, f"/introductions/{request_id}?answered=1")


@router.post("/introductions/settings", dependencies=[PAGE_WRITES])
def introduction_settings(request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                          form: Form) -> Response:
    """A researcher's choice to receive introduction requests itself (beside its liaison office)."""
    check_csrf(request, form)
    me = access.researcher_of(session, account)
    if me is None:
        raise forbidden(labels.RECEIVING_RESEARCHERS_ONLY)
    body = ResearcherUpdate(receives_introductions=text(form, "receives_introductions") == "yes")
    usecases.update_researcher(session, service, account, me.id or 0, body)
    return redirect(request, "/introductions?saved=1")

