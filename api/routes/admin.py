"""Admins: list the API tokens, revoke one by its id, disable or enable an account (issue 14, item 3); read the
audit log, and read a seed (a draft too) for a support request, with a reason that the audit log keeps (items 4, 5).

The same functions as `matcher-admin list-tokens / revoke-token --id / disable-account / audit`
(api/tokens.py, api/audit.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .. import access, audit, tokens
from ..deps import SessionDep, require_roles
from ..errors import ApiError, ErrorResponse, not_found
from ..idempotency import ApiRoute
from ..limits import ID_MAX, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX
from ..models import Account, AccountPublic, ApiTokenPublic, Role, SeedPublic, stored_id
from ..params import PathId
from ..present import seed_public
from ..rate_limits import RATE_LIMITED_RESPONSE, WRITES
from ..schemas import Page
from ..text_checks import one_line

REASON_MISSING = ("サポートのためにシーズを読む理由を reason に書いてください（例: reason=問い合わせ番号123の確認）。"
                  "理由は監査記録に残ります。")

router = APIRouter(route_class=ApiRoute, prefix="/admin", tags=["admin"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

Admin = Annotated[Account, require_roles(Role.admin)]


@router.get("/tokens", operation_id="list_tokens", response_model=list[ApiTokenPublic])
def list_tokens(session: SessionDep, _: Admin,
                account_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None) -> list[ApiTokenPublic]:
    """APIトークンの一覧（ハッシュは含まない）。発行日時・有効期限・最後に使われた日時・失効日時。"""
    return tokens.list_tokens(session, account_id)


@router.delete("/tokens/{token_id}", operation_id="revoke_token", response_model=ApiTokenPublic,
               dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def revoke_token(token_id: PathId, session: SessionDep, _: Admin) -> ApiTokenPublic:
    """APIトークンを ID で失効させる。そのトークンでログインした画面のセッションも終わる。"""
    revoked = tokens.revoke_token_id(session, token_id)
    if revoked is None:
        raise not_found("APIトークン", token_id)
    return revoked


def _account_out(session: SessionDep, account: Account) -> AccountPublic:
    me = access.researcher_of(session, account)
    return AccountPublic(**account.model_dump(), researcher_id=me.id if me else None)


@router.post("/accounts/{account_id}/disable", operation_id="disable_account", response_model=AccountPublic,
             dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def disable_account(account_id: PathId, session: SessionDep, admin: Admin) -> AccountPublic:
    """アカウントを停止する。そのトークンはすべて使えなくなり、画面のセッションも終わる。"""
    if account_id == stored_id(admin):
        raise ApiError(422, "validation_error", "自分のアカウントは停止できません。別の管理者に依頼してください。")
    account = tokens.set_disabled(session, account_id, True)
    if account is None:
        raise not_found("アカウント", account_id)
    return _account_out(session, account)


@router.post("/accounts/{account_id}/enable", operation_id="enable_account", response_model=AccountPublic,
             dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def enable_account(account_id: PathId, session: SessionDep, _: Admin) -> AccountPublic:
    """停止したアカウントを再び使えるようにする（失効・期限切れのトークンは戻らない）。"""
    account = tokens.set_disabled(session, account_id, False)
    if account is None:
        raise not_found("アカウント", account_id)
    return _account_out(session, account)


@router.get("/audit", operation_id="list_audit", response_model=Page[audit.AuditPublic])
def list_audit(session: SessionDep, _: Admin,
               limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               researcher_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
               account_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
               action: audit.AuditAction | None = None) -> Page[audit.AuditPublic]:
    """監査記録（新しい順）: 研究者の連絡先を誰にいつどのルートで示したか、サポートでのシーズの閲覧（理由付き）、
    研究者によるデータの書き出しと削除。researcher_id・account_id・action で絞り込める。"""
    rows, total = audit.entries(session, limit=limit, offset=offset, researcher_id=researcher_id,
                                account_id=account_id, action=action.value if action else None)
    return Page(items=rows, total=total, limit=limit, offset=offset)


@router.get("/support/seeds/{seed_id}", operation_id="support_read_seed", response_model=SeedPublic)
def support_read_seed(seed_id: PathId, session: SessionDep, admin: Admin,
                      reason: Annotated[str | None, Query(max_length=audit.REASON_MAX)] = None) -> SeedPublic:
    """サポートのためにシーズを読む（下書き・取り下げを含む）。理由（reason）が必要で、理由とともに監査記録に残る。"""
    text = (reason or "").strip()
    if not text:
        raise ApiError(422, "validation_error", REASON_MISSING)
    try:
        one_line(text)
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    seed = access.support_seed(session, seed_id)
    audit.record(session, audit.AuditAction.support_seed_read, admin, researcher_id=seed.researcher_id,
                 seed_id=stored_id(seed), reason=text)
    session.commit()
    return seed_public(session, seed)
