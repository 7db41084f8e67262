"""Bearer API tokens: generated once, shown once, stored only as a SHA-256 hash, revocable.

A token is 256 random bits, so a plain SHA-256 (not a slow password hash) is
the right tool: there is nothing to brute-force. The hash is looked up by
index, and the match is confirmed with hmac.compare_digest so the comparison
takes the same time whatever the input.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlmodel import Session, select

from .models import Account, ApiToken, stored_id, utcnow

TOKEN_PREFIX = "mt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, account: Account, label: str | None = None) -> str:
    """Create a token for `account` and return it; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=stored_id(account), token_hash=hash_token(token), label=label))
    session.commit()
    return token


def account_for_token(session: Session, token: str) -> Account | None:
    """The active account a token belongs to, or None (unknown, revoked or disabled)."""
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None:
        return None
    account = session.get(Account, row.account_id)
    if account is None or account.disabled:
        return None
    return account


def revoke_token(session: Session, token: str) -> bool:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    session.commit()
    return True
