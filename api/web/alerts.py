"""Standing alerts on the pages (issue 15): the settings (on/off, the closeness band) and the Atom feed's secret
URL, shown once when it is made and made anew on request. The rules are api/alert_settings.py, as for the API."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from .. import alert_settings
from ..alert_models import AlertLevel, AlertSettingsIn, FeedUrlOut
from ..deps import SessionDep
from ..models import Account
from . import labels
from .deps import PAGE_WRITES, SignedIn
from .forms import Form, check_csrf, text
from .render import redirect, render
from .routing import page_router

router = page_router()


def _page(request: Request, session: Session, account: Account, *, status: int = 200,
          feed: FeedUrlOut | None = None, error: str | None = None, saved: bool = False) -> HTMLResponse:
    context: dict[str, Any] = {"alerts": alert_settings.settings_out(session, account), "feed": feed,
                               "error": error, "saved": saved, "token_feed": "/api/v1/notifications/feed.atom"}
    return render(request, "alerts.html", context, status=status)


@router.get("/alerts")
def alert_settings_page(request: Request, session: SessionDep, account: SignedIn, saved: bool = False) -> HTMLResponse:
    return _page(request, session, account, saved=saved)


@router.post("/alerts", dependencies=[PAGE_WRITES])
def alert_settings_save(request: Request, session: SessionDep, account: SignedIn, form: Form) -> Response:
    check_csrf(request, form)
    try:
        level = AlertLevel(text(form, "level"))
    except ValueError:  # a form the page did not send: say so, and keep what was saved
        return _page(request, session, account, status=422, error=labels.ALERT_LEVEL_REFUSED)
    alert_settings.save(session, account, AlertSettingsIn(enabled=text(form, "enabled") == "yes", level=level))
    return redirect(request, "/alerts?saved=1")


@router.post("/alerts/feed", dependencies=[PAGE_WRITES])
def alert_feed_rotate(request: Request, session: SessionDep, account: SignedIn, form: Form) -> HTMLResponse:
    """A new secret URL, shown on this answer only: the server keeps its hash, never the URL."""
    check_csrf(request, form)
    feed = alert_settings.rotate_feed(session, account, str(request.base_url))
    return _page(request, session, account, feed=feed)
