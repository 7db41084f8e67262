"""Liveness and readiness.

Ready = the database answers, the index is loaded, its follower runs, and it is no more than
`ready_max_lag` changes behind the change log. O(1): one indexed `max(seq)` and the follower's counters;
no table is read and the index is not locked. The full comparison of ids and content is
`matcher-admin verify-index` (and start-up).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from ..change_log import latest_sequence
from ..follower import IndexFollower
from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/livez", operation_id="livez", response_model=Health)
def livez() -> Health:
    """プロセスが動いていれば 200（認証不要）。データベースや索引は見ない。"""
    return Health(status="ok")


@router.get("/readyz", operation_id="readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(request: Request) -> JSONResponse:
    """要求を受けられるか（認証不要）: データベースに届き、索引が読み込まれ、変更履歴に遅れずに追従していれば 200、
    そうでなければ 503。checks に適用済みと最新の変更番号、その差（lag）を示す。"""
    checks: dict[str, bool | str | int] = {"database": False, "index_loaded": False, "index_following": False}
    follower: IndexFollower | None = getattr(request.app.state, "follower", None)
    try:
        with Session(request.app.state.db) as session:
            latest = latest_sequence(session)
        checks["database"] = True
    except Exception as e:  # a database that does not answer is "not ready", not a 500
        checks["error"] = type(e).__name__
        latest = None
    checks["index_loaded"] = follower is not None
    if follower is not None and latest is not None:
        state = follower.state(latest)
        checks.update(applied_sequence=state.applied, latest_sequence=latest, lag=state.lag,
                      open_gaps=state.open_gaps)
        checks["index_following"] = state.alive and state.lag <= request.app.state.settings.ready_max_lag
    ready = all(checks[name] is True for name in ("database", "index_loaded", "index_following"))
    body = Health(status="ok" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
