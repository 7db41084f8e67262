"""The route class of every page: errors become Japanese HTML pages, a missing sign-in a redirect to /signin."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from ..errors import HANDLED
from . import session as websession
from .deps import SignInRequired, safe_next
from .render import error_response


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                response = to_sign_in(request)
                websession.store(request, response, websession.load(request))  # an ended session's new id
                return response
            except HANDLED as exc:
                return error_response(request, exc)

        return route


def to_sign_in(request: Request) -> Response:
    if request.headers.get("HX-Request"):  # an htmx fragment: send the whole page to sign-in
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        target = safe_next(current.path + (f"?{current.query}" if current.query else ""))
        return Response(status_code=204, headers={"HX-Redirect": f"/signin?next={quote(target)}"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)


def page_router() -> APIRouter:
    """A router of pages: HTML answers, outside the OpenAPI schema."""
    return APIRouter(route_class=PageRoute, include_in_schema=False, default_response_class=HTMLResponse)
