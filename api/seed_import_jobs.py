"""Seed imports as background jobs that every worker sees: the dry run's checked file kept until confirmed, and a
thread per import that writes its progress to the job's row (api/seed_import_models.py), which the page and the
API poll, whichever worker process answers.

- `keep` stores a checked file's rows (for `UPLOAD_TTL_S` at most, the newest `UPLOADS_KEPT`); `take` removes it
  for the account that checked it, once: the delete's row count decides between two workers taking it at once.
- `start` commits a `queued` row, then a thread of this process waits for its turn (one import at a time per
  process; the row's heartbeat is written every `HEARTBEAT_S` meanwhile), marks it `running` and imports
  (api/seed_import_run.py). Each stage and chunk boundary is written to the row in a short transaction of its
  own, outside the import's one, which is written all at once at its end.
- `find` reads the row. One still `queued` or `running` whose heartbeat is older than `STALE_AFTER_S` belongs to
  a worker that died (a restart, a kill): it is marked `interrupted` (中断) with a Japanese message. The import
  is one transaction, so such a job has written nothing. A worker that was merely stalled past the timeout
  still writes its real outcome when it ends (progress no longer does: a job marked interrupted stays so
  until then).

The unique (organisation, external id) lets two concurrent creations of one seed fail rather than duplicate it.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from fastapi import Request
from sqlalchemy import Engine as Database
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from .errors import ApiError, not_found
from .models import Account, Role, stored_id, utcnow
from .seed_import_models import SeedImportJob, SeedImportUpload
from .seed_import_plan import ImportPlan, RowProblem
from .seed_import_read import SourceRow
from .seed_import_run import ImportRejected, run_import
from .service import MatchService

log = logging.getLogger(__name__)

UPLOAD_TTL_S = 3600
UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")  # secrets.token_urlsafe's alphabet
UPLOADS_KEPT = 20
HEARTBEAT_S = 30.0
# no write for this long: the job's worker is taken for dead. The longest silence of a live import is one chunk
# of the encoder (seconds) or the final transaction and index catch-up (about 4 s at 10^3 rows, docs/benchmarks.md)
STALE_AFTER_S = 600.0
FAILED = ("取り込みに失敗しました。何も書き込んでいません。もう一度お試しください。"
          "続く場合は、管理者に取り込み番号 {job_id} をお知らせください（詳しい原因はサーバーの記録にあります）。")
REJECTED = ("取り込めない行があったため、何も書き込んでいません（確認の後にデータベースが変わりました）。"
            "もう一度確認してください。")
INTERRUPTED = ("取り込みを実行していたサーバーのプロセスから {minutes} 分以上応答がないため、中断として扱いました"
               "（サーバーの再起動など）。取り込みは1つのトランザクションなので、途中までの書き込みは残っていません。"
               "もう一度ファイルを確認して、取り込み直してください。")
GONE = "確認した内容が見つかりません（1時間を過ぎたか、取り込み済みです）。もう一度ファイルを確認してください。"
JobStatus = Literal["queued", "running", "succeeded", "failed", "interrupted"]
ACTIVE: tuple[JobStatus, ...] = ("queued", "running")
STATUS_NAMES = {"queued": "順番待ち", "running": "取り込み中", "succeeded": "完了", "failed": "失敗",
                "interrupted": "中断"}


@dataclass(frozen=True)
class Upload:
    """A checked file, waiting for the office to confirm its import."""

    id: str
    account_id: int
    organisation_id: int
    filename: str
    rows: list[SourceRow]
    planned: dict[str, int]  # the dry run's counts


@dataclass
class ImportJob:
    """A job as its row holds it, for the page and the API (api/seed_import_schemas.py)."""

    id: int
    account_id: int
    organisation_id: int
    filename: str
    rows: int
    status: JobStatus
    stage: str
    done: int
    total: int
    planned: dict[str, int]
    counts: dict[str, int] | None
    encoded: int
    reused: int
    message: str | None
    problems: list[RowProblem] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @classmethod
    def of(cls, row: SeedImportJob) -> ImportJob:
        return cls(id=stored_id(row), account_id=row.account_id, organisation_id=row.organisation_id,
                   filename=row.filename, rows=row.rows, status=cast(JobStatus, row.status), stage=row.stage,
                   done=row.done, total=row.total, planned=dict(row.planned), counts=row.counts,
                   encoded=row.encoded, reused=row.reused, message=row.message,
                   problems=[RowProblem(**p) for p in row.problems], created_at=row.created_at,
                   finished_at=row.finished_at)


class ImportJobs:
    """The uploads and jobs of one database; `_turn` lets one import of this process run at a time."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._turn = threading.Lock()

    # ---- uploads -------------------------------------------------------------------------------------
    def keep(self, account: Account, organisation_id: int, filename: str, rows: list[SourceRow],
             plan: ImportPlan) -> Upload:
        upload = Upload(secrets.token_urlsafe(18), stored_id(account), organisation_id, filename, rows,
                        plan.counts())
        with Session(self.db) as session:
            self._forget_old_uploads(session)
            session.add(SeedImportUpload(
                id=upload.id, account_id=upload.account_id, organisation_id=organisation_id, filename=filename[:255],
                source=[[r.number, r.cells] for r in rows], planned=upload.planned))
            session.commit()
        return upload

    def take(self, upload_id: str, account: Account) -> Upload:
        """The upload this account checked, removed: one import per dry run, whichever worker is asked."""
        if not UPLOAD_ID.fullmatch(upload_id):  # not one `keep` made (PostgreSQL would refuse a NUL in the query)
            raise ApiError(404, "not_found", GONE)
        with Session(self.db) as session:
            self._forget_expired_uploads(session)  # their rows hold e-mail addresses: gone once of no use
            session.commit()
            kept = session.get(SeedImportUpload, upload_id)
            if kept is None or kept.account_id != account.id or _age_s(kept.created_at) > UPLOAD_TTL_S:
                raise ApiError(404, "not_found", GONE)
            upload = Upload(kept.id, kept.account_id, kept.organisation_id, kept.filename,
                            [SourceRow(number, cells) for number, cells in kept.source], dict(kept.planned))
            taken = session.execute(delete(SeedImportUpload).where(col(SeedImportUpload.id) == kept.id))
            session.commit()
        if getattr(taken, "rowcount", 1) != 1:  # another worker took it between the read and the delete
            raise ApiError(404, "not_found", GONE)
        return upload

    @staticmethod
    def _forget_expired_uploads(session: Session) -> None:
        cutoff = utcnow() - timedelta(seconds=UPLOAD_TTL_S)
        session.execute(delete(SeedImportUpload).where(col(SeedImportUpload.created_at) < cutoff))

    def _forget_old_uploads(self, session: Session) -> None:
        """The expired, and all but the newest few: room for the one about to be kept."""
        self._forget_expired_uploads(session)
        newest = select(SeedImportUpload.id).order_by(col(SeedImportUpload.created_at).desc())
        kept = list(session.exec(newest.limit(UPLOADS_KEPT - 1)).all())
        session.execute(delete(SeedImportUpload).where(col(SeedImportUpload.id).not_in(kept)))

    # ---- jobs ----------------------------------------------------------------------------------------
    def start(self, service: MatchService, upload: Upload) -> ImportJob:
        with Session(self.db) as session:
            row = SeedImportJob(account_id=upload.account_id, organisation_id=upload.organisation_id,
                                filename=upload.filename[:255], rows=len(upload.rows), stage="開始を待っています",
                                planned=upload.planned)
            session.add(row)
            session.commit()
            session.refresh(row)
            job = ImportJob.of(row)
        threading.Thread(target=self._run, args=(service, job, upload.rows), name=f"seed-import-{job.id}",
                         daemon=True).start()
        return job

    def find(self, job_id: int, account: Account) -> ImportJob:
        """The job, for the account that started it or an admin; 404 for anyone else (it does not exist for them)."""
        with Session(self.db) as session:
            row = session.get(SeedImportJob, job_id)
            if row is None or (row.account_id != account.id and account.role != Role.admin):
                raise not_found("シーズの取り込み", job_id)
            if row.status in ACTIVE and _age_s(row.updated_at) > STALE_AFTER_S:
                self._interrupt(session, job_id)
                session.refresh(row)
            return ImportJob.of(row)

    def _interrupt(self, session: Session, job_id: int) -> None:
        """Mark the job interrupted, unless its heartbeat came meanwhile (the condition is the check again)."""
        now = utcnow()
        message = INTERRUPTED.format(minutes=max(1, round(STALE_AFTER_S / 60)))
        session.execute(update(SeedImportJob).where(
            col(SeedImportJob.id) == job_id, col(SeedImportJob.status).in_(ACTIVE),
            col(SeedImportJob.updated_at) < now - timedelta(seconds=STALE_AFTER_S)).values(
            status="interrupted", message=message, finished_at=now, updated_at=now))
        session.commit()

    def _write(self, job_id: int, *, only_active: bool, **values: Any) -> None:
        """One short transaction of its own: never the import's."""
        query = update(SeedImportJob).where(col(SeedImportJob.id) == job_id)
        if only_active:  # progress never brings back a job another worker took for dead
            query = query.where(col(SeedImportJob.status).in_(ACTIVE))
        with Session(self.db) as session:
            session.execute(query.values(**values, updated_at=utcnow()))
            session.commit()

    def _run(self, service: MatchService, job: ImportJob, rows: list[SourceRow]) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            self._write(job.id, only_active=True, stage=stage[:100], done=int(done), total=int(total))

        try:
            while not self._turn.acquire(timeout=HEARTBEAT_S):  # queued: alive, waiting for this process's turn
                self._write(job.id, only_active=True)
            try:
                self._write(job.id, only_active=True, status="running")
                outcome = run_import(self.db, service.encoder, job.organisation_id, rows, service=service,
                                     progress=progress)
            finally:
                self._turn.release()
        except ImportRejected as rejected:
            self._finish(job.id, status="failed", message=REJECTED,
                         problems=[vars(p) for p in rejected.plan.problems()])
        except Exception:  # noqa: BLE001 - any failure is a failed job with a reason; the trace goes to the log
            log.exception("seed import %s failed", job.id)
            self._finish(job.id, status="failed", message=FAILED.format(job_id=job.id))
        else:
            self._finish(job.id, status="succeeded", counts=outcome.plan.counts(), encoded=outcome.encoded,
                         reused=outcome.reused)

    def _finish(self, job_id: int, **values: Any) -> None:
        try:  # the real outcome, even over a job another worker marked interrupted while this one was stalled
            self._write(job_id, only_active=False, finished_at=utcnow(), **values)
        except Exception:  # noqa: BLE001 - the job then shows as interrupted once its heartbeat is stale
            log.exception("could not record the end of seed import %s", job_id)


def _age_s(moment: datetime) -> float:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)  # the database stores UTC
    return (utcnow() - aware).total_seconds()


_REGISTRY_LOCK = threading.Lock()


def import_jobs(request: Request) -> ImportJobs:
    """This app's registry, made on first use."""
    with _REGISTRY_LOCK:
        jobs = getattr(request.app.state, "seed_imports", None)
        if jobs is None:
            jobs = request.app.state.seed_imports = ImportJobs(request.app.state.db)
        return jobs
