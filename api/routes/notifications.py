"""In-app notifications (issue 15): the signed-in account's own, and marking them read (api/notifications.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .. import notifications
from ..deps import AccountDep, SessionDep
from ..errors import ErrorResponse
from ..idempotency import ApiRoute
from ..introduction_models import NotificationOut, NotificationPage
from ..limits import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX
from ..params import PathId

router = APIRouter(route_class=ApiRoute, prefix="/notifications", tags=["notifications"], responses={
    401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})


@router.get("", operation_id="list_notifications", response_model=NotificationPage)
def list_notifications(session: SessionDep, account: AccountDep,
                       limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
                       offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> NotificationPage:
    """自分あての通知（新しい順）と未読の数。メールは送らない（メールサーバーはない）。"""
    return notifications.page(session, account, limit=limit, offset=offset)


@router.post("/{notification_id}/read", operation_id="mark_notification_read", response_model=NotificationOut)
def mark_notification_read(notification_id: PathId, session: SessionDep, account: AccountDep) -> NotificationOut:
    """通知を1件既読にする（自分あての通知だけ。他人のものは 404）。"""
    return notifications.mark_read(session, account, notification_id)


@router.post("/read-all", operation_id="mark_all_notifications_read", response_model=int)
def mark_all_notifications_read(session: SessionDep, account: AccountDep) -> int:
    """自分あての未読の通知をすべて既読にし、その件数を返す。"""
    return notifications.mark_all_read(session, account)
