"""Admins: list the API tokens, revoke one by its id, disable or enable an account (issue 14, item 3); read the
audit log, and read a seed (a draft too) for a support request, with a reason that the audit log keeps (items 4, 5);
change an account's role and edit an organisation (issue 15, the admin pages).

The same functions as `matcher-admin list-tokens / revoke-token --id / set-role / disable-account / audit`
(api/tokens.py, api/accounts.py, api/audit.py) and the admin pages (api/organisation_edit.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ValidationError

from .. import access, accounts, audit, organisation_edit, tokens
from ..deps import ServiceDep, SessionDep, require_roles
from ..errors import VALIDATION_MESSAGE, ApiError, ErrorResponse, not_found, validation_details
from ..idempotency import ApiRoute
from ..limits import ID_MAX, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX
from ..models import Account, AccountPublic, ApiTokenPublic, OrganisationPublic, Role, SeedPublic, stored_id
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
    """アカウントを停止する。そのトークンはすべて使えなくなり、画面のセッションも終わる。

    自分のアカウントと、最後の有効な管理者は停止できません。監査記録に残ります。"""
    return _account_out(session, accounts.set_disabled(session, admin, account_id, True))


@router.post("/accounts/{account_id}/enable", operation_id="enable_account", response_model=AccountPublic,
             dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def enable_account(account_id: PathId, session: SessionDep, admin: Admin) -> AccountPublic:
    """停止したアカウントを再び使えるようにする（失効・期限切れのトークンは戻らない）。監査記録に残ります。"""
    return _account_out(session, accounts.set_disabled(session, admin, account_id, False))


@router.patch("/accounts/{account_id}", operation_id="change_account_role", response_model=AccountPublic,
              dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def change_account_role(account_id: PathId, body: accounts.AccountRoleChange, session: SessionDep,
                        admin: Admin) -> AccountPublic:
    """アカウントの役割を変える。

    自分の役割と、最後の有効な管理者の役割は変えられません。研究者が結び付いたアカウントは研究者のままです。
    変更は監査記録に残ります（matcher-admin set-role と同じ規則）。"""
    return _account_out(session, accounts.change_role(session, admin, account_id, body.role))


@router.patch("/organisations/{organisation_id}", operation_id="update_organisation",
              response_model=OrganisationPublic, dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def update_organisation(organisation_id: PathId, body: organisation_edit.OrganisationUpdate, session: SessionDep,
                        service: ServiceDep, admin: Admin) -> OrganisationPublic:
    """組織を編集する（送った項目だけを変える）。

    登録と同じ検査をします（市区町村は、編集後の都道府県の中にあること）。研究者のいる大学は種類を変えられません。
    名称や所在地の変更は照合の結果にも反映され、監査記録に残ります。"""
    org = organisation_edit.find(session, organisation_id)
    try:
        checked = organisation_edit.merged(org, body.model_dump(exclude_unset=True))
    except ValidationError as exc:
        raise ApiError(422, "validation_error", VALIDATION_MESSAGE, validation_details(exc.errors())) from exc
    updated = organisation_edit.update_organisation(session, service, admin, org, checked)
    return OrganisationPublic.model_validate(updated, from_attributes=True)


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
