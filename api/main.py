"""The FastAPI application: `create_app()` builds it; its lifespan loads the model and indexes once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session

from . import openapi_docs, web
from .audit import AuditRoute
from .db import make_engine, migrate
from .docs import install_docs
from .errors import install_error_handlers
from .last_resort import LastResort
from .limits_middleware import BodySizeLimit
from .rate_limits import RateLimits
from .report_ray import ReportCluster
from .reports_jobs import ReportQueue, fail_orphans, purge_expired
from .routes import admin, alerts, health, introductions, needs, notifications, people, reports, seed_import, seeds
from .security_headers import SecurityHeaders
from .settings import Settings, get_settings

if TYPE_CHECKING:
    from matcher.embed import TextEncoder

API_PREFIX = "/api/v1"

DESCRIPTION = """
産学官連携のニーズ・シーズ マッチング API。

- 自治体・中小企業がニーズを投稿すると、連携先の大学・研究者・シーズが順位付きで返ります。
- 研究者は自分のシーズを登録・更新・取り下げでき、シーズに合うニーズを見られます。
- 紹介依頼: 投稿者が連携先の候補への紹介を大学の産学連携窓口に頼み、窓口が承諾・辞退します。研究者の連絡先は
  承諾の後にだけ依頼者に示し、示すたびに監査記録に残ります。照合結果への評価は順位付けに使いません。
- 通知はアプリ内と Atom フィードだけです（`/notifications`、`GET /notifications/feed.atom`。
  メールサーバーはなく、メールは送りません）。
- 合うニーズ・シーズのお知らせ: `PUT /alerts` で、自分のシーズ・ニーズに選んだ近さ以上で合うものが
  現れたときに通知を受けます。
- 認証: `Authorization: Bearer <APIトークン>`（`matcher-admin create-account` で発行）。
- エラーはすべて `{"error": {"code", "message", "details"}}` の形で、message は日本語です。
- 上限: タイトル200文字、本文10,000文字、top_k 50、一覧の limit 200、リクエスト本文 256 KiB（超えると 413）。
- 回数の上限: 照合と書き込み（登録・変更・取り下げ）はアカウントごとに回数が決まっていて、超えると 429 と
  `Retry-After`（秒）が返ります。レポートのジョブも同時に作成・待機できる数に上限があり、超えると同じく 429 です。
"""


def create_app(settings: Settings | None = None, *, encoder: TextEncoder | None = None) -> FastAPI:
    """Build the app. `encoder` lets tests share one loaded model across apps."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from .demo import load_demo
        from .follower import IndexFollower
        from .index_upkeep import IndexUpkeep
        from .service import MatchService

        db = make_engine(settings.sqlalchemy_url)
        migrate(db)
        app.state.db = db
        with Session(db) as session:
            fail_orphans(session)  # a report job cut off by the last shutdown is failed, never left hanging
            purge_expired(session, settings.data_dir, settings.report_retention_days)  # report files kept N days
        if settings.load_demo:
            with Session(db) as session:
                load_demo(session, settings.corpus_dir)
        model = encoder
        if model is None:
            from matcher.embed import Encoder

            model = Encoder(settings.model_dir, threads=settings.threads, backend=settings.encoder_backend)
        with Session(db) as session:
            # where the log stands is read before the index is rebuilt from the tables, so nothing that
            # commits in between is lost (api/follower.py)
            starting_point = IndexFollower.starting_point(session)
            service = MatchService.start(session, model, settings.resolved_index_dir, ann=settings.ann_settings)
        service.follower = follower = IndexFollower(db, service, starting_point,
                                                    poll_interval=settings.follow_interval,
                                                    listen=settings.follow_notify)
        follower.catch_up()
        follower.start()
        rebuilder = service.start_ann_rebuilds(retry_after=settings.ann_retry_after_s)  # api/ann_rebuild.py
        upkeep = IndexUpkeep(service, follower, interval=settings.snapshot_interval,
                             every_changes=settings.snapshot_every_changes)
        upkeep.start()
        app.state.service, app.state.follower = service, follower
        yield
        follower.stop()
        rebuilder.stop()
        upkeep.stop()
        app.state.report_queue.cluster.close()  # the sharded jobs' Ray session, if one was opened
        db.dispose()

    openapi_url = "/openapi.json" if settings.docs_enabled else None  # MATCHER_DOCS_ENABLED=false: no docs at all
    app = FastAPI(title="産学官連携 ニーズ・シーズ マッチング API", version="1.0.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=openapi_url)
    app.state.settings = settings
    app.state.rate_limits = RateLimits(settings)  # per account, in this process (api/rate_limits.py)
    # MATCHER_REPORT_SHARDS > 1: the jobs search on Ray, in one session opened by the first (api/report_ray.py)
    cluster = ReportCluster(settings.report_shards, settings.ray_address or None)
    app.state.report_queue = ReportQueue(settings.report_jobs_running, settings.report_jobs_waiting,
                                         settings.report_retention_days, cluster)
    install_error_handlers(app, html_page=web.error_response)  # unknown page addresses get a Japanese page
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(LastResort, html_page=web.error_response)  # outside BodySizeLimit, which raises its own 413
    app.add_middleware(AuditRoute)  # names the request in the audit log's rows (api/audit.py)
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure is True)  # outermost: on every answer

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(needs.router)
    api.include_router(seeds.router)
    api.include_router(seed_import.router)  # issue 15: a liaison office's シーズ集
    api.include_router(people.router)
    api.include_router(reports.router)
    api.include_router(admin.router)
    api.include_router(introductions.router)
    api.include_router(notifications.router)
    api.include_router(alerts.router)  # issue 15: standing alerts and the notifications' Atom feed
    app.include_router(api)
    app.include_router(alerts.feed_router)  # the secret feed URL, outside /api/v1: a feed reader sends no token
    app.include_router(health.router)
    web.include_pages(app)  # the Japanese web pages
    if openapi_url is not None:
        openapi_docs.install(app)  # Japanese summaries, descriptions and examples for every operation and field
        install_docs(app, openapi_url)  # Swagger UI and ReDoc from local assets
    app.mount("/static", StaticFiles(directory=Path(__file__).resolve().parent / "static"), name="static")
    return app
