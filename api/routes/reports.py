"""Batch cross-region reports (issue 5): start a job, poll it, download its files. Coordinators and admins only."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import select

from matcher.regions import REGION_ORDER, default_prefectures
from matcher.reports import DEFAULT_UNMET_THRESHOLD

from ..deps import SessionDep, require_roles
from ..errors import ApiError, ErrorResponse, not_found
from ..models import MARKET_AREAS, Account, Role
from ..report_models import ReportJob
from ..reports_jobs import fail_orphans, job_dir, start_job

router = APIRouter(prefix="/reports", tags=["reports"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

Coordinator = Annotated[Account, require_roles(Role.coordinator, Role.admin)]
Format = Literal["html", "xlsx", "csv", "pdf", "json"]
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".csv": "text/csv", ".json": "application/json",
               ".pdf": "application/pdf",
               ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regions: list[str] = Field(default_factory=list, max_length=8, description="地域ブロック（北海道〜九州）")
    prefectures: list[str] = Field(default_factory=list, max_length=47, description="都道府県（コードまたは名称）")
    market_areas: list[str] = Field(default_factory=list, max_length=9, description="市場領域 M1〜M9")
    since: date | None = Field(default=None, description="この日以降に登録されたニーズ")
    until: date | None = Field(default=None, description="この日より前に登録されたニーズ")
    formats: list[Format] = Field(default_factory=lambda: ["html", "xlsx", "csv", "json"], min_length=1, max_length=5)
    top_partners: int = Field(default=5, ge=1, le=20)
    flow_partners: int = Field(default=3, ge=1, le=20)
    unmet_threshold: float = Field(default=DEFAULT_UNMET_THRESHOLD, ge=0.0, le=1.0, description="最良シーズの内容の近さ（コサイン）がこれ未満なら未充足")
    assignment_cap: int | None = Field(default=None, ge=1, le=10_000, description="上限付き割り当て: 1大学あたりのニーズ数")
    csv_encoding: Literal["utf-8-sig", "cp932"] = "utf-8-sig"
    mode: Literal["dense", "hybrid"] = "dense"

    @field_validator("regions")
    @classmethod
    def _regions(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in REGION_ORDER]
        if unknown:
            raise ValueError(f"地域ブロック {unknown} は使えません。{'・'.join(REGION_ORDER)}のいずれかです。")
        return values

    @field_validator("prefectures")
    @classmethod
    def _prefectures(cls, values: list[str]) -> list[str]:
        return [default_prefectures().get(v).code for v in values]

    @field_validator("market_areas")
    @classmethod
    def _areas(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in MARKET_AREAS]
        if unknown:
            raise ValueError(f"市場領域 {unknown} は使えません。M1〜M9 で指定してください。")
        return values


class ReportFile(BaseModel):
    name: str
    url: str


class ReportJobOut(BaseModel):
    id: int
    status: Literal["queued", "running", "succeeded", "failed"]
    stage: str | None
    done: int
    total: int
    message: str | None
    params: dict
    summary: dict
    files: list[ReportFile]
    created_at: str
    finished_at: str | None


def _out(request: Request, job: ReportJob) -> ReportJobOut:
    base = str(request.url_for("download_report_file", job_id=job.id, name="_")).rsplit("/", 1)[0]
    return ReportJobOut(id=job.id, status=job.status, stage=job.stage, done=job.done, total=job.total,
                        message=job.message, params=job.params, summary=job.summary,
                        files=[ReportFile(name=f, url=f"{base}/{f}") for f in job.files],
                        created_at=job.created_at.isoformat(),
                        finished_at=job.finished_at.isoformat() if job.finished_at else None)


def _job(session, job_id: int) -> ReportJob:
    fail_orphans(session)
    job = session.get(ReportJob, job_id)
    if job is None:
        raise not_found("レポート", job_id)
    session.refresh(job)
    return job


@router.post("", operation_id="start_report", status_code=status.HTTP_202_ACCEPTED, response_model=ReportJobOut)
def start_report(body: ReportRequest, request: Request, session: SessionDep, account: Coordinator) -> ReportJobOut:
    """地域を越えた連携のレポートを作るジョブを始める（進み具合は GET /reports/{id} で）。"""
    fail_orphans(session)
    job = ReportJob(created_by=account.id, params=body.model_dump(mode="json"))
    session.add(job)
    session.commit()
    session.refresh(job)
    settings = request.app.state.settings
    start_job(request.app.state.db, request.app.state.service, settings.data_dir, job.id)
    return _out(request, job)


@router.get("", operation_id="list_reports", response_model=list[ReportJobOut])
def list_reports(request: Request, session: SessionDep, account: Coordinator) -> list[ReportJobOut]:
    """レポートのジョブの一覧（新しい順、最大100件）。"""
    fail_orphans(session)
    rows = session.exec(select(ReportJob).order_by(ReportJob.id.desc()).limit(100)).all()
    return [_out(request, j) for j in rows]


@router.get("/{job_id}", operation_id="get_report", response_model=ReportJobOut)
def get_report(job_id: int, request: Request, session: SessionDep, account: Coordinator) -> ReportJobOut:
    """ジョブの状態（queued・running・succeeded・failed）、進み具合、出力ファイル。"""
    return _out(request, _job(session, job_id))


@router.get("/{job_id}/files/{name}", operation_id="download_report_file", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_report_file(job_id: int, name: str, request: Request, session: SessionDep,
                         account: Coordinator) -> FileResponse:
    """出力ファイルをダウンロードする（report.html は単体で開ける HTML）。"""
    job = _job(session, job_id)
    if name not in job.files:  # only the job's own files: no path from the request reaches the disk
        raise ApiError(404, "not_found", f"ファイル「{name}」はこのレポートにありません。")
    path = job_dir(request.app.state.settings.data_dir, job_id) / name
    if not path.is_file():
        raise ApiError(404, "not_found", f"ファイル「{name}」が見つかりません（削除された可能性があります）。")
    suffix = path.suffix.lower()
    disposition = "inline" if suffix in (".html", ".pdf") else "attachment"
    return FileResponse(path, media_type=MEDIA_TYPES.get(suffix, "application/octet-stream"), filename=name,
                        content_disposition_type=disposition)
