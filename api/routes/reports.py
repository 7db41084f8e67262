"""Batch cross-region reports (issue 5): start a job, poll it, download its files. Coordinators and admins only."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse

from .. import reports_jobs
from ..deps import ServiceDep, SessionDep, require_roles
from ..errors import ErrorResponse
from ..idempotency import ApiRoute
from ..models import Account, Role, stored_id
from ..params import PathId
from ..rate_limits import too_many
from ..report_files import download_names
from ..report_models import ReportJob
from ..report_progress import remaining_text
from ..schemas import ReportFile, ReportJobOut, ReportRequest

router = APIRouter(route_class=ApiRoute, prefix="/reports", tags=["reports"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

Coordinator = Annotated[Account, require_roles(Role.coordinator, Role.admin)]


def _out(request: Request, job: ReportJob) -> ReportJobOut:
    base = str(request.url_for("download_report_file", job_id=job.id, name="_")).rsplit("/", 1)[0]
    made_at = job.finished_at or job.created_at
    left = reports_jobs.remaining_s(job)
    return ReportJobOut(id=job.id, status=job.status, stage=job.stage, done=job.done, total=job.total,
                        message=job.message, params=job.params, summary=job.summary,
                        files=[ReportFile(name=f, url=f"{base}/{f}",
                                          download_name=download_names(stored_id(job), job.params, made_at, f)[0])
                               for f in job.files],
                        created_at=_utc_iso(job.created_at),
                        finished_at=_utc_iso(job.finished_at) if job.finished_at else None,
                        remaining_s=None if left is None else math.ceil(left),
                        remaining=None if left is None else remaining_text(left))


def _utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with its offset, as the field descriptions say (SQLite hands back naive UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


@router.post("", operation_id="start_report", status_code=status.HTTP_202_ACCEPTED, response_model=ReportJobOut,
             responses=too_many("作成中・待機中のジョブが上限に達しています。Retry-After 秒後にお試しください。"))
def start_report(body: ReportRequest, request: Request, session: SessionDep, service: ServiceDep,
                 account: Coordinator) -> ReportJobOut:
    """地域を越えた連携のレポートを作るジョブを始める（進み具合は GET /reports/{id} で）。"""
    job = reports_jobs.start_report(session, account, body, db=request.app.state.db, service=service,
                                    data_dir=request.app.state.settings.data_dir,
                                    queue=request.app.state.report_queue)
    return _out(request, job)


@router.get("", operation_id="list_reports", response_model=list[ReportJobOut])
def list_reports(request: Request, session: SessionDep, account: Coordinator) -> list[ReportJobOut]:
    """レポートのジョブの一覧（新しい順、最大100件）。"""
    return [_out(request, j) for j in reports_jobs.recent_jobs(session, limit=100)]


@router.get("/{job_id}", operation_id="get_report", response_model=ReportJobOut)
def get_report(job_id: PathId, request: Request, session: SessionDep, account: Coordinator) -> ReportJobOut:
    """ジョブの状態（queued・running・succeeded・failed）、進み具合、出力ファイル。"""
    return _out(request, reports_jobs.find_job(session, job_id))


@router.get("/{job_id}/files/{name}", operation_id="download_report_file", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_report_file(job_id: PathId, name: str, request: Request, session: SessionDep,
                         account: Coordinator) -> FileResponse:
    """出力ファイルをダウンロードする（report.html は単体で開ける HTML）。"""
    job = reports_jobs.find_job(session, job_id)
    return reports_jobs.download(request.app.state.settings.data_dir, job, name, session=session, reader=account)
