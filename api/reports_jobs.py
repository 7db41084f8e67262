"""Report jobs: started, read and downloaded for the API and the coordinator's page alike; run in a thread.

- `start_report` takes a place in the app's `ReportQueue`, commits a `queued`
  row and starts a daemon thread for it, remembered in `ACTIVE`. The queue lets
  `report_jobs_running` jobs (default 1) compute at once and
  `report_jobs_waiting` more (default 4) wait their turn as `queued`; one more
  is refused with a Japanese 429 and `Retry-After`, before any row is written.
  A report searches every need in scope: several at once would only slow each
  other and the live matches down.
- The thread waits for its turn, marks the job `running`, takes a copy of the
  service's engine (`MatchService.reader_copy`: the lock is held for the copy
  alone, milliseconds) and computes the report over the copy, so live matches
  and writes never wait for a report's search; it writes the files under
  `<data_dir>/reports/<job id>/`, and marks it `succeeded`; any exception marks
  it `failed` with a Japanese message. Progress is written to the row (at most
  twice a second), which doubles as a heartbeat (`updated_at`).
- With MATCHER_REPORT_SHARDS > 1 the search runs on Ray (`compute_report(shards=…)`), in one session the
  queue's `ReportCluster` opens for the first such job and keeps for the next (api/report_ray.py); a job whose
  Ray cannot start, or is lost half-way, fails with a Japanese message that says so.
- After a restart no thread of this process stands behind an old `queued` or
  `running` row: `fail_orphans` (called whenever jobs are read) marks such rows
  `failed` with the reason 「サーバーの再起動により中断されました」. A job thus
  either finishes, fails with a reason, or is reported failed: never a silent hang.
  (The service is one process, as the engine lives in memory; with several
  worker processes the registry would need a shared heartbeat check instead.)
- Files are kept `report_retention_days` (default 90, MATCHER_REPORT_RETENTION_DAYS): `purge_expired` deletes
  older jobs' files at start-up and after each job; the row stays, with no files and a Japanese note.
- A report names seeds (each partner's best seed), hence their researchers: next to its files a job keeps the
  ids it names (`named_seeds.json`, never served). When a researcher is erased, `forget_seeds` deletes the
  files of the jobs that name one of its seeds (api/erasure.py); a job computed over a copy taken before the
  erasure checks, once rendered, that its seeds still exist, and otherwise deletes its own files.
- Each progress report also goes to `report_progress`, in memory, which estimates the time left in the current stage
  from the speed measured in it (`remaining_s`); a download is named after the job's scope and day
  (`report_files`), while URLs keep the plain file names.
- Once computed, the report carries the partner outcomes of its needs (introductions and feedback) that the job's
  creator may read, and its files open only to those who may read them (api/report_outcomes.py).
- `report_scope` turns a job's parameters into the engine's `ReportScope`: the
  one source of what the job covers, for the computation and for its description
  (`describe_scope`) in the report and on the page.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import FileResponse
from sqlalchemy import Engine as Database
from sqlmodel import Session, col, select

from matcher.engine import Engine
from matcher.records import Need as NeedRecord
from matcher.report_render import RenderResult, render_report
from matcher.reports import DEFAULT_UNMET_THRESHOLD, Report, ReportOptions, ReportScope, compute_report, select_needs

from . import report_outcomes, report_progress
from .embeddings import stored_query_vectors
from .errors import ApiError, RateLimited, not_found
from .models import Account, Need, Seed, Status, stored_id, utcnow
from .report_files import disposition_header
from .report_models import JobStatus, ReportJob
from .report_ray import ReportCluster, failure_message
from .schemas import ReportRequest
from .security_headers import REPORT_FILE_HEADERS
from .service import MatchService

log = logging.getLogger(__name__)

JST = ZoneInfo("Asia/Tokyo")
ACTIVE: dict[int, threading.Thread] = {}
_ACTIVE_LOCK = threading.Lock()
INTERRUPTED = "サーバーの再起動により中断されました。もう一度レポートを作成してください。"
FAILED = ("レポートの作成に失敗しました。条件を変えてもう一度お試しください。続く場合は、管理者にジョブ番号 {job_id} を"
          "お知らせください（詳しい原因はサーバーの記録にあります）。")
DEFAULT_FORMATS = ["html", "xlsx", "csv", "json"]
QUEUE_FULL = ("レポートの作成が混み合っています（同時に作成 {running} 件・待機 {waiting} 件まで）。"
              "{retry}秒ほど待ってから、もう一度お試しください。")
EXPIRED = "保存期間（{days}日）を過ぎたため、このレポートのファイルを削除しました。必要なら、もう一度作成してください。"
ERASED = ("このレポートが示していた研究者の情報が本人の依頼により削除されたため、ファイルを削除しました。"
          "必要なら、もう一度作成してください。")
NAMED_SEEDS = "named_seeds.json"  # beside the files, never in `job.files`: never served
DEFAULT_RETENTION_DAYS = 90
QUEUE_RETRY_AFTER_S = 60  # a report over the demo corpus takes tens of seconds; a guess, not a promise
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".csv": "text/csv", ".json": "application/json",
               ".pdf": "application/pdf",
               ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


# ---- the queue --------------------------------------------------------------------------------------
class ReportQueue:
    """The jobs of one app: at most `running` compute at once, at most `waiting` more wait for a turn."""

    def __init__(self, running: int, waiting: int, retention_days: int = DEFAULT_RETENTION_DAYS,
                 cluster: ReportCluster | None = None):
        self.running = running
        self.waiting = waiting
        self.retention_days = retention_days  # files older than this are deleted after each job
        self.cluster = cluster or ReportCluster()  # where the jobs search: here, or on Ray shards
        self._turns = threading.Semaphore(running)
        self._admitted = 0  # running and waiting together
        self._lock = threading.Lock()

    def admit(self) -> None:
        """Take a place for one more job, or refuse it with RateLimited when every place is taken."""
        with self._lock:
            if self._admitted >= self.running + self.waiting:
                raise RateLimited(QUEUE_FULL.format(running=self.running, waiting=self.waiting,
                                                    retry=QUEUE_RETRY_AFTER_S), QUEUE_RETRY_AFTER_S)
            self._admitted += 1

    def leave(self) -> None:
        with self._lock:
            self._admitted -= 1

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for a running place, hold it while the job computes, then give up the job's place."""
        try:
            with self._turns:
                yield
        finally:
            self.leave()


# ---- starting and reading jobs ------------------------------------------------------------------
def start_report(session: Session, account: Account, body: ReportRequest, *, db: Database, service: MatchService,
                 data_dir: Path, queue: ReportQueue) -> ReportJob:
    """Record a queued job for `body` and start computing it in the background, if `queue` has room."""
    fail_orphans(session)
    queue.admit()
    try:
        job = ReportJob(created_by=stored_id(account), params=body.model_dump(mode="json"))
        session.add(job)
        session.commit()
        session.refresh(job)
        start_job(db, service, data_dir, stored_id(job), queue)
    except BaseException:
        queue.leave()  # no thread took the place over
        raise
    return job


def recent_jobs(session: Session, limit: int) -> list[ReportJob]:
    """The newest jobs first."""
    fail_orphans(session)
    return list(session.exec(select(ReportJob).order_by(col(ReportJob.id).desc()).limit(limit)).all())


def find_job(session: Session, job_id: int) -> ReportJob:
    fail_orphans(session)
    job = session.get(ReportJob, job_id)
    if job is None:
        raise not_found("レポート", job_id)
    session.refresh(job)  # its thread writes progress through other sessions
    return job


def download(data_dir: Path, job: ReportJob, name: str, *, session: Session, reader: Account) -> FileResponse:
    """A file of the job: only names in `job.files`, so no path from a request reaches the disk, and only for a
    reader who may read the partner outcomes in it (api/report_outcomes.py). The download is named after the job's
    scope and day (api/report_files.py); the URL keeps the plain name."""
    report_outcomes.check_may_open(session, reader, job)
    if name not in job.files:
        raise ApiError(404, "not_found", f"ファイル「{name}」はこのレポートにありません。")
    path = job_dir(data_dir, stored_id(job)) / name
    if not path.is_file():
        raise ApiError(404, "not_found", f"ファイル「{name}」が見つかりません（削除された可能性があります）。")
    suffix = path.suffix.lower()
    disposition = "inline" if suffix in (".html", ".pdf") else "attachment"
    named = disposition_header(stored_id(job), job.params, job.finished_at or job.created_at, name, disposition)
    return FileResponse(path, media_type=MEDIA_TYPES.get(suffix, "application/octet-stream"),
                        headers={**REPORT_FILE_HEADERS, "Content-Disposition": named})  # the API's and the page's


def remaining_s(job: ReportJob) -> float | None:
    """The estimated seconds left in a running job's current stage (api/report_progress.py), or None."""
    return report_progress.remaining(stored_id(job)) if job.status == JobStatus.running.value else None


def job_dir(data_dir: Path, job_id: int) -> Path:
    return Path(data_dir) / "reports" / str(job_id)


def fail_orphans(session: Session) -> int:
    """Mark queued/running jobs with no live thread in this process as failed. Returns how many."""
    unfinished = col(ReportJob.status).in_([JobStatus.queued.value, JobStatus.running.value])
    count = 0
    with _ACTIVE_LOCK:
        for job in session.exec(select(ReportJob).where(unfinished)).all():
            thread = ACTIVE.get(stored_id(job))
            if thread is None or not thread.is_alive():
                job.status = JobStatus.failed.value
                job.message = INTERRUPTED
                job.finished_at = utcnow()
                job.updated_at = utcnow()
                session.add(job)
                count += 1
    if count:
        session.commit()
    return count


def start_job(db: Database, service: MatchService, data_dir: Path, job_id: int, queue: ReportQueue) -> None:
    """Start the job's thread; it holds the place `queue.admit()` took until it ends."""
    thread = threading.Thread(target=_run_in_turn, args=(db, service, Path(data_dir), job_id, queue),
                              name=f"report-job-{job_id}", daemon=True)
    with _ACTIVE_LOCK:
        ACTIVE[job_id] = thread
    thread.start()


# ---- what a job covers ----------------------------------------------------------------------------
def report_scope(params: dict[str, Any]) -> ReportScope:
    """The scope a job's parameters ask for; dates are days in Japan (JST)."""
    return ReportScope(regions=tuple(params.get("regions") or ()), prefectures=tuple(params.get("prefectures") or ()),
                       market_areas=tuple(params.get("market_areas") or ()), since=_jst_day(params.get("since")),
                       until=_jst_day(params.get("until")))


def _jst_day(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=JST) if text else None


def _needs_in_scope(db: Database, engine: Engine, scope: ReportScope) -> list[NeedRecord]:
    """The needs of `engine` (the job's copy) in `scope`. They carry no dates: the database picks the period."""
    needs = select_needs(engine, replace(scope, since=None, until=None))
    if scope.since is None and scope.until is None:
        return needs
    created = _needs_created_between(db, scope.since, scope.until)
    return [need for need in needs if need.id in created]


def _needs_created_between(db: Database, since: datetime | None, until: datetime | None) -> set[int]:
    query = select(Need.id).where(col(Need.status) == Status.active)  # the database stores UTC-aware datetimes
    if since:
        query = query.where(col(Need.created_at) >= since)
    if until:
        query = query.where(col(Need.created_at) < until)
    with Session(db) as session:
        return {need_id for need_id in session.exec(query).all() if need_id is not None}


# ---- running a job ---------------------------------------------------------------------------------
def _update(db: Database, job_id: int, **changes: Any) -> None:
    with Session(db) as session:
        job = session.get_one(ReportJob, job_id)
        for key, value in changes.items():
            setattr(job, key, value)
        job.updated_at = utcnow()
        session.add(job)
        session.commit()


def _options(params: dict[str, Any]) -> ReportOptions:
    return ReportOptions(
        top_partners=params.get("top_partners", 5), flow_partners=params.get("flow_partners", 3),
        unmet_threshold=params.get("unmet_threshold", DEFAULT_UNMET_THRESHOLD),
        assignment_cap=params.get("assignment_cap"), mode=params.get("mode", "hybrid"),
        sort=params.get("sort", "overall"))


def _summary(report: Report, rendered: RenderResult) -> dict[str, Any]:
    """The figures the job's page shows without opening the report."""
    return {"needs": report.meta.needs, "seeds": report.meta.seeds, "crossing": report.silo.crossing,
            "share_crossing": round(report.silo.share_crossing, 4),
            "mean_gain_crossing": round(report.silo.mean_gain_crossing, 4),
            "unmet": sum(1 for n in report.needs if n.unmet), "replaced_chars": rendered.replaced_chars,
            "timings": report.meta.timings, **report_outcomes.summary(report)}


def _run_in_turn(db: Database, service: MatchService, data_dir: Path, job_id: int, queue: ReportQueue) -> None:
    with queue.turn():  # the job stays `queued` until then
        _run(db, service, data_dir, job_id, queue.cluster)
    try:
        with Session(db) as session:
            purge_expired(session, data_dir, queue.retention_days)
    except Exception:  # noqa: BLE001 - the job is done; the next one or the next start-up tries again
        log.exception("could not delete the expired report files")


def _run(db: Database, service: MatchService, data_dir: Path, job_id: int, cluster: ReportCluster) -> None:
    try:
        with Session(db) as session:
            job = session.get_one(ReportJob, job_id)
            params, creator_id = dict(job.params), job.created_by
        _update(db, job_id, status=JobStatus.running.value, started_at=utcnow(), stage="準備")
        last = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            report_progress.observe(job_id, stage[:100], int(done), int(total), at=now)  # memory: every report
            if now - last[0] >= 0.5 or done >= total:
                last[0] = now
                _update(db, job_id, stage=stage[:100], done=int(done), total=int(total))

        scope = report_scope(params)
        engine = service.reader_copy()  # seeds and needs of one moment; searched without the service's lock
        needs = _needs_in_scope(db, engine, scope)
        with Session(db) as session:  # kept by each need's write: only needs written before then are encoded
            vectors = stored_query_vectors(session, engine.encoder.name, [n.text for n in needs])
        with cluster.session():  # one shard: nothing; more: the app's Ray session, opened if need be
            report = compute_report(engine, scope, _options(params), needs=needs, need_vectors=vectors,
                                    progress=progress, shards=cluster.shards, ray_address=cluster.address)
        report.outcomes, report.outcomes_scope = report_outcomes.gather(db, creator_id, report)  # its creator's
        rendered = render_report(report, job_dir(data_dir, job_id), params.get("formats") or DEFAULT_FORMATS,
                                 csv_encoding=params.get("csv_encoding", "utf-8-sig"), progress=progress)
        if not _keep_named_seeds(db, data_dir, job_id, report):
            _clear_files(job_dir(data_dir, job_id))
            _update(db, job_id, status=JobStatus.failed.value, message=ERASED, finished_at=utcnow())
            return
        _update(db, job_id, status=JobStatus.succeeded.value, stage="完了", files=[p.name for p in rendered.files],
                summary=_summary(report, rendered), finished_at=utcnow())
    except Exception as error:  # noqa: BLE001 - any failure becomes a failed job with a reason
        log.exception("report job %s failed", job_id)
        try:  # a half-written file (a full disk, say) is never offered for download
            _clear_files(job_dir(data_dir, job_id))
        except Exception:  # noqa: BLE001
            log.exception("could not delete the files of failed report job %s", job_id)
        try:
            # the reason stays in the log (it may be SQL or a path); the coordinator reads a Japanese sentence
            message = failure_message(error, job_id) or FAILED.format(job_id=job_id)  # Ray's fault, or any
            _update(db, job_id, status=JobStatus.failed.value, message=message, finished_at=utcnow())
        except Exception:  # noqa: BLE001
            log.exception("could not record the failure of report job %s", job_id)
    finally:
        report_progress.forget(job_id)
        with _ACTIVE_LOCK:
            ACTIVE.pop(job_id, None)


# ---- what a job's files name, how long they are kept ------------------------------------------------
def named_seed_ids(report: Report) -> set[int]:
    """The seeds a report names: the best seed of every partner it lists or counts."""
    return {partner.best_seed_id for need in report.needs
            for partner in [*need.partners, *need.further_partners, *([need.best_in_region] if need.best_in_region
                                                                       else [])]}


def _keep_named_seeds(db: Database, data_dir: Path, job_id: int, report: Report) -> bool:
    """Write the ids the job's files name beside them; False when one of those seeds was deleted meanwhile (the
    job searched a copy taken before a researcher's erasure), so the files must not be kept."""
    named = sorted(named_seed_ids(report))
    (job_dir(data_dir, job_id) / NAMED_SEEDS).write_text(json.dumps(named), encoding="utf-8")
    with Session(db) as session:
        existing = set(session.exec(select(Seed.id).where(col(Seed.id).in_(named))).all()) if named else set()
    return len(existing) == len(named)


def _named_in(data_dir: Path, job: ReportJob) -> set[int] | None:
    """The seed ids a job's files name; None for a job from before they were kept (or an unreadable list)."""
    try:
        return set(json.loads((job_dir(data_dir, stored_id(job)) / NAMED_SEEDS).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def _clear_files(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _drop_files(session: Session, data_dir: Path, job: ReportJob, message: str) -> None:
    _clear_files(job_dir(data_dir, stored_id(job)))
    job.files = []
    job.message = message
    job.updated_at = utcnow()
    session.add(job)


def forget_seeds(session: Session, data_dir: Path, seed_ids: set[int], since: datetime | None) -> list[int]:
    """Delete the files of the finished jobs that name one of `seed_ids` (a researcher's erased seeds). A job
    that kept no list is judged by its date: computed after `since` (the first of those seeds was created), it
    may name one. Returns the jobs whose files were deleted."""
    if not seed_ids:
        return []
    cleared = []
    for job in session.exec(select(ReportJob).where(col(ReportJob.status) == JobStatus.succeeded.value)).all():
        named = _named_in(data_dir, job)
        if named is None:
            finished = job.finished_at or job.created_at
            hit = since is None or _aware(finished) >= _aware(since)
        else:
            hit = bool(named & seed_ids)
        if hit and (job.files or job_dir(data_dir, stored_id(job)).exists()):
            _drop_files(session, data_dir, job, ERASED)
            cleared.append(stored_id(job))
    session.commit()
    return cleared


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # the database stores UTC


def purge_expired(session: Session, data_dir: Path, days: int) -> list[int]:
    """Delete the files of jobs that finished more than `days` ago, and folders under reports/ of no job that are
    as old. Returns the jobs whose files were deleted."""
    cutoff = utcnow() - timedelta(days=days)
    old = select(ReportJob).where(col(ReportJob.finished_at).is_not(None), col(ReportJob.finished_at) < cutoff)
    purged = []
    for job in session.exec(old).all():
        if job.files or job_dir(data_dir, stored_id(job)).exists():
            _drop_files(session, data_dir, job, EXPIRED.format(days=days))
            purged.append(stored_id(job))
    session.commit()
    root = Path(data_dir) / "reports"
    if root.is_dir():
        known = {str(i) for i in session.exec(select(ReportJob.id)).all()}
        for folder in root.iterdir():
            if folder.name in known or folder.stat().st_mtime >= cutoff.timestamp():
                continue
            if folder.is_dir():
                _clear_files(folder)
            else:
                folder.unlink(missing_ok=True)
    return purged
