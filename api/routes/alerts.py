"""Standing alerts (issue 15): the signed-in account's setting, its feed's secret URL, and its notifications as an
Atom feed, by token (`/api/v1/notifications/feed.atom`) or by secret URL (`feed_router`, at `/feeds/…`).
The rules are in api/alert_settings.py, api/alerts.py and api/alert_feed.py; the page /alerts calls the same."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from .. import alert_feed, alert_settings
from ..alert_models import AlertSettingsIn, AlertSettingsOut, FeedUrlOut
from ..deps import AccountDep, SessionDep
from ..errors import ApiError, ErrorResponse
from ..idempotency import ApiRoute
from ..rate_limits import RATE_LIMITED_RESPONSE, WRITES

router = APIRouter(route_class=ApiRoute, tags=["alerts"], responses={
    401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})
ATOM_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"description": "Atom 1.0 のフィード（新しい順に最大50件）",
                       "content": {alert_feed.MEDIA_TYPE: {"schema": {"type": "string"}}}}}


@router.get("/alerts", operation_id="get_alerts", response_model=AlertSettingsOut)
def get_alerts(session: SessionDep, account: AccountDep) -> AlertSettingsOut:
    """自分の「合うニーズ・シーズのお知らせ」の設定（知らせるか、どこまで近ければ知らせるか、フィードの有無）。

    研究者には自分の公開中のシーズに合うニーズが、ニーズの投稿者には自分の受付中のニーズに合うシーズが、
    選んだ近さ以上で現れたときに届きます。メールでは届きません（メールサーバーはありません）。"""
    return alert_settings.settings_out(session, account)


@router.put("/alerts", operation_id="put_alerts", response_model=AlertSettingsOut, dependencies=[WRITES],
            responses=RATE_LIMITED_RESPONSE)
def put_alerts(body: AlertSettingsIn, session: SessionDep, account: AccountDep) -> AlertSettingsOut:
    """お知らせを入れる・切る、知らせる近さ（very_close・close・related）を選ぶ。

    近さは結果の画面の「内容の近さ」と同じ物差し（コサイン類似度）で、とても近い 0.90 以上、近い 0.875 以上、
    関連あり 0.86 以上です。変えた後に書かれたニーズ・シーズから届きます。"""
    return alert_settings.save(session, account, body)


@router.post("/alerts/feed", operation_id="rotate_alert_feed", response_model=FeedUrlOut, dependencies=[WRITES],
             responses=RATE_LIMITED_RESPONSE)
def rotate_alert_feed(request: Request, session: SessionDep, account: AccountDep) -> FeedUrlOut:
    """通知の Atom フィードの秘密の URL を新しく作る（前の URL は使えなくなる）。

    URL はこの応答でだけ返します（サーバーにはハッシュだけを保存）。フィード読みのソフトに登録してください。"""
    return alert_settings.rotate_feed(session, account, str(request.base_url))


@router.get("/notifications/feed.atom", operation_id="notifications_feed", response_class=Response,
            responses=ATOM_RESPONSE)
def notifications_feed(request: Request, session: SessionDep, account: AccountDep) -> Response:
    """自分あての通知の Atom 1.0 フィード（Authorization ヘッダーの API トークンで）。

    各項目はそのページ（ニーズ・シーズ・紹介依頼）にリンクします。読んでも既読にはしません。"""
    return alert_feed.feed_response(session, account, str(request.base_url), str(request.url))


FEED_SECRET = "フィードの秘密（お知らせの設定の画面か POST /api/v1/alerts/feed で作ったもの）"
FeedSecret = Annotated[str, Path(min_length=1, max_length=100, description=FEED_SECRET)]
feed_router = APIRouter(route_class=ApiRoute, tags=["alerts"], responses={
    404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})


# not in the OpenAPI description, which is the API's under /api/v1: this is an address for feed readers (README)
@feed_router.get("/feeds/{secret}.atom", operation_id="secret_feed", response_class=Response,
                 responses=ATOM_RESPONSE, include_in_schema=False)
def secret_feed(secret: FeedSecret, request: Request, session: SessionDep) -> Response:
    """秘密の URL の Atom フィード（ヘッダーを送れないフィード読みのソフト向け。ログイン不要）。

    URL を知っている人は誰でも読めるので、人に渡さないでください。作り直すと前の URL は 404 になります。"""
    account = alert_settings.account_for_feed(session, secret)
    if account is None:
        raise ApiError(404, "not_found", "このフィードの URL は無効です（誤りか、作り直されて使えなくなっています）。")
    return alert_feed.feed_response(session, account, str(request.base_url), str(request.url))
