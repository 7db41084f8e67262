"""Bearer API tokens: generated once, shown once, stored only as a SHA-256 hash, revocable, optionally expiring.

A token is 256 random bits, so a plain SHA-256 (not a slow password hash) is
the right tool: there is nothing to brute-force. The hash is looked up by
index, and the match is confirmed with hmac.compare_digest so the comparison
takes the same time whatever the input.

The last time a token was used is recorded, at most once a minute per token (`USE_RECORDED_EVERY_S`), so that
a busy client does not turn every read into a database write. Listing, revoking by id and disabling accounts
are api/tokens.py's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from .models import Account, ApiToken, stored_id, utcnow
from .security_models import WebSession

TOKEN_PREFIX = "mt_"
TOKEN_MAX_CHARS = 200
USE_RECORDED_EVERY_S = 60


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()  # any text, never an error


def aware(moment: datetime) -> datetime:
    """SQLite may hand a UTC datetime back without its zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def issue_token(session: Session, account: Account, label: str | None = None,
                expires_at: datetime | None = None) -> str:
    """Create a token for `account` and return it; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=stored_id(account), token_hash=hash_token(token), label=label,
                         expires_at=expires_at))
    session.commit()
    return token


def token_is_live(row: ApiToken, now: datetime | None = None) -> bool:
    """Neither revoked nor past its expiry."""
    now = now or utcnow()
    return row.revoked_at is None and (row.expires_at is None or aware(row.expires_at) > now)


def live_token(session: Session, token: str) -> ApiToken | None:
    """The stored row of a token that is neither revoked nor expired, or None."""
    if not token or len(token) > TOKEN_MAX_CHARS:
        return None
    digest = hash_token(token)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash.encode(), digest.encode()) or not token_is_live(row):
        return None
    return row


def active_account(session: Session, row: ApiToken) -> Account | None:
    account = session.get(Account, row.account_id)
    return None if account is None or account.disabled else account


def account_for_token(session: Session, token: str) -> Account | None:
    """The active account a token belongs to, or None (unknown, revoked, expired or disabled)."""
    row = live_token(session, token)
    account = active_account(session, row) if row is not None else None
    if row is not None and account is not None:
        record_use(session, row)
    return account


def record_use(session: Session, row: ApiToken) -> None:
    """Note that `row` was used now, unless that was noted less than a minute ago (one write a minute at most;
    the condition is in the UPDATE, so several workers seeing the same token write it once)."""
    now = utcnow()
    cutoff = now - timedelta(seconds=USE_RECORDED_EVERY_S)
    if row.last_used_at is not None and aware(row.last_used_at) > cutoff:
        return
    last_used = col(ApiToken.last_used_at)
    session.exec(update(ApiToken).where(col(ApiToken.id) == row.id, or_(last_used.is_(None), last_used < cutoff))
                 .values(last_used_at=now))
    session.commit()


def revoke_token(session: Session, token: str) -> bool:
    """Revoke a token by its text; its web sessions end with it."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return False
    revoke(session, row)
    return True


def revoke(session: Session, row: ApiToken) -> None:
    row.revoked_at = utcnow()
    session.add(row)
    end_sessions(session, token_id=stored_id(row))
    session.commit()


def end_sessions(session: Session, *, token_id: int | None = None, account_id: int | None = None) -> None:
    """Delete the web sessions signed in with a token, or of an account (the caller commits)."""
    if token_id is None and account_id is None:
        raise ValueError("end_sessions needs a token or an account")
    query = delete(WebSession)
    if token_id is not None:
        query = query.where(col(WebSession.token_id) == token_id)
    if account_id is not None:
        query = query.where(col(WebSession.account_id) == account_id)
    session.exec(query)
