"""Managing tokens and accounts (issue 14, item 3): list tokens, revoke one by its id, disable an account.

One set of functions for `matcher-admin list-tokens / revoke-token --id / disable-account` (api/admin.py) and
the admins' API (api/routes/admin.py). Revoking a token ends the web sessions signed in with it; disabling an
account ends all of its sessions, and its tokens are refused while it stays disabled (api/auth.py).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from .auth import end_sessions, revoke, token_is_live
from .models import Account, ApiToken, ApiTokenPublic, stored_id, utcnow


def token_public(token: ApiToken, account: Account) -> ApiTokenPublic:
    return ApiTokenPublic(id=stored_id(token), account_id=token.account_id, account_name=account.name,
                          role=account.role, label=token.label, created_at=token.created_at,
                          expires_at=token.expires_at, last_used_at=token.last_used_at, revoked_at=token.revoked_at,
                          active=token_is_live(token, utcnow()) and not account.disabled)


def list_tokens(session: Session, account_id: int | None = None) -> list[ApiTokenPublic]:
    """Every token (or an account's), oldest first, with its account."""
    query = select(ApiToken, Account).where(col(ApiToken.account_id) == col(Account.id))
    if account_id is not None:
        query = query.where(col(ApiToken.account_id) == account_id)
    return [token_public(token, account) for token, account in session.exec(query.order_by(col(ApiToken.id))).all()]


def revoke_token_id(session: Session, token_id: int) -> ApiTokenPublic | None:
    """Revoke the token `token_id` (again is harmless); None when there is no such token."""
    token = session.get(ApiToken, token_id)
    if token is None:
        return None
    if token.revoked_at is None:
        revoke(session, token)  # its web sessions end with it
    account = session.get_one(Account, token.account_id)
    return token_public(token, account)


def set_disabled(session: Session, account_id: int, disabled: bool) -> Account | None:
    """Disable an account (its sessions end, its tokens are refused) or enable it again; None when unknown."""
    account = session.get(Account, account_id)
    if account is None:
        return None
    account.disabled = disabled
    session.add(account)
    if disabled:
        end_sessions(session, account_id=account_id)
    session.commit()
    session.refresh(account)
    return account
