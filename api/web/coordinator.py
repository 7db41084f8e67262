"""Coordinators and admins: cross-region reports (issue 5): start one, watch its progress, open its files.

The form is validated by the API's own ReportRequest, and the job is started, read and downloaded through
the same functions as the API's (api/reports_jobs.py), so the page can do exactly what the API allows a
coordinator, with the cookie sign-in in place of the bearer token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from matcher.jst import jst_text
from matcher.market_areas import market_area_choices
from matcher.rank import SORTS
from matcher.regions import REGION_ORDER
from matcher.reports import DEFAULT_UNMET_THRESHOLD, describe_scope, unmet_rule

from .. import report_outcomes, reports_jobs
from ..deps import ServiceDep, SessionDep
from ..errors import RateLimited
from ..models import Account, Role, stored_id
from ..params import PathId
from ..report_files import download_names
from ..report_models import ReportJob
from ..report_progress import remaining_text
from ..schemas import ReportRequest
from . import labels
from .deps import SignedIn, require
from .forms import REPORT_OPTIONAL, Form, Values, check_csrf, report_form_errors, report_values, without_empty
from .render import redirect, render
from .routing import page_router

router = page_router()

COORDINATORS = (Role.coordinator, Role.admin)
JOBS_LISTED = 30


def report_defaults() -> Values:
    return {"regions": [], "market_areas": [], "since": "", "until": "", "formats": ["html"],
            "unmet_threshold": str(DEFAULT_UNMET_THRESHOLD), "assignment_cap": "", "csv_encoding": "utf-8-sig",
            "sort": "overall"}


def coordinator_context(session: Session, reader: Account, values: Values, errors: dict[str, str]) -> dict[str, Any]:
    jobs = [job_view(j, report_outcomes.refusal(session, reader, j))
            for j in reports_jobs.recent_jobs(session, limit=JOBS_LISTED)]
    return {"values": values, "errors": errors, "labels": labels.REPORT_LABELS, "regions": REGION_ORDER,
            "market_areas": market_area_choices(), "formats": labels.REPORT_FORMATS,
            "csv_encodings": labels.CSV_ENCODINGS, "sorts": SORTS, "jobs": jobs,
            "default_unmet_rule": unmet_rule(DEFAULT_UNMET_THRESHOLD)}


def _file_view(job: ReportJob, name: str) -> dict[str, Any]:
    """A file as the page links it: the plain name in the URL, the download named after the job's scope and day."""
    label = labels.FILE_LABELS.get(name, f"CSV: {name}" if name.endswith(".csv") else name)
    download = download_names(stored_id(job), job.params, job.finished_at or job.created_at, name)[0]
    return {"name": name, "label": label, "url": f"/coordinator/reports/{stored_id(job)}/files/{quote(name)}",
            "html": name.endswith(".html"), "download_name": download}


def _remaining(job: ReportJob) -> str | None:
    left = reports_jobs.remaining_s(job)
    return None if left is None else remaining_text(left)


def _file_order(file: dict[str, Any]) -> tuple[bool, bool, bool, str]:
    """The HTML report first, then PDF and Excel, then the CSV tables by name."""
    return not file["html"], file["name"] != "report.pdf", file["name"] != "report.xlsx", file["name"]


def job_view(job: ReportJob, locked: str | None = None) -> dict[str, Any]:
    """What the templates show of a job; `locked`: why the reader may not open its files (report_outcomes.refusal),
    shown instead of the links."""
    percent = round(100 * job.done / job.total) if job.total else (100 if job.status == "succeeded" else 0)
    files = [] if locked else sorted((_file_view(job, name) for name in job.files), key=_file_order)
    return {"id": job.id, "status": job.status, "status_name": labels.JOB_STATUS_NAMES.get(job.status, job.status),
            "stage": job.stage, "done": job.done, "total": job.total, "percent": percent, "message": job.message,
            "summary": job.summary, "files": files, "scope": describe_scope(reports_jobs.report_scope(job.params)),
            "params": job.params, "remaining": _remaining(job),
            "unmet_rule": unmet_rule(job.params.get("unmet_threshold", DEFAULT_UNMET_THRESHOLD)),
            "formats": [labels.REPORT_FORMATS.get(f, f).split("（")[0] for f in job.params.get("formats", [])],
            "created": jst_text(job.created_at), "finished": jst_text(job.finished_at),
            "active": job.status in ("queued", "running"), "locked": locked,
            "html_file": next((f for f in files if f["name"] == "report.html"), None)}


def validated_request(values: Values) -> tuple[ReportRequest | None, dict[str, str]]:
    """The form as the API's ReportRequest, or the errors to show by field."""
    try:
        body = ReportRequest.model_validate(without_empty(values, *REPORT_OPTIONAL))
    except ValidationError as exc:
        return None, report_form_errors(exc)
    if body.since and body.until and body.until <= body.since:
        return None, {"until": labels.PERIOD_BACKWARDS}
    return body, {}


@router.get("/coordinator")
def coordinator(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    require(account, *COORDINATORS, message=labels.COORDINATOR_ONLY)
    return render(request, "coordinator.html", coordinator_context(session, account, report_defaults(), {}))


@router.post("/coordinator/reports")
def coordinator_start_report(request: Request, session: SessionDep, service: ServiceDep, account: SignedIn,
                             form: Form) -> Response:
    check_csrf(request, form)
    require(account, *COORDINATORS, message=labels.COORDINATOR_ONLY)
    values = report_values(form)
    body, errors = validated_request(values)
    if body is None:
        return render(request, "coordinator.html", coordinator_context(session, account, values, errors), status=422)
    try:
        job = reports_jobs.start_report(session, account, body, db=request.app.state.db, service=service,
                                        data_dir=request.app.state.settings.data_dir,
                                        queue=request.app.state.report_queue)
    except RateLimited as full:  # the queue is full: the same form, as filled in, with the reason above it
        ctx = coordinator_context(session, account, values, {}) | {"busy": full.message}
        return render(request, "coordinator.html", ctx, status=full.status, headers=full.headers)
    return redirect(request, f"/coordinator/reports/{job.id}")


@router.get("/coordinator/reports/{job_id}")
def coordinator_report(job_id: PathId, request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    require(account, *COORDINATORS, message=labels.COORDINATOR_ONLY)
    return render(request, "coordinator_report.html", {"job": _job_for(session, account, job_id)})


@router.get("/coordinator/reports/{job_id}/status")
def coordinator_report_status(job_id: PathId, request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    """The job's state alone, polled by htmx every 2 s while it is queued or running."""
    require(account, *COORDINATORS, message=labels.COORDINATOR_ONLY)
    return render(request, "_report_status.html", {"job": _job_for(session, account, job_id)},
                  headers={"Cache-Control": "no-store"})


def _job_for(session: Session, reader: Account, job_id: int) -> dict[str, Any]:
    job = reports_jobs.find_job(session, job_id)
    return job_view(job, report_outcomes.refusal(session, reader, job))


@router.get("/coordinator/reports/{job_id}/files/{name}")
def coordinator_report_file(job_id: PathId, name: str, request: Request, session: SessionDep,
                            account: SignedIn) -> FileResponse:
    """A file of the job for the signed-in coordinator: the API's own download (only names in job.files)."""
    require(account, *COORDINATORS, message=labels.COORDINATOR_ONLY)
    # the same answer as the API's, headers included (CSP of a report: api/security_headers.REPORT_FILE_HEADERS)
    return reports_jobs.download(request.app.state.settings.data_dir, reports_jobs.find_job(session, job_id), name,
                                 session=session, reader=account)
