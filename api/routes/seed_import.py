"""The bulk seed import in the API (issue 15, シーズ集): the page's dry run, import and progress, for integrators.

The same reader, plan and job as the page (api/web/seed_import.py). An integrator sends the file again to import
it after the dry run (no server-side upload to confirm); the import is all rows or none and idempotent by external
id, so sending it twice writes nothing twice. Starting an import is a creating route like the others (ApiRoute):
with an Idempotency-Key, a retried request gets the first answer and its job, not a second job.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile, status
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from .. import seed_import_access as who
from ..deps import AccountDep, ServiceDep, SessionDep
from ..errors import ApiError, ErrorDetail, ErrorResponse
from ..idempotency import ApiRoute
from ..models import Account
from ..params import PathId
from ..rate_limits import RATE_LIMITED_RESPONSE, WRITES
from ..seed_import_jobs import ImportJobs, Upload, import_jobs
from ..seed_import_layout import MAX_FILE_BYTES, template_csv, template_xlsx
from ..seed_import_plan import ImportPlan, ImportTargetError, plan_import
from ..seed_import_read import ImportFileError, SourceRow, read_table
from ..seed_import_schemas import SeedImportJobOut, SeedImportPlanOut

router = APIRouter(route_class=ApiRoute, prefix="/seed-imports", tags=["seed-imports"], responses={
    401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
    422: {"model": ErrorResponse}})

FILE = File(description="シーズ集のファイル: CSV（UTF-8・BOM付き UTF-8・cp932）か XLSX。"
                        "列は README の「シーズの一括登録」。")
ORGANISATION = Form(ge=1, description="取り込む大学の組織ID（産学連携窓口のアカウントは自分の大学だけ）。")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def importer(session: SessionDep, account: AccountDep) -> Account:
    """A liaison office or an admin: checked before the file is read, so anyone else gets the 403, not a 422."""
    who.check_importer(session, account)
    return account


Importer = Annotated[Account, Depends(importer)]


@router.get("/template", operation_id="seed_import_template")
def seed_import_template(account: Importer, format: Annotated[
        Literal["csv", "xlsx"], Query(description="ひな形の形式: csv（BOM付き UTF-8）か xlsx。")] = "csv") -> Response:
    """シーズ集のひな形をダウンロードする。列名の行と記入例が1行。XLSX には列の説明のシートも付きます。"""
    body, media = (template_csv(), "text/csv; charset=utf-8") if format == "csv" else (template_xlsx(), XLSX_TYPE)
    return Response(body, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"seeds_template.{format}\"; "
                               f"filename*=UTF-8''{quote('シーズ集_ひな形')}.{format}"})


@router.post("/check", operation_id="check_seed_import", response_model=SeedImportPlanOut,
             dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
async def check_seed_import(session: SessionDep, account: Importer, file: Annotated[UploadFile, FILE],
                            organisation_id: Annotated[int, ORGANISATION]) -> SeedImportPlanOut:
    """シーズ集を確認する（ドライラン）。行ごとに新規・更新・変更なし・取り込めない（理由付き）を返し、何も書き込みません。

    大学の産学連携窓口のアカウントと管理者が使えます。"""
    _, plan = await _checked(session, account, file, organisation_id)
    return SeedImportPlanOut.of(plan)


@router.post("", operation_id="import_seeds", status_code=status.HTTP_202_ACCEPTED, response_model=SeedImportJobOut,
             dependencies=[WRITES], responses=RATE_LIMITED_RESPONSE)
async def import_seeds(request: Request, session: SessionDep, service: ServiceDep, account: Importer,
                       file: Annotated[UploadFile, FILE],
                       organisation_id: Annotated[int, ORGANISATION]) -> SeedImportJobOut:
    """シーズ集を取り込む。すべての行か1行も書かないかの1つのトランザクションで、外部IDで冪等です（同じファイルを
    もう一度送っても何も変わりません）。バックグラウンドのジョブとして始まり、進み具合は GET /seed-imports/{job_id}。

    取り込めない行があれば、何も始めずに 422 と行ごとの理由（details の field が「行番号.列名」）を返します。
    コマンドラインでは matcher-admin import-seeds が同じことをします。"""
    rows, plan = await _checked(session, account, file, organisation_id)
    if not plan.ok:
        raise ApiError(422, "validation_error", "取り込めない行があるため、何も書き込んでいません。", [
            ErrorDetail(field=f"{p.row}.{p.column}", message=p.message) for p in plan.problems()])
    jobs: ImportJobs = import_jobs(request)
    upload = Upload("", account.id or 0, organisation_id, file.filename or "", rows, plan.counts())
    return SeedImportJobOut.of(jobs.start(service, upload))


@router.get("/{job_id}", operation_id="get_seed_import", response_model=SeedImportJobOut)
def get_seed_import(job_id: PathId, request: Request, account: Importer) -> SeedImportJobOut:
    """取り込みのジョブの状態と進み具合を読む（始めたアカウントと管理者だけ）。

    ジョブはデータベースに記録されるので、どのサーバーのプロセスに届いても同じ答えです。取り込んでいたプロセスから
    長く応答がなければ interrupted（中断）になります（何も書き込まれていません）。"""
    return SeedImportJobOut.of(import_jobs(request).find(job_id, account))


def _plan(session: Session, organisation_id: int, data: bytes) -> tuple[list[SourceRow], ImportPlan]:
    rows = read_table(data)
    return rows, plan_import(session, organisation_id, rows)


async def _checked(session: Session, account: Account, file: UploadFile,
                   organisation_id: int) -> tuple[list[SourceRow], ImportPlan]:
    try:
        who.check_target(session, account, organisation_id)
        data = await file.read(MAX_FILE_BYTES + 1)
        return await run_in_threadpool(_plan, session, organisation_id, data)  # seconds at 10^4 rows: off the loop
    except (ImportFileError, ImportTargetError) as e:
        raise ApiError(422, "validation_error", str(e), [ErrorDetail(field="file", message=str(e))]) from e
    finally:
        await file.close()
