"""The tables of issue 14: the pages' server-side sessions and the API's idempotency keys (migration 0005).

Both store a SHA-256 where the secret would be: a session's random id travels only in its cookie, and what a
leaked table gives away cannot be replayed as a cookie. Rows go with their account (ON DELETE CASCADE).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .models import utcnow


class WebSession(SQLModel, table=True):
    """A signed-in browser (api/sessions.py). Ends at sign-out, on the token's revocation or the account's
    disabling, after `session_idle_timeout_s` without a request, and `session_max_age_s` after sign-in."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    id_hash: str = Field(max_length=64, unique=True, index=True)  # SHA-256 of the cookie's random id
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    token_id: int = Field(foreign_key="apitoken.id", index=True, ondelete="CASCADE")  # the token pasted at sign-in
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)  # written at most once a minute


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a creating request with an `Idempotency-Key` (api/idempotency.py), per account."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_key_account_key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)  # method, path and body: the same key with another body is refused
    status_code: int | None = None  # none while the first request is still running
    media_type: str | None = Field(default=None, max_length=100)
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
