"""The audit log (issue 14, item 5: APPI): who was shown which researcher's contact detail, when, and on which route;
an admin's support read of a draft, with its reason; a researcher's export and erasure of its own data.

Showing a researcher's e-mail or phone to another party is a provision of personal data, which must be recorded
(個人情報保護法の「第三者提供に係る記録」). One row is written per field shown, per response, before the
response leaves (`record_contacts`, called by api/present.py for the API and the pages alike): a disclosure the
log could not record fails instead of going out unrecorded. A researcher reading its own profile is not a
provision and writes nothing.

Rows hold ids, never the contact itself, and name no foreign key: they outlive the erasure of the researcher they
are about (the law asks for the record to be kept for a period, up to 3 years), and say nothing of it but its former id.
Admins read them through `GET /api/v1/admin/audit` and `matcher-admin audit`; a researcher reads those about
itself in its export (api/erasure.py).

The route of a row is the request's method and path, which `AuditRoute` (a plain ASGI middleware, so the value
reaches the threads sync routes run in) puts in a context variable for the whole request.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, Session, SQLModel, col, func, select
from starlette.types import ASGIApp, Receive, Scope, Send

from .models import Account, utcnow

ROUTE_MAX = 300
REASON_MAX = 500
CURRENT_ROUTE: ContextVar[str] = ContextVar("audit_route", default="")


class AuditAction(StrEnum):
    contact_shown = "contact_shown"  # one contact field of a researcher went out in a response
    support_seed_read = "support_seed_read"  # an admin read a seed (a draft, maybe) through the support path
    researcher_exported = "researcher_exported"  # a researcher downloaded its own data
    researcher_erased = "researcher_erased"  # a researcher's profile and seeds were deleted
    account_role_changed = "account_role_changed"  # an admin (or the command line) changed an account's role
    account_disabled = "account_disabled"
    account_enabled = "account_enabled"
    organisation_updated = "organisation_updated"  # an admin edited an organisation (the reason names the fields)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    action: str = Field(max_length=40, index=True)  # an AuditAction; plain text, so a new one needs no ALTER TYPE
    account_id: int | None = Field(default=None, index=True)  # who (none: a command-line run)
    account_role: str | None = Field(default=None, max_length=20)
    researcher_id: int | None = Field(default=None, index=True)  # whose
    field: str | None = Field(default=None, max_length=20)  # "email" or "phone" for contact_shown
    seed_id: int | None = None
    route: str = Field(default="", max_length=ROUTE_MAX)  # "GET /api/v1/researchers/3", "GET /needs/5/results"
    reason: str | None = Field(default=None, max_length=REASON_MAX)  # the admin's reason for a support read


class AuditPublic(SQLModel):
    id: int
    created_at: datetime
    action: str
    account_id: int | None
    account_role: str | None
    researcher_id: int | None
    field: str | None
    seed_id: int | None
    route: str
    reason: str | None


class AuditRoute:
    """Name the request (method and path) for the audit rows written while it is answered."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = CURRENT_ROUTE.set(f"{scope.get('method', '')} {scope.get('path', '')}"[:ROUTE_MAX])
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT_ROUTE.reset(token)


def entry(action: AuditAction, who: Account | None, *, researcher_id: int | None = None, field: str | None = None,
          seed_id: int | None = None, reason: str | None = None) -> AuditEntry:
    """A row for the caller's transaction, naming `who` and the current request's route."""
    return AuditEntry(action=action.value, account_id=who.id if who else None,
                      account_role=who.role.value if who else None, route=CURRENT_ROUTE.get(),
                      researcher_id=researcher_id, field=field, seed_id=seed_id, reason=reason)


def record(session: Session, action: AuditAction, who: Account | None, *, researcher_id: int | None = None,
           seed_id: int | None = None, reason: str | None = None) -> None:
    """Add one row to the caller's transaction (it commits with the caller's write)."""
    session.add(entry(action, who, researcher_id=researcher_id, seed_id=seed_id, reason=reason))


def record_contacts(session: Session, reader: Account | None,
                    shown: Iterable[tuple[int, int | None, Iterable[str]]]) -> int:
    """Record and commit, before a response goes out, the contact fields it shows: `shown` holds, per researcher,
    (its id, its account id, the names of the fields shown). The researcher's own reads are not provisions and
    are left out. Returns how many rows were written."""
    rows = [entry(AuditAction.contact_shown, reader, researcher_id=researcher_id, field=name)
            for researcher_id, account_id, fields in shown
            if reader is None or account_id != reader.id
            for name in fields]
    if rows:
        session.add_all(rows)
        session.commit()
    return len(rows)


def entries(session: Session, *, limit: int, offset: int, researcher_id: int | None = None,
            account_id: int | None = None, action: str | None = None) -> tuple[list[AuditPublic], int]:
    """Rows, newest first, optionally of one researcher, one reader or one action; and how many match."""
    query = select(AuditEntry)
    if researcher_id is not None:
        query = query.where(col(AuditEntry.researcher_id) == researcher_id)
    if account_id is not None:
        query = query.where(col(AuditEntry.account_id) == account_id)
    if action is not None:
        query = query.where(col(AuditEntry.action) == action)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(AuditEntry.id).desc()).offset(offset).limit(limit)).all()
    return [AuditPublic.model_validate(r, from_attributes=True) for r in rows], total
