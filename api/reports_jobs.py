"""Running report jobs in a background thread, with their state and progress in the database.

- `start_job` inserts nothing: the route has committed a `queued` row; this
  starts a daemon thread for it and remembers the thread in `ACTIVE`.
- The thread marks the job `running`, computes the report over the service's
  engine (holding the service lock only while the indexes are read; need
  encoding happens outside it), writes the files under
  `<data_dir>/reports/<job id>/`, and marks it `succeeded`; any exception marks
  it `failed` with a Japanese message. Progress is written to the row (at most
  twice a second), which doubles as a heartbeat (`updated_at`).
- After a restart no thread of this process stands behind an old `queued` or
  `running` row: `fail_orphans` (called whenever jobs are read) marks such rows
  `failed` with the reason 「サーバーの再起動により中断されました」. A job thus
  either finishes, fails with a reason, or is reported failed: never a silent hang.
  (The service is one process, as the engine lives in memory; with several
  worker processes the registry would need a shared heartbeat check instead.)
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from matcher.report_render import render_report
from matcher.reports import DEFAULT_UNMET_THRESHOLD, ReportOptions, ReportScope, compute_report

from .models import Need, Status, utcnow
from .report_models import JobStatus, ReportJob

log = logging.getLogger(__name__)

JST = ZoneInfo("Asia/Tokyo")
ACTIVE: dict[int, threading.Thread] = {}
_ACTIVE_LOCK = threading.Lock()
INTERRUPTED = "サーバーの再起動により中断されました。もう一度レポートを作成してください。"


def job_dir(data_dir: Path, job_id: int) -> Path:
    return Path(data_dir) / "reports" / str(job_id)


def fail_orphans(session: Session) -> int:
    """Mark queued/running jobs with no live thread in this process as failed. Returns how many."""
    rows = session.exec(select(ReportJob).where(ReportJob.status.in_([JobStatus.queued.value, JobStatus.running.value]))).all()
    count = 0
    with _ACTIVE_LOCK:
        for job in rows:
            thread = ACTIVE.get(job.id)
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


def start_job(db, service, data_dir: Path, job_id: int) -> None:
    thread = threading.Thread(target=_run, args=(db, service, Path(data_dir), job_id), name=f"report-job-{job_id}",
                              daemon=True)
    with _ACTIVE_LOCK:
        ACTIVE[job_id] = thread
    thread.start()


def _update(db, job_id: int, **changes) -> None:
    with Session(db) as session:
        job = session.get(ReportJob, job_id)
        for key, value in changes.items():
            setattr(job, key, value)
        job.updated_at = utcnow()
        session.add(job)
        session.commit()


def _scope(db, params: dict) -> ReportScope:
    # dates are days in Japan (JST); the database stores UTC-aware datetimes
    since = datetime.fromisoformat(params["since"]).replace(tzinfo=JST) if params.get("since") else None
    until = datetime.fromisoformat(params["until"]).replace(tzinfo=JST) if params.get("until") else None
    need_ids: tuple[int, ...] = ()
    if since or until:  # needs carry dates in the database, not in the engine: select them here
        with Session(db) as session:
            query = select(Need.id).where(Need.status == Status.active)
            if since:
                query = query.where(Need.created_at >= since)
            if until:
                query = query.where(Need.created_at < until)
            need_ids = tuple(session.exec(query).all()) or (-1,)  # (-1,): a period with no need selects nothing
    return ReportScope(regions=tuple(params.get("regions") or ()), prefectures=tuple(params.get("prefectures") or ()),
                       market_areas=tuple(params.get("market_areas") or ()), need_ids=need_ids, since=None, until=None)


def _run(db, service, data_dir: Path, job_id: int) -> None:
    try:
        with Session(db) as session:
            params = dict(session.get(ReportJob, job_id).params)
        _update(db, job_id, status=JobStatus.running.value, started_at=utcnow(), stage="準備")
        last = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.5 or done >= total:
                last[0] = now
                _update(db, job_id, stage=stage[:100], done=int(done), total=int(total))

        options = ReportOptions(
            top_partners=params.get("top_partners", 5), flow_partners=params.get("flow_partners", 3),
            unmet_threshold=params.get("unmet_threshold", DEFAULT_UNMET_THRESHOLD), assignment_cap=params.get("assignment_cap"),
            mode=params.get("mode", "dense"))
        scope = _scope(db, params)
        needs = None
        with service._lock:  # a consistent snapshot of the needs in scope
            from matcher.reports import select_needs

            needs = select_needs(service.engine, scope)
        report = compute_report(service.engine, scope, options, needs=needs, progress=progress, lock=service._lock)
        if params.get("since") or params.get("until"):
            report.meta.scope = _describe_period(report.meta.scope, params)
        out = job_dir(data_dir, job_id)
        rendered = render_report(report, out, params.get("formats") or ["html", "xlsx", "csv", "json"],
                                 csv_encoding=params.get("csv_encoding", "utf-8-sig"), progress=progress)
        summary = {"needs": report.meta.needs, "seeds": report.meta.seeds, "crossing": report.silo.crossing,
                   "share_crossing": round(report.silo.share_crossing, 4),
                   "mean_gain_crossing": round(report.silo.mean_gain_crossing, 4),
                   "unmet": sum(1 for n in report.needs if n.unmet), "replaced_chars": rendered.replaced_chars,
                   "timings": report.meta.timings}
        _update(db, job_id, status=JobStatus.succeeded.value, stage="完了", files=[p.name for p in rendered.files],
                summary=summary, finished_at=utcnow())
    except Exception as e:  # noqa: BLE001 - any failure becomes a failed job with a reason
        log.exception("report job %s failed", job_id)
        try:
            _update(db, job_id, status=JobStatus.failed.value, message=f"レポートの作成に失敗しました: {e}"[:2000],
                    finished_at=utcnow())
        except Exception:  # noqa: BLE001
            log.exception("could not record the failure of report job %s", job_id)
    finally:
        with _ACTIVE_LOCK:
            ACTIVE.pop(job_id, None)


def _describe_period(text: str, params: dict) -> str:
    period = f"期間: {params.get('since') or ''}〜{params.get('until') or ''}"
    return period if text.startswith("ニーズ") or text == "全国のすべてのニーズ" else f"{text}、{period}"
