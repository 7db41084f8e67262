"""Feedback on a match on the pages (issue 15): 役に立った／役に立たなかった on a partner of a need's results (a plain
form post, or htmx swapping the card's form for what was recorded), and the coordinators' page of outcomes per
partner (introductions and feedback) and of the feedback given. The rules are api/feedback.py, as for the API."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from .. import feedback, introductions
from ..deps import SessionDep
from ..errors import ApiError, validation_details
from ..introduction_models import FeedbackCreate
from ..models import Role
from ..params import PathId
from . import labels
from .deps import PAGE_WRITES, SignedIn, require
from .forms import Form, check_csrf, text
from .render import render
from .routing import page_router

router = page_router()


@router.post("/needs/{need_id}/feedback", dependencies=[PAGE_WRITES])
def feedback_give(need_id: PathId, request: Request, session: SessionDep, account: SignedIn, form: Form) -> Response:
    check_csrf(request, form)
    useful = text(form, "useful")
    try:
        body = FeedbackCreate.model_validate({
            "need_id": need_id, "level": text(form, "level") or "university", "key": text(form, "key"),
            "name": text(form, "name"), "useful": {"yes": True, "no": False}.get(useful, useful),
            "reason": text(form, "reason") or None})
    except ValidationError as exc:
        raise ApiError(422, "validation_error", "評価の内容を確認してください。",
                       validation_details(exc.errors())) from exc
    row = feedback.give(session, account, body)
    ctx = {"row": row, "feedback_labels": labels.FEEDBACK_LABELS}
    # htmx swaps the card's form for the line; without JavaScript, a page with the same line and the way back
    return render(request, "_feedback_done.html" if request.headers.get("HX-Request") else "feedback_done.html", ctx)


@router.get("/coordinator/outcomes")
def coordinator_outcomes(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    require(account, Role.coordinator, Role.admin, message=labels.COORDINATOR_ONLY)
    region = feedback.reader_region(session, account)
    return render(request, "coordinator_outcomes.html", {
        "region": region, "outcomes": feedback.outcomes(session, region),
        "feedback": feedback.listed(session, account), "requests": introductions.listed(session, account),
        "ignored_days": introductions.IGNORED_AFTER.days, "feedback_labels": labels.FEEDBACK_LABELS,
        "status_names": labels.INTRODUCTION_STATUS, "levels": labels.PARTNER_LEVELS})
