"""In-app notifications on the pages (issue 15): the list, and marking one or all read (api/notifications.py).
The header's unread count is put in every page by api/web/render.py."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from .. import notifications
from ..deps import SessionDep
from ..params import PathId
from .deps import SignedIn, safe_next
from .forms import Form, check_csrf
from .render import redirect, render
from .routing import page_router

router = page_router()


@router.get("/notifications")
def notification_list(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    return render(request, "notifications.html", {"page": notifications.page(session, account)})


@router.post("/notifications/read-all")
def notification_read_all(request: Request, session: SessionDep, account: SignedIn, form: Form) -> Response:
    check_csrf(request, form)
    notifications.mark_all_read(session, account)
    return redirect(request, "/notifications")


@router.post("/notifications/{notification_id}/read")
def notification_read(notification_id: PathId, request: Request, session: SessionDep, account: SignedIn,
                      form: Form) -> Response:
    """Mark it read and go where it points (a path on this site), or back to the list."""
    check_csrf(request, form)
    read = notifications.mark_read(session, account, notification_id)
    return redirect(request, safe_next(read.link) if read.link else "/notifications")
