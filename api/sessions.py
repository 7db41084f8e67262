"""Server-side sessions of the web pages (issue 14, item 2): the cookie holds a random id and nothing else.

A signed-in browser is a `web_session` row, found by the SHA-256 of the id in its cookie. The server ends it:

- at sign-out (the row is deleted);
- after `session_idle_timeout_s` without a request, and `session_max_age_s` after sign-in, whatever the cookie
  says (the browser's max-age is only a courtesy);
- when the token used to sign in is revoked or expires, or the account is disabled (api/tokens.py deletes the
  rows, and every request checks them again).

The time of the last request is written at most once a minute (`TOUCH_EVERY_S`), not on every page; the idle
timeout is thus exact to a minute. Ended rows are deleted when met, and all expired ones at each sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from .auth import active_account, aware, record_use, token_is_live
from .models import Account, ApiToken, stored_id, utcnow
from .security_models import WebSession
from .settings import Settings

TOUCH_EVERY_S = 60
ID_BYTES = 32  # 256 random bits: token_urlsafe gives 43 characters


@dataclass(frozen=True)
class Timeouts:
    idle_s: int
    max_age_s: int

    @classmethod
    def of(cls, settings: Settings) -> Timeouts:
        return cls(settings.session_idle_timeout_s, settings.session_max_age_s)


def new_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(session: Session, token: ApiToken, timeouts: Timeouts) -> str:
    """A new session for the account of `token` (a live token of an active account): its id, for the cookie."""
    purge_expired(session, timeouts)
    session_id = new_id()
    session.add(WebSession(id_hash=_digest(session_id), account_id=token.account_id, token_id=stored_id(token)))
    session.commit()
    return session_id


@dataclass(frozen=True)
class Resumed:
    known: bool  # the id named a session (live or ended), not just a visitor's id from before sign-in
    account: Account | None = None  # None when it had ended


def resume(session: Session, session_id: str, timeouts: Timeouts) -> Resumed:
    """The session named `session_id`, if any, and its account while it lasts; one found ended is deleted."""
    row = session.exec(select(WebSession).where(WebSession.id_hash == _digest(session_id))).first()
    if row is None:
        return Resumed(known=False)
    return Resumed(known=True, account=_live_account(session, row, timeouts))


def _live_account(session: Session, row: WebSession, timeouts: Timeouts) -> Account | None:
    now = utcnow()
    token = session.get(ApiToken, row.token_id)
    account = active_account(session, token) if token is not None and token_is_live(token, now) else None
    ended = (now - aware(row.created_at) > timedelta(seconds=timeouts.max_age_s)
             or now - aware(row.last_seen_at) > timedelta(seconds=timeouts.idle_s))
    if token is None or account is None or ended:
        session.delete(row)
        session.commit()
        return None
    if now - aware(row.last_seen_at) >= timedelta(seconds=TOUCH_EVERY_S):
        row.last_seen_at = now
        session.add(row)
        session.commit()
        record_use(session, token)  # the token is in use through its sessions too (once a minute at most)
    return account


def end_session(session: Session, session_id: str) -> None:
    session.exec(delete(WebSession).where(col(WebSession.id_hash) == _digest(session_id)))
    session.commit()


def purge_expired(session: Session, timeouts: Timeouts) -> None:
    now = utcnow()
    session.exec(delete(WebSession).where(or_(
        col(WebSession.created_at) < now - timedelta(seconds=timeouts.max_age_s),
        col(WebSession.last_seen_at) < now - timedelta(seconds=timeouts.idle_s))))

