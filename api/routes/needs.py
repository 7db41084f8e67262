"""Needs: post (and get partners at once), list and search, read, change, withdraw and re-open, re-run the match
with filters, and export the partners as CSV or XLSX."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import Response

from .. import access, queries, usecases
from ..deps import AccountDep, ServiceDep, SessionDep, require_roles
from ..errors import ErrorResponse
from ..idempotency import ApiRoute
from ..limits import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX
from ..models import Account, NeedCreate, NeedPublic, NeedUpdate, Role
from ..need_export import MEDIA_TYPES, ExportFormat, export_response
from ..need_search import NeedSearch
from ..params import PathId
from ..present import need_public
from ..rate_limits import MATCHES, RATE_LIMITED_RESPONSE, WRITES
from ..schemas import MatchOptions, MatchOut, Page

router = APIRouter(route_class=ApiRoute, prefix="/needs", tags=["needs"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

Poster = Annotated[Account, require_roles(Role.poster, Role.admin)]


class NeedCreated(NeedPublic):
    match: MatchOut


@router.post("", operation_id="create_need", status_code=status.HTTP_201_CREATED, response_model=NeedCreated,
             dependencies=[MATCHES, WRITES], responses=RATE_LIMITED_RESPONSE)  # a write that matches at once
def create_need(body: NeedCreate, session: SessionDep, service: ServiceDep, account: Poster) -> NeedCreated:
    """ニーズを投稿し、その場で連携先候補（大学）を受け取る。"""
    need = usecases.create_need(session, service, account, body)
    match = queries.match_need(session, service, account, need, MatchOptions())
    return NeedCreated(**need_public(session, need).model_dump(), match=match)


@router.get("", operation_id="list_needs", response_model=Page[NeedPublic])
def list_needs(session: SessionDep, account: AccountDep,
               limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
               mine: bool = False, search: Annotated[NeedSearch, Query()] = NeedSearch()) -> Page[NeedPublic]:
    """読めるニーズの一覧（公開ニーズと、自分の非公開ニーズ）。新しい順。

    q（キーワード: 空白で区切った語をすべて含む）と、都道府県・地域・市場領域・投稿者の種類・投稿日（日本時間）で
    絞り込める。mine=true で自分のニーズ（取り下げ済みを含む）。"""
    return queries.list_needs(session, account, limit=limit, offset=offset, mine=mine, search=search)


@router.get("/{need_id}", operation_id="get_need", response_model=NeedPublic)
def get_need(need_id: PathId, session: SessionDep, account: AccountDep) -> NeedPublic:
    """ニーズ1件。公開ニーズは誰でも、非公開ニーズは投稿者・コーディネーター・管理者だけが読める（ほかは 404）。"""
    return need_public(session, access.readable_need(session, account, need_id))


@router.patch("/{need_id}", operation_id="update_need", response_model=NeedPublic, dependencies=[WRITES],
              responses=RATE_LIMITED_RESPONSE)
def update_need(need_id: PathId, body: NeedUpdate, session: SessionDep, service: ServiceDep,
                account: AccountDep) -> NeedPublic:
    """ニーズを変更する（投稿者本人・管理者）。送った項目だけが変わる。本文が変われば照合し直し、変わらなければ
    埋め込みもしない。"""
    return need_public(session, usecases.update_need(session, service, account, need_id, body))


@router.delete("/{need_id}", operation_id="withdraw_need", response_model=NeedPublic, dependencies=[WRITES],
               responses=RATE_LIMITED_RESPONSE)
def withdraw_need(need_id: PathId, session: SessionDep, service: ServiceDep, account: AccountDep) -> NeedPublic:
    """ニーズを取り下げる（記録は残し、照合の対象から外す）。"""
    return need_public(session, usecases.withdraw_need(session, service, account, need_id))


@router.post("/{need_id}/reopen", operation_id="reopen_need", response_model=NeedPublic, dependencies=[WRITES],
             responses={**RATE_LIMITED_RESPONSE, 409: {"model": ErrorResponse}})
def reopen_need(need_id: PathId, session: SessionDep, service: ServiceDep, account: AccountDep) -> NeedPublic:
    """取り下げたニーズを再開する（投稿者本人・管理者）。一覧と照合の対象に戻る。取り下げていなければ 409。"""
    return need_public(session, usecases.reopen_need(session, service, account, need_id))


@router.post("/{need_id}/matches", operation_id="match_need", response_model=MatchOut, dependencies=[MATCHES],
             responses=RATE_LIMITED_RESPONSE)
def match_need(need_id: PathId, session: SessionDep, service: ServiceDep, account: AccountDep,
               options: MatchOptions | None = None) -> MatchOut:
    """ニーズの照合を条件（件数・範囲・単位・並べ替え・地域・市場領域）を変えて再実行する。

    並べ替え（sort）: overall（総合、既定）か content（内容重視: 最も近いシーズ1件だけ）。どちらでも各候補の
    signals に「内容の近さ」と「実績・体制」（登録シーズの数。score には含まない）を示す。"""
    need = access.readable_need(session, account, need_id)
    return queries.match_need(session, service, account, need, options or MatchOptions())


@router.post("/{need_id}/matches/export", operation_id="export_need_matches", response_class=Response,
             dependencies=[MATCHES], responses={**RATE_LIMITED_RESPONSE, 200: {
                 "description": "連携先候補のファイル（CSV は BOM 付き UTF-8）",
                 "content": {MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
                             MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}})
def export_need_matches(need_id: PathId, session: SessionDep, service: ServiceDep, account: AccountDep,
                        format: Annotated[ExportFormat, Query(description="csv か xlsx")] = "csv",
                        options: MatchOptions | None = None) -> Response:
    """照合の結果を CSV（BOM 付き UTF-8）か XLSX で書き出す。

    条件（options）は POST /needs/{id}/matches と同じで、同じ候補が同じ順に並ぶ。研究者の連絡先は、
    照合の結果と同じく、読み手に見せてよい項目だけを含む。ファイル名はニーズの ID と日付（日本時間）。"""
    need = access.readable_need(session, account, need_id)
    chosen = options or MatchOptions()
    return export_response(need, chosen, queries.match_need(session, service, account, need, chosen), format)
