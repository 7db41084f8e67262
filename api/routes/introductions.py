"""Introduction requests (紹介依頼) and feedback on a match (issue 15): the rules are in api/introductions.py and
api/feedback.py; the pages (api/web/introductions.py) call the same functions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from .. import feedback, introductions
from ..deps import AccountDep, SessionDep, require_roles
from ..errors import ErrorResponse
from ..idempotency import ApiRoute
from ..introduction_models import (
    FeedbackCreate,
    FeedbackOut,
    IntroductionAnswer,
    IntroductionCreate,
    IntroductionOut,
    IntroductionStatus,
    PartnerOutcome,
)
from ..limits import ID_MAX, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX
from ..models import Account, Role
from ..params import PathId
from ..rate_limits import RATE_LIMITED_RESPONSE, WRITES

router = APIRouter(route_class=ApiRoute, tags=["introductions"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})

Reader = Annotated[Account, require_roles(Role.coordinator, Role.admin)]
Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.post("/introductions", operation_id="request_introduction", status_code=status.HTTP_201_CREATED,
             response_model=IntroductionOut, dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def request_introduction(body: IntroductionCreate, session: SessionDep, account: AccountDep) -> IntroductionOut:
    """照合結果の連携先への紹介を依頼する（ニーズの投稿者）。seed_id はその連携先で一致したシーズで、その大学の
    産学連携窓口と、受け取りを選んだ研究者本人に届く（アプリ内の通知）。連絡先は承諾の後にだけ示す。"""
    return introductions.out(session, account, introductions.create(session, account, body))


@router.get("/introductions", operation_id="list_introductions", response_model=list[IntroductionOut])
def list_introductions(session: SessionDep, account: AccountDep,
                       state: Annotated[IntroductionStatus | None, Query(
                           alias="status", description="この状況の依頼だけ（pending / accepted / declined）")] = None,
                       limit: Limit = PAGE_LIMIT_DEFAULT, offset: Offset = 0) -> list[IntroductionOut]:
    """見られる紹介依頼の一覧（新しい順。連絡先は含まない）: 自分の依頼、窓口・研究者として届いた依頼、
    コーディネーターは担当する地域ブロックの依頼、管理者はすべて。"""
    return introductions.listed(session, account, status=state, limit=limit, offset=offset)


@router.get("/introductions/{request_id}", operation_id="get_introduction", response_model=IntroductionOut)
def get_introduction(request_id: PathId, session: SessionDep, account: AccountDep) -> IntroductionOut:
    """紹介依頼と、その状況。承諾された依頼では、依頼者にだけ連絡先を示す（示すたびに監査記録に残る）。"""
    return introductions.out(session, account, introductions.readable_request(session, account, request_id))


@router.post("/introductions/{request_id}/answer", operation_id="answer_introduction",
             response_model=IntroductionOut, dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
def answer_introduction(request_id: PathId, body: IntroductionAnswer, session: SessionDep,
                        account: AccountDep) -> IntroductionOut:
    """紹介依頼を承諾または辞退する（理由を添えて）。大学の産学連携窓口と、受け取りを選んだ研究者本人だけ。"""
    return introductions.out(session, account, introductions.answer(session, account, request_id, body))


@router.post("/feedback", operation_id="give_feedback", response_model=FeedbackOut, dependencies=[WRITES],
             responses=RATE_LIMITED_RESPONSE)
def give_feedback(body: FeedbackCreate, session: SessionDep, account: AccountDep) -> FeedbackOut:
    """照合結果の連携先1件を「役に立った／役に立たなかった」と評価する（理由は任意。同じ連携先にもう一度送ると
    置き換わる）。順位付けには使わない（ベンチマーク用のラベルとして書き出す）。"""
    return feedback.out(session, feedback.give(session, account, body))


@router.get("/feedback", operation_id="list_feedback", response_model=list[FeedbackOut])
def list_feedback(session: SessionDep, account: AccountDep,
                  need_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
                  limit: Limit = PAGE_LIMIT_DEFAULT, offset: Offset = 0) -> list[FeedbackOut]:
    """評価の一覧: コーディネーターは担当する地域ブロックの評価、管理者はすべて、投稿者は自分の評価。"""
    return feedback.listed(session, account, need_id=need_id, limit=limit, offset=offset)


@router.get("/feedback/outcomes", operation_id="partner_outcomes", response_model=list[PartnerOutcome])
def partner_outcomes(session: SessionDep, account: Reader) -> list[PartnerOutcome]:
    """連携先ごとの集計: 紹介依頼の承諾・辞退・回答待ち・放置（14日以上回答なし）と、評価の「役に立った／
    役に立たなかった」（コーディネーターは担当する地域ブロック、管理者はすべて）。"""
    return feedback.outcomes(session, feedback.reader_region(session, account))
