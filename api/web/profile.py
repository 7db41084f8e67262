"""Researchers' profiles: a public page per researcher, and the researcher's own page to maintain it (issue 15).

The profile page shows what a reader may see (contact fields by the researcher's choice, api/access.py) with
the researcher's public seeds and links to researchmap and KAKEN. The edit page saves through the API's model
(ResearcherUpdate) and the one write path, then shows the choices back: which contact field is visible to whom.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from .. import access, usecases
from ..deps import ServiceDep, SessionDep
from ..errors import forbidden
from ..models import Researcher, ResearcherUpdate, Seed, stored_id
from ..params import PathId
from ..present import researcher_public, seed_public
from . import labels
from .deps import PAGE_WRITES, SignedIn
from .forms import Form, check_csrf, form_errors, text
from .render import redirect, render
from .routing import page_router

router = page_router()

PROFILE_FIELDS = ("name", "kana", "department", "position", "researchmap_id", "kaken_id", "email", "phone")
VISIBILITY_FIELDS = ("email_visibility", "phone_visibility")


def profile_values(researcher: Researcher) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(researcher, name) or "" for name in PROFILE_FIELDS}
    values.update({name: getattr(researcher, name).value for name in VISIBILITY_FIELDS})
    return values


def form_context(values: dict[str, Any], errors: dict[str, str], researcher: Researcher, saved: str) -> dict[str, Any]:
    return {"values": values, "errors": errors, "researcher": researcher, "saved": saved,
            "visibilities": labels.CONTACT_VISIBILITY, "labels": labels.PROFILE_LABELS}


def _own(session: Session, account: SignedIn) -> Researcher:
    me = access.researcher_of(session, account)
    if me is None:
        raise forbidden(labels.PROFILE_ONLY)
    return me


@router.get("/my/profile")
def my_profile(request: Request, session: SessionDep, account: SignedIn, saved: str = "") -> HTMLResponse:
    me = _own(session, account)
    return render(request, "profile_form.html", form_context(profile_values(me), {}, me, saved))


@router.post("/my/profile", dependencies=[PAGE_WRITES])
def my_profile_save(request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                    form: Form) -> Response:
    check_csrf(request, form)
    me = _own(session, account)
    values = {name: text(form, name).strip() for name in (*PROFILE_FIELDS, *VISIBILITY_FIELDS)}
    # an emptied optional field clears it; the name is required (ResearcherUpdate refuses an empty one)
    data = {name: (value or None) for name, value in values.items() if name != "name"} | {"name": values["name"]}
    try:
        body = ResearcherUpdate.model_validate(data)
    except ValidationError as exc:
        return render(request, "profile_form.html", form_context(values, form_errors(exc), me, ""), status=422)
    usecases.update_researcher(session, service, account, stored_id(me), body)
    return redirect(request, "/my/profile?saved=1")


@router.get("/researchers/{researcher_id}")
def researcher_page(researcher_id: PathId, request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    researcher = access.readable_researcher(session, account, researcher_id)
    seeds = session.exec(select(Seed).where(Seed.researcher_id == researcher.id, access.listed_seeds())
                         .order_by(col(Seed.id))).all()
    return render(request, "researcher_profile.html", {
        "profile": researcher_public(session, researcher, account), "seeds": [seed_public(session, s) for s in seeds],
        "is_me": researcher.account_id == account.id, "visibilities": labels.CONTACT_VISIBILITY,
        "visibility_of": {"email": researcher.email_visibility, "phone": researcher.phone_visibility}})

