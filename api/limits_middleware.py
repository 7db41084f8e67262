"""Refuse request bodies over the configured size with 413, before anything reads them.

Checks Content-Length up front, and counts the bytes of bodies sent without
one (chunked), so neither way around the cap works.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ErrorBody, ErrorResponse
from .seed_import_layout import MAX_FILE_BYTES

# paths that take a file larger than the cap: a シーズ集 (plus a margin for the multipart form around it)
LARGER_BODIES = dict.fromkeys(["/seed-import/check", "/api/v1/seed-imports/check", "/api/v1/seed-imports"],
                              MAX_FILE_BYTES + 1024 * 1024)
TOO_LARGE = ErrorResponse(error=ErrorBody(code="payload_too_large",
                                          message="送信されたデータが大きすぎます。")).model_dump()


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = LARGER_BODIES.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        html = _wants_html(scope)
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await _reject(send, max_bytes, html)
            return
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counted_receive, send)
        except _TooLarge:
            await _reject(send, max_bytes, html)


class _TooLarge(Exception):
    pass


def _wants_html(scope: Scope) -> bool:
    accept = dict(scope.get("headers") or []).get(b"accept", b"")
    return not scope.get("path", "").startswith("/api/") and b"text/html" in accept


async def _reject(send: Send, max_bytes: int, html: bool = False) -> None:
    message = f"送信されたデータが大きすぎます（上限 {max_bytes:,} バイト）。"
    if html:  # a form post from the web pages: a plain Japanese page, with a way back
        payload = (f'<!doctype html><html lang="ja"><meta charset="utf-8"><title>送信内容が大きすぎます</title>'
                   f'<p>{message}内容を短くして、<a href="javascript:history.back()">前の画面</a>'
                   f'からもう一度送信してください。</p>'
                   f'</html>').encode()
        content_type = b"text/html; charset=utf-8"
    else:
        body = dict(TOO_LARGE)
        body["error"] = {**body["error"], "message": message}
        payload = json.dumps(body, ensure_ascii=False).encode()
        content_type = b"application/json"
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
