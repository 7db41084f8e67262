"""The pages' session cookie and CSRF tokens. The cookie holds a random session id and nothing else.

- Signed in, the id names a row of `web_session` (api/sessions.py), which the server ends at sign-out, after the
  idle and absolute timeouts, and when the token or account is revoked or disabled.
- Before sign-in, the id names no row: it only ties the sign-in form's CSRF token to this browser.
- The CSRF token of every form is hmac(secret, "csrf:" + id): tied to this browser's session, and a new id is
  drawn at sign-in and sign-out, so a token from before sign-in is no longer valid (and a session id planted
  by a sibling site before sign-in never becomes a signed-in one).
- The cookie is HttpOnly and SameSite=Lax, so page scripts cannot read it and cross-site POSTs do not carry it;
  Secure over https, or always with MATCHER_COOKIE_SECURE=true (behind a TLS-terminating proxy).

Every comparison of a value from the request is of bytes (`same`): hmac.compare_digest on str raises a
TypeError for non-ASCII text, which was a 500 for a cookie `x.é` or a CSRF field `é`.

The CSRF secret comes from MATCHER_WEB_SECRET (shared by every worker, survives restarts); without it, a random
per-process secret is drawn (`serve --workers` shares one), and a restart asks for the forms to be sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from .. import sessions
from ..models import Account, ApiToken

COOKIE = "mt_session"
ID_FORM = re.compile(r"[A-Za-z0-9_-]{43}")  # what sessions.new_id draws; anything else is not ours


def _secret(request: Request) -> bytes:
    state = request.app.state
    if getattr(state, "web_secret", None) is None:
        configured = state.settings.web_secret
        state.web_secret = configured.get_secret_value().encode() if configured else secrets.token_bytes(32)
    secret: bytes = state.web_secret
    return secret


def same(a: str, b: str) -> bool:
    """Constant-time equality of two texts from anywhere: compare_digest on str raises TypeError on non-ASCII."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


@dataclass
class WebSession:
    session_id: str
    account: Account | None = None
    fresh: bool = False  # not yet in a cookie: set it on the response

    def csrf(self, request: Request) -> str:
        return hmac.new(_secret(request), b"csrf:" + self.session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, request: Request, value: str | None) -> bool:
        return bool(value) and not self.fresh and same(self.csrf(request), value or "")


def _timeouts(request: Request) -> sessions.Timeouts:
    return sessions.Timeouts.of(request.app.state.settings)


def _database(request: Request) -> Session:
    # its own short session: the account it returns is read whole, and stays usable after it closes
    return Session(request.app.state.db, expire_on_commit=False)


def load(request: Request) -> WebSession:
    """The request's session: signed in when the cookie names a live one; otherwise anonymous (a new id when the
    cookie is missing, malformed or named a session that has ended)."""
    cached: WebSession | None = getattr(request.state, "web_session", None)
    if cached is not None:
        return cached
    raw = request.cookies.get(COOKIE, "")
    if ID_FORM.fullmatch(raw):
        with _database(request) as db:
            resumed = sessions.resume(db, raw, _timeouts(request))
        ended = resumed.known and resumed.account is None  # a new id: nothing of the old session carries over
        web = WebSession(sessions.new_id(), fresh=True) if ended else WebSession(raw, resumed.account)
    else:
        web = WebSession(sessions.new_id(), fresh=True)
    request.state.web_session = web
    return web


def sign_in(request: Request, token: ApiToken, account: Account) -> WebSession:
    """A new session (a new id) for `account`, signed in with `token`."""
    with _database(request) as db:
        session_id = sessions.open_session(db, token, _timeouts(request))
    web = WebSession(session_id, account, fresh=True)
    request.state.web_session = web
    return web


def sign_out(request: Request) -> WebSession:
    """The session's row is deleted: its cookie, copied or not, signs no one in any more."""
    with _database(request) as db:
        sessions.end_session(db, load(request).session_id)
    web = WebSession(sessions.new_id(), fresh=True)
    request.state.web_session = web
    return web


def store(request: Request, response: Response, web: WebSession) -> None:
    if not web.fresh:
        return
    configured: bool | None = request.app.state.settings.cookie_secure
    secure = configured if configured is not None else request.url.scheme == "https"
    response.set_cookie(COOKIE, web.session_id, max_age=request.app.state.settings.session_max_age_s,
                        httponly=True, samesite="lax", path="/", secure=secure)
