"""The last resort: an exception no handler knows (a bug) becomes the Japanese 500, and its trace goes to the log.

A pure ASGI middleware, so that it sees every exception the app lets through, and answers it before Starlette's
own ServerErrorMiddleware would send its English "Internal Server Error" (and, in debug, the trace) to the caller.
The API gets the error JSON (`internal_error`); a browser asking for a page gets the Japanese error page, or a
plain one when even that page cannot be drawn (the database may be what failed). Nothing of the exception is
shown to the caller.
"""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ErrorBody, ErrorResponse, HtmlErrorPage, internal_error, wants_html

log = logging.getLogger(__name__)

PLAIN_PAGE = ('<!doctype html><html lang="ja"><meta charset="utf-8"><title>エラーが発生しました</title>'
              '<h1>エラーが発生しました</h1><p>{message}</p><p><a href="/">ホームへ</a></p></html>')


class LastResort:
    def __init__(self, app: ASGIApp, html_page: HtmlErrorPage | None = None):
        self.app = app
        self.html_page = html_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # part of the answer is out: nothing sensible can follow it
                raise
            await self._answer(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = internal_error()
        request = Request(scope, receive)
        if self.html_page is not None and wants_html(request):
            try:
                response = self.html_page(request, error)
            except Exception:  # noqa: BLE001 - the error page itself failed: the plain one never does
                log.exception("the error page could not be drawn")
                page = PLAIN_PAGE.format(message=error.message).encode()
                await _send(send, 500, page, b"text/html; charset=utf-8")
                return
            await response(scope, receive, send)
            return
        body = ErrorResponse(error=ErrorBody(code=error.code, message=error.message)).model_dump()
        await _send(send, 500, json.dumps(body, ensure_ascii=False).encode(), b"application/json")


async def _send(send: Send, status: int, payload: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
