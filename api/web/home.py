"""Everyone: the home page (what is registered, by region), sign-in and sign-out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from matcher.regions import REGION_ORDER, default_prefectures

from .. import access
from ..auth import active_account, live_token, record_use
from ..deps import ServiceDep, SessionDep
from ..models import Need, Organisation, OrgKind, Seed
from . import explanations, labels
from . import session as websession
from .deps import MaybeSignedIn, safe_next
from .forms import Form, check_csrf, csrf_ok, text
from .render import redirect, render
from .routing import page_router

router = page_router()


def _by_region(prefecture_codes: Iterable[str | None]) -> Counter[str | None]:
    prefectures = default_prefectures()

    def region(code: str | None) -> str | None:
        try:
            return prefectures.get(code).region if code else None
        except ValueError:
            return None

    return Counter(region(code) for code in prefecture_codes)


def _counts(session: Session) -> tuple[list[tuple[str, int, int, int]], tuple[int, int, int]]:
    """Per region: the seeds and needs every signed-in user may read, and the universities."""
    orgs = {o.id: o for o in session.exec(select(Organisation)).all()}
    seed_orgs = session.exec(select(Seed.organisation_id).where(access.listed_seeds())).all()
    seeds = _by_region(orgs[o].prefecture_code for o in seed_orgs if o in orgs)
    needs = _by_region(session.exec(select(col(Need.prefecture_code)).where(access.listed_needs())).all())
    universities = _by_region(o.prefecture_code for o in orgs.values() if o.kind == OrgKind.university)
    rows = [(r, seeds[r], needs[r], universities[r]) for r in REGION_ORDER]
    return rows, (sum(seeds.values()), sum(needs.values()), sum(universities.values()))


@router.get("/")
def home(request: Request, session: SessionDep, account: MaybeSignedIn) -> HTMLResponse:
    rows, totals = _counts(session)
    return render(request, "home.html", {"rows": rows, "totals": totals})


@router.get(explanations.HELP_URL)
def scores_help(request: Request, service: ServiceDep, account: MaybeSignedIn) -> HTMLResponse:
    """How to read a results page: bands, closeness, the ranking score, the listed seeds, terms, the gain."""
    settings = service.engine.settings
    return render(request, "help_scores.html", {
        "bands": explanations.band_rows(), "seed_floor": settings.seed_floor,
        "seeds_per_partner": settings.seeds_per_partner, "terms_shown": settings.shared_terms_shown})


@router.get("/signin")
def signin_form(request: Request, account: MaybeSignedIn, next: str = "/") -> HTMLResponse:
    return render(request, "signin.html", {"next": safe_next(next), "error": None})


@router.post("/signin")
def signin(request: Request, session: SessionDep, form: Form) -> Response:
    target = safe_next(text(form, "next") or None)
    if not csrf_ok(request, form):
        return render(request, "signin.html", {"next": target, "error": labels.CSRF_MESSAGE}, status=403)
    token = text(form, "token").strip()
    row = live_token(session, token) if token else None
    account = active_account(session, row) if row is not None else None
    if row is None or account is None:
        message = labels.TOKEN_REFUSED if token else labels.TOKEN_MISSING
        return render(request, "signin.html", {"next": target, "error": message}, status=401 if token else 422)
    record_use(session, row)
    websession.sign_in(request, row, account)  # a server-side session: the cookie holds only its new id
    return redirect(request, target)


@router.post("/signout")
def signout(request: Request, form: Form) -> RedirectResponse:
    check_csrf(request, form)
    websession.sign_out(request)  # the session's row is deleted: the old cookie signs no one in
    return redirect(request, "/")
