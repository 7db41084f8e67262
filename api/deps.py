"""Request dependencies: the database session, the signed-in account, the engine service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from .auth import account_for_token
from .errors import ApiError, forbidden
from .models import Account, Role
from .service import MatchService

_bearer = HTTPBearer(auto_error=False, description="APIトークン。`matcher-admin create-account` がアカウントと最初の"
                     "トークンを発行し、`matcher-admin create-token <アカウントID>` が既存のアカウントに追加する")


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.db) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_account(session: SessionDep,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Account:
    if credentials is None:
        raise ApiError(401, "unauthorized",
                       "認証が必要です。有効なAPIトークンを Authorization: Bearer で送ってください。")
    account = account_for_token(session, credentials.credentials)
    if account is None:
        raise ApiError(401, "unauthorized", "APIトークンが無効です（誤り・失効・停止のいずれか）。")
    return account


AccountDep = Annotated[Account, Depends(current_account)]


def require_roles(*roles: Role) -> Any:
    def check(account: AccountDep) -> Account:
        if account.role not in roles:
            raise forbidden()
        return account

    return Depends(check)


def get_service(request: Request) -> MatchService:
    """The engine service the lifespan started; every write tells it through api/usecases.py."""
    service: MatchService = request.app.state.service
    return service


ServiceDep = Annotated[MatchService, Depends(get_service)]
