"""Everyone: the purpose of use of personal data (利用目的, APPI), linked from every page's footer."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from .deps import MaybeSignedIn
from .render import render
from .routing import page_router

router = page_router()
PRIVACY_URL = "/privacy"


@router.get(PRIVACY_URL)
def privacy(request: Request, account: MaybeSignedIn) -> HTMLResponse:
    settings = request.app.state.settings
    return render(request, "privacy.html", {"retention_days": settings.report_retention_days})
