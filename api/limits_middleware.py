"""Refuse request bodies over the configured size with 413, before anything reads them.

Checks Content-Length up front, and counts the bytes of bodies sent without
one (chunked), so neither way around the cap works.
"""

from __future__ import annotations

import json

from .errors import ErrorBody, ErrorResponse

TOO_LARGE = ErrorResponse(error=ErrorBody(code="payload_too_large", message="送信されたデータが大きすぎます。")).model_dump()


class BodySizeLimit:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await _reject(send, self.max_bytes)
        seen = 0

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counted_receive, send)
        except _TooLarge:
            await _reject(send, self.max_bytes)


class _TooLarge(Exception):
    pass


async def _reject(send, max_bytes: int) -> None:
    body = dict(TOO_LARGE)
    body["error"] = {**body["error"], "message": f"送信されたデータが大きすぎます（上限 {max_bytes:,} バイト）。"}
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
