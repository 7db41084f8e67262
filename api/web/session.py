"""Signed-cookie sessions and CSRF tokens for the web pages, with hmac from the standard library.

The cookie holds `base64url(json).hmac-sha256`: a random session nonce and, once signed in, the API token
the user pasted. It is HttpOnly and SameSite=Lax, so page scripts cannot read it and cross-site POSTs
do not carry it. The CSRF token of every form is hmac(secret, "csrf:" + nonce): tied to this session,
and a new nonce is drawn at sign-in and sign-out, so a token from before sign-in is no longer valid.

The secret comes from the setting MATCHER_WEB_SECRET (shared by every worker, survives restarts);
without it, a random per-process secret is drawn, and restarting the server signs everyone out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

COOKIE = "mt_session"
MAX_AGE_S = 8 * 3600


def _secret(request: Request) -> bytes:
    state = request.app.state
    if getattr(state, "web_secret", None) is None:
        configured = state.settings.web_secret
        state.web_secret = configured.get_secret_value().encode() if configured else secrets.token_bytes(32)
    secret: bytes = state.web_secret
    return secret


def _sign(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


@dataclass
class WebSession:
    nonce: str
    token: str | None = None
    fresh: bool = False  # not yet in a cookie: set it on the response

    def csrf(self, request: Request) -> str:
        return _sign(_secret(request), b"csrf:" + self.nonce.encode())

    def csrf_ok(self, request: Request, value: str | None) -> bool:
        return value is not None and value != "" and not self.fresh and hmac.compare_digest(self.csrf(request), value)


def load(request: Request) -> WebSession:
    """The request's session; a new anonymous one when the cookie is missing, forged or unreadable."""
    cached: WebSession | None = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    session = None
    raw = request.cookies.get(COOKIE, "")
    body, _, signature = raw.rpartition(".")
    if body and hmac.compare_digest(_sign(_secret(request), body.encode()), signature):
        try:
            data = json.loads(base64.urlsafe_b64decode(body.encode()))
            session = WebSession(nonce=str(data["n"]), token=data.get("t"))
        except (ValueError, KeyError, TypeError):
            session = None
    if session is None:
        session = WebSession(nonce=secrets.token_urlsafe(16), fresh=True)
    request.state.web_session = session
    return session


def renew(request: Request, token: str | None) -> WebSession:
    """A new session (new nonce) holding `token`: used at sign-in and sign-out."""
    session = WebSession(nonce=secrets.token_urlsafe(16), token=token, fresh=True)
    request.state.web_session = session
    return session


def store(request: Request, response: Response, session: WebSession) -> None:
    if not session.fresh:
        return
    body = base64.urlsafe_b64encode(json.dumps({"n": session.nonce, "t": session.token}).encode()).decode()
    value = body + "." + _sign(_secret(request), body.encode())
    response.set_cookie(COOKIE, value, max_age=MAX_AGE_S, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
