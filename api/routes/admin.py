"""Admins: list the API tokens, revoke one by its id, disable or enable an account (issue 14, item 3).

The same functions as `matcher-admin list-tokens / revoke-token --id / disable-account` (api/tokens.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .. import access, tokens
from ..deps import SessionDep, require_roles
from ..errors import ApiError, ErrorResponse, not_found
from ..idempotency import ApiRoute
from ..limits import ID_MAX
from ..models import Account, AccountPublic, ApiTokenPublic, Role, stored_id
from ..params import PathId
from ..rate_limits import RATE_LIMITED_RESPONSE, WRITES

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
