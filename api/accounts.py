"""Creating accounts and issuing their API tokens, changing an account's role, disabling and enabling it: the one
set of rules for `matcher-admin create-account / create-token / set-liaison-office / set-role / disable-account /
enable-account` (api/admin.py), the admins' API (api/routes/admin.py) and pages (api/web/admin_accounts.py).

The rules raise the project's ApiError with a Japanese message; the command line turns it into
typer.BadParameter, a page shows it beside the form. A token is returned once, here, and only its hash is kept.

An admin may neither demote nor disable itself, and nobody may demote or disable the last active admin: either
would leave the service with no one to manage accounts but the command line on the server. Every change of a role
and every disabling or enabling is written to the audit log (api/audit.py) in the change's own transaction, with
who made it (none: the command line).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Field, Session, SQLModel, col, func, select

from . import audit, tokens
from .auth import issue_token
from .errors import ApiError, not_found
from .limits import NAME_MAX_CHARS
from .models import FORBID, Account, Organisation, OrgKind, Researcher, Role, stored_id, utcnow
from .text_checks import one_line

EXPIRES_DAYS_MAX = 3650  # ten years: beyond that an expiry is no expiry, and a typo of "365" is caught
NOT_A_UNIVERSITY = "産学連携窓口にできるのは、大学の組織（--organisation-id）のアカウントだけです。"
RESEARCHER_LINK = "研究者IDは、role が researcher のときに、登録済みの研究者を指定してください。"
OWN_ROLE = "自分のアカウントの役割は変えられません。別の管理者に依頼してください。"
OWN_DISABLE = "自分のアカウントは停止できません。別の管理者に依頼してください。"
LAST_ADMIN = ("有効な管理者はこのアカウントだけです。先に別のアカウントを管理者にしてください"
              "（管理者がいなくなると、画面と API からアカウントを管理できなくなります）。")
LINKED_RESEARCHER = ("このアカウントには研究者（ID: {researcher_id}）が結び付いているため、役割は「研究者」のままにして"
                     "ください。")


class AccountRoleChange(SQLModel):
    model_config = FORBID
    role: Role = Field(description="新しい役割: poster / researcher / coordinator / admin")


def _invalid(message: str) -> ApiError:
    return ApiError(422, "validation_error", message)


def expiry(days: int | None) -> datetime | None:
    """When a token given `days` to live expires; None (no expiry) when no days are given."""
    if days is None:
        return None
    if not 1 <= days <= EXPIRES_DAYS_MAX:
        raise _invalid(f"有効期限の日数は 1〜{EXPIRES_DAYS_MAX} で指定してください。")
    return utcnow() + timedelta(days=days)


def check_university(session: Session, organisation_id: int | None) -> None:
    """A liaison office is honoured only on an account of a university organisation."""
    org = session.get(Organisation, organisation_id) if organisation_id is not None else None
    if org is None or org.kind != OrgKind.university:
        raise _invalid(NOT_A_UNIVERSITY)


def _check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > NAME_MAX_CHARS:
        raise _invalid(f"アカウント名は1〜{NAME_MAX_CHARS}文字で入力してください。")
    try:
        one_line(cleaned)
    except ValueError as exc:
        raise _invalid(str(exc)) from exc
    return cleaned


def create_account(session: Session, *, name: str, role: Role, organisation_id: int | None = None,
                   researcher_id: int | None = None, liaison_office: bool = False, expires_days: int | None = None,
                   label: str | None = None) -> tuple[Account, str]:
    """Create an account and its first API token; every rule is checked before anything is written."""
    cleaned = _check_name(name)
    expires_at = expiry(expires_days)
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise _invalid(f"組織（ID: {organisation_id}）が見つかりません。")
    if liaison_office:
        check_university(session, organisation_id)
    researcher = session.get(Researcher, researcher_id) if researcher_id is not None else None
    if researcher_id is not None and (researcher is None or role != Role.researcher):
        raise _invalid(RESEARCHER_LINK)
    if researcher is not None and researcher.account_id is not None:
        raise _invalid(f"研究者（ID: {researcher_id}）には、すでに別のアカウントが結び付いています。")
    account = Account(name=cleaned, role=role, organisation_id=organisation_id, is_liaison_office=liaison_office)
    session.add(account)
    session.flush()
    if researcher is not None:
        researcher.account_id = stored_id(account)
        session.add(researcher)
    session.commit()
    return account, issue_token(session, account, label=label, expires_at=expires_at)


def new_token(session: Session, account_id: int, *, label: str | None = None,
              expires_days: int | None = None) -> tuple[Account, str]:
    """Issue one more API token to an existing account (the account's other tokens stay as they are)."""
    expires_at = expiry(expires_days)
    account = session.get(Account, account_id)
    if account is None:
        raise not_found("アカウント", account_id)
    label = (label or "").strip() or None
    try:
        one_line(label)
    except ValueError as exc:
        raise _invalid(str(exc)) from exc
    return account, issue_token(session, account, label=label, expires_at=expires_at)


# ---- roles, disabling and enabling --------------------------------------------------------------------
def _existing(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise not_found("アカウント", account_id)
    return account


def _is_last_active_admin(session: Session, account: Account) -> bool:
    if account.role != Role.admin or account.disabled:
        return False
    others = select(func.count()).select_from(Account).where(
        col(Account.role) == Role.admin, col(Account.disabled).is_(False), col(Account.id) != account.id)
    return session.exec(others).one() == 0


def change_role(session: Session, actor: Account | None, account_id: int, role: Role) -> Account:
    """Give the account `role` (`actor`: the admin doing it; None on the command line). The same role again
    changes and records nothing."""
    account = _existing(session, account_id)
    if account.role == role:
        return account
    if actor is not None and actor.id == account.id:
        raise _invalid(OWN_ROLE)
    if _is_last_active_admin(session, account):
        raise _invalid(LAST_ADMIN)
    linked = session.exec(select(Researcher).where(col(Researcher.account_id) == account.id)).first()
    if linked is not None and role != Role.researcher:  # its seeds' edits go by the link, whatever the role says
        raise _invalid(LINKED_RESEARCHER.format(researcher_id=linked.id))
    before = account.role
    account.role = role
    session.add(account)
    audit.record(session, audit.AuditAction.account_role_changed, actor,
                 reason=f"アカウント {account.id}（{account.name}）の役割: {before.value} → {role.value}")
    session.commit()
    session.refresh(account)
    return account


def set_disabled(session: Session, actor: Account | None, account_id: int, disabled: bool) -> Account:
    """Disable the account (its web sessions end, its tokens are refused: api/tokens.py) or enable it again, and
    record it. Disabling or enabling it again changes and records nothing."""
    account = _existing(session, account_id)
    if account.disabled == disabled:
        return account
    if disabled and actor is not None and actor.id == account.id:
        raise _invalid(OWN_DISABLE)
    if disabled and _is_last_active_admin(session, account):
        raise _invalid(LAST_ADMIN)
    action = audit.AuditAction.account_disabled if disabled else audit.AuditAction.account_enabled
    audit.record(session, action, actor, reason=f"アカウント {account.id}（{account.name}）")
    changed = tokens.set_disabled(session, account_id, disabled)  # commits the audit row with the change
    assert changed is not None  # found above, in this transaction
    return changed
