"""Rendering: the Jinja2 templates, `render` and `redirect` (which keep the session cookie), and error pages.

Errors are the API's own (api/errors.http_error gives status and message); only their form differs here:
an HTML page in Japanese, or the bare fragment when htmx asked for part of a page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from matcher.results import closeness_band

from .. import notifications
from ..errors import http_error
from ..models import Account, Role, stored_id
from ..need_search import jst_date
from . import labels
from . import session as websession
from .explanations import HELP_URL, band_class, band_rule
from .highlight import highlight

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
TEMPLATES.env.filters["highlight"] = highlight
TEMPLATES.env.filters["jst_date"] = jst_date  # a stored time (UTC) as the day in Japan
# scores in words (api/web/explanations.py): the band of a closeness, its CSS class, its rule, the help page
TEMPLATES.env.filters["closeness"] = closeness_band
TEMPLATES.env.filters["band_class"] = band_class
TEMPLATES.env.globals.update(BAND_RULE=band_rule(), SCORES_HELP=HELP_URL)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """The template `name`, with the signed-in account (api/web/deps.py records it) and this session's CSRF."""
    ws = websession.load(request)
    account = getattr(request.state, "page_account", None)
    ctx = {"request": request, "csrf": ws.csrf(request), "me": account, "ROLE_NAMES": labels.ROLE_NAMES,
           "unread": _unread(request, account),  # the header's count of unread notifications
           "Role": Role, "path": request.url.path, **(context or {})}
    response = TEMPLATES.TemplateResponse(request, name, ctx, status_code=status, headers=headers)
    websession.store(request, response, ws)
    return response


def _unread(request: Request, account: Account | None) -> int:
    db = getattr(request.app.state, "db", None)  # none before the app has started (an early error page)
    if account is None or db is None:
        return 0
    with Session(db) as session:
        return notifications.unread_count(session, stored_id(account))


def redirect(request: Request, url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    websession.store(request, response, websession.load(request))
    return response


def error_page(request: Request, status: int, message: str, details: list[str] | None = None,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    name = "_error.html" if request.headers.get("HX-Request") else "error.html"  # htmx swaps it into the list
    return render(request, name, {"title": labels.ERROR_TITLES.get(status, labels.ERROR_TITLE), "message": message,
                                  "details": details or [], "status": status}, status=status, headers=headers)


def error_response(request: Request, exc: Exception) -> HTMLResponse:
    """The page for any error api/errors.py knows: its status and Japanese message, as HTML."""
    error = http_error(exc)
    details = [f"{d.field}: {d.message}" for d in error.details]
    # a bad URL or form value on a page is not the API's JSON body: say so in the page's own words
    message = labels.BAD_REQUEST_VALUES if isinstance(exc, RequestValidationError) else error.message
    return error_page(request, error.status, message, details, error.headers)  # e.g. 429's Retry-After
