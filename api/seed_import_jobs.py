"""Seed imports as background jobs, for the page: the dry run's checked file kept until confirmed, and a thread per
import whose progress the page polls (as report jobs are, api/reports_jobs.py).

Why in memory, not a table as report jobs have: an import is one transaction, so a job that dies with its
process (a restart) has written nothing, and there is nothing left for a row to say but "interrupted"; the
uploaded file itself must not outlive the office's session either (it holds researchers' e-mail addresses).
So uploads and jobs live in this process (`app.state.seed_imports`), uploads for `UPLOAD_TTL_S` at most and
the newest `UPLOADS_KEPT` of them. With several worker processes the page's polls must reach the worker
that started the import (sticky sessions); the CLI `matcher-admin import-seeds` has no such limit.

One import runs at a time per process (`_turn`); others wait as `queued`. Imports of the same file are still
idempotent, and the unique (organisation, external id) lets two concurrent creations of one seed fail rather
than duplicate it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from fastapi import Request
from sqlalchemy import Engine as Database

from .errors import ApiError, not_found
from .models import Account, Role, stored_id, utcnow
from .seed_import_plan import ImportPlan, RowProblem
from .seed_import_read import SourceRow
from .seed_import_run import ImportRejected, run_import
from .service import MatchService

log = logging.getLogger(__name__)

UPLOAD_TTL_S = 3600
UPLOADS_KEPT = 20
FAILED = ("取り込みに失敗しました。何も書き込んでいません。もう一度お試しください。"
          "続く場合は、管理者に取り込み番号 {job_id} をお知らせください（詳しい原因はサーバーの記録にあります）。")
REJECTED = ("取り込めない行があったため、何も書き込んでいません（確認の後にデータベースが変わりました）。"
            "もう一度確認してください。")
GONE = "確認した内容が見つかりません（1時間を過ぎたか、取り込み済みです）。もう一度ファイルを確認してください。"
JobStatus = Literal["queued", "running", "succeeded", "failed"]
STATUS_NAMES = {"queued": "順番待ち", "running": "取り込み中", "succeeded": "完了", "failed": "失敗"}


@dataclass
class Upload:
    """A checked file, waiting for the office to confirm its import."""

    id: str
    account_id: int
    organisation_id: int
    filename: str
    rows: list[SourceRow]
    plan: ImportPlan  # the dry run's
    kept_at: float = field(default_factory=time.monotonic)


@dataclass
class ImportJob:
    id: int
    account_id: int
    organisation_id: int
    filename: str
    rows: int
    status: JobStatus = "queued"
    stage: str = "開始を待っています"
    done: int = 0
    total: int = 0
    counts: dict[str, int] | None = None
    encoded: int = 0
    reused: int = 0
    message: str | None = None
    problems: list[RowProblem] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


class ImportJobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turn = threading.Lock()
        self._uploads: dict[str, Upload] = {}
        self._jobs: dict[int, ImportJob] = {}
        self._next_id = 1

    # ---- uploads -------------------------------------------------------------------------------------
    def keep(self, account: Account, organisation_id: int, filename: str, rows: list[SourceRow],
             plan: ImportPlan) -> Upload:
        upload = Upload(secrets.token_urlsafe(18), stored_id(account), organisation_id, filename, rows, plan)
        with self._lock:
            self._forget_old_uploads()
            self._uploads[upload.id] = upload
        return upload

    def take(self, upload_id: str, account: Account) -> Upload:
        """The upload this account checked, removed: one import per dry run."""
        with self._lock:
            self._forget_old_uploads()
            upload = self._uploads.get(upload_id)
            if upload is None or upload.account_id != account.id:
                raise ApiError(404, "not_found", GONE)
            return self._uploads.pop(upload_id)

    def _forget_old_uploads(self) -> None:
        now = time.monotonic()
        for key in [k for k, u in self._uploads.items() if now - u.kept_at > UPLOAD_TTL_S]:
            del self._uploads[key]
        while len(self._uploads) >= UPLOADS_KEPT:
            del self._uploads[next(iter(self._uploads))]

    # ---- jobs ----------------------------------------------------------------------------------------
    def start(self, db: Database, service: MatchService, upload: Upload) -> ImportJob:
        with self._lock:
            job = ImportJob(self._next_id, upload.account_id, upload.organisation_id, upload.filename,
                            len(upload.rows))
            self._next_id += 1
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(db, service, job, upload.rows), name=f"seed-import-{job.id}",
                         daemon=True).start()
        return job

    def find(self, job_id: int, account: Account) -> ImportJob:
        """The job, for the account that started it or an admin; 404 for anyone else (it does not exist for them)."""
        job = self._jobs.get(job_id)
        if job is None or (job.account_id != account.id and account.role != Role.admin):
            raise not_found("シーズの取り込み", job_id)
        return job

    def _run(self, db: Database, service: MatchService, job: ImportJob, rows: list[SourceRow]) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            job.stage, job.done, job.total = stage, done, total

        with self._turn:
            job.status = "running"
            try:
                outcome = run_import(db, service.encoder, job.organisation_id, rows, service=service,
                                     progress=progress)
            except ImportRejected as rejected:
                job.status, job.message, job.problems = "failed", REJECTED, rejected.plan.problems()
            except Exception:
                log.exception("seed import %s failed", job.id)
                job.status, job.message = "failed", FAILED.format(job_id=job.id)
            else:
                job.status, job.counts = "succeeded", outcome.plan.counts()
                job.encoded, job.reused = outcome.encoded, outcome.reused
            finally:
                job.finished_at = utcnow()


_REGISTRY_LOCK = threading.Lock()


def import_jobs(request: Request) -> ImportJobs:
    """This app's registry, made on first use."""
    with _REGISTRY_LOCK:
        jobs = getattr(request.app.state, "seed_imports", None)
        if jobs is None:
            jobs = request.app.state.seed_imports = ImportJobs()
        return jobs
