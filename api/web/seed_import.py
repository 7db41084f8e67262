"""A liaison office's bulk import of its university's シーズ集: the layout and templates, the dry run, the import.

1. `GET /seed-import`: the column layout (api/seed_import_layout.py) and the templates to download;
2. `POST /seed-import/check`: the uploaded file checked row by row against the database (the dry run): what
   would be created, updated, left unchanged or rejected, and why. No seed is written; the checked file is
   kept in the database (api/seed_import_jobs.py) for the office to confirm, on whichever worker;
3. `POST /seed-import/run`: the confirmed import starts as a background job (all rows or none); the job's page
   polls `/seed-import/jobs/{id}/status` every 2 seconds, as the report page does, answered from the job's row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from .. import seed_import_access as who
from ..deps import ServiceDep, SessionDep
from ..errors import ApiError
from ..models import Role
from ..params import PathId
from ..seed_import_jobs import STATUS_NAMES, ImportJob, ImportJobs, import_jobs
from ..seed_import_layout import COLUMNS, LIST_SEPARATORS, MAX_FILE_BYTES, MAX_ROWS, template_csv, template_xlsx
from ..seed_import_plan import ACTION_NAMES, ImportPlan, ImportTargetError, plan_import, university
from ..seed_import_read import ImportFileError, read_table
from .deps import PAGE_WRITES, SignedIn
from .forms import Form, check_csrf, text
from .render import redirect, render
from .routing import page_router

router = page_router()
Jobs = Annotated[ImportJobs, Depends(import_jobs)]
JST = ZoneInfo("Asia/Tokyo")
TEMPLATE_NAME = "シーズ集_ひな形"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def page_context(session: SessionDep, account: SignedIn, **extra: Any) -> dict[str, Any]:
    return {"columns": COLUMNS, "separators": "".join(LIST_SEPARATORS), "max_rows": MAX_ROWS,
            "max_mb": MAX_FILE_BYTES // (1024 * 1024), "targets": who.target_choices(session, account),
            "action_names": ACTION_NAMES, **extra}


@router.get("/seed-import")
def seed_import_form(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    who.check_importer(session, account)
    return render(request, "seed_import.html", page_context(session, account))


@router.get("/seed-import/template")
def seed_import_template(session: SessionDep, account: SignedIn,
                         format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv") -> Response:
    who.check_importer(session, account)
    body, media = (template_csv(), "text/csv; charset=utf-8") if format == "csv" else (template_xlsx(), XLSX_TYPE)
    return Response(body, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"seeds_template.{format}\"; "
                               f"filename*=UTF-8''{quote(TEMPLATE_NAME)}.{format}"})


@router.post("/seed-import/check", dependencies=[PAGE_WRITES])
async def seed_import_check(request: Request, session: SessionDep, account: SignedIn, form: Form,
                            jobs: Jobs) -> HTMLResponse:
    """The dry run: nothing is written."""
    upload = form.get("file")
    try:  # the uploaded file's spooled copy is closed whatever the answer, a refusal included
        data = await upload.read(MAX_FILE_BYTES + 1) if isinstance(upload, UploadFile) else b""
        filename = upload.filename or "" if isinstance(upload, UploadFile) else ""
        # reading and checking 10^4 rows takes a second or two: off the event loop, as a plain route would be
        return await run_in_threadpool(_check, request, session, account, form, jobs, data, filename)
    finally:
        if isinstance(upload, UploadFile):
            await upload.close()


def _check(request: Request, session: SessionDep, account: SignedIn, form: FormData, jobs: ImportJobs,
           data: bytes, filename: str) -> HTMLResponse:
    check_csrf(request, form)
    who.check_importer(session, account)
    organisation_id = _target(session, account, text(form, "organisation_id"))
    if not filename:
        return _refused(request, session, account, "取り込むファイル（CSV か XLSX）を選んでください。", organisation_id)
    try:
        rows = read_table(data)
        plan = plan_import(session, organisation_id, rows)
    except (ImportFileError, ImportTargetError) as e:
        return _refused(request, session, account, str(e), organisation_id)
    kept = jobs.keep(account, organisation_id, filename, rows, plan) if plan.ok else None
    return render(request, "seed_import.html", page_context(
        session, account, plan=plan, report=report_view(plan), upload=kept, filename=filename,
        university=university(session, organisation_id), chosen=organisation_id))


@router.post("/seed-import/run", dependencies=[PAGE_WRITES])
def seed_import_run(request: Request, session: SessionDep, service: ServiceDep, account: SignedIn, form: Form,
                    jobs: Jobs) -> Response:
    check_csrf(request, form)
    who.check_importer(session, account)
    upload_id = text(form, "upload")
    if not upload_id:
        raise ApiError(422, "validation_error", "確認したファイルが指定されていません。"
                       "先にファイルを確認してください。")
    upload = jobs.take(upload_id, account)
    who.check_target(session, account, upload.organisation_id)
    job = jobs.start(service, upload)
    return redirect(request, f"/seed-import/jobs/{job.id}")


@router.get("/seed-import/jobs/{job_id}")
def seed_import_job(job_id: PathId, request: Request, session: SessionDep, account: SignedIn,
                    jobs: Jobs) -> HTMLResponse:
    who.check_importer(session, account)
    job = jobs.find(job_id, account)
    return render(request, "seed_import_job.html", {"job": job_view(job), "university": university(
        session, job.organisation_id)})


@router.get("/seed-import/jobs/{job_id}/status")
def seed_import_status(job_id: PathId, request: Request, session: SessionDep, account: SignedIn,
                       jobs: Jobs) -> HTMLResponse:
    who.check_importer(session, account)
    return render(request, "_seed_import_status.html", {"job": job_view(jobs.find(job_id, account))},
                  headers={"Cache-Control": "no-store"})


# ---- helpers -----------------------------------------------------------------------------------------
def _target(session: SessionDep, account: SignedIn, chosen: str) -> int:
    """The university to import into: an office's own; the one an admin chose."""
    if account.role != Role.admin:
        assert account.organisation_id is not None  # check_importer: an office belongs to its university
        return account.organisation_id
    if not chosen.isdigit():
        raise ApiError(422, "validation_error", "取り込む大学を選んでください。")
    who.check_target(session, account, int(chosen))
    return int(chosen)


def _refused(request: Request, session: SessionDep, account: SignedIn, message: str, chosen: int) -> HTMLResponse:
    return render(request, "seed_import.html", page_context(session, account, file_error=message, chosen=chosen),
                  status=422)


def report_view(plan: ImportPlan) -> list[dict[str, Any]]:
    """The dry run's rows: refused rows first (what the office must fix), then in file order."""
    rows = sorted(plan.rows, key=lambda r: (r.action != "rejected", r.row))
    return [{"row": r.row, "external_id": r.external_id, "title": r.title, "action": r.action,
             "action_name": ACTION_NAMES[r.action], "changes": r.changes, "seed_id": r.seed_id,
             "problems": [(p.column, p.message) for p in r.problems]} for r in rows]


def _jst(moment: datetime | None) -> str | None:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def job_view(job: ImportJob) -> dict[str, Any]:
    """What the job's page and its status fragment show."""
    percent = round(100 * job.done / job.total) if job.total else (100 if job.status == "succeeded" else 0)
    return {"id": job.id, "status": job.status, "status_name": STATUS_NAMES[job.status], "active": job.active,
            "stage": job.stage, "done": job.done, "total": job.total, "percent": percent, "rows": job.rows,
            "filename": job.filename, "counts": job.counts, "encoded": job.encoded, "reused": job.reused,
            "message": job.message, "problems": job.problems, "created": _jst(job.created_at),
            "finished": _jst(job.finished_at), "action_names": ACTION_NAMES}
