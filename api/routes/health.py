"""Liveness and readiness. Ready = the database answers and the index is loaded and consistent with it."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel import Session

from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/livez", operation_id="livez", response_model=Health)
def livez() -> Health:
    return Health(status="ok")


@router.get("/readyz", operation_id="readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(request: Request) -> JSONResponse:
    checks: dict[str, bool | str] = {"database": False, "index_loaded": False, "index_consistent": False}
    try:
        with Session(request.app.state.db) as session:
            session.connection().execute(text("SELECT 1"))
            checks["database"] = True
            service = getattr(request.app.state, "service", None)
            checks["index_loaded"] = service is not None
            if service is not None:
                checks["index_consistent"] = service.is_consistent_with(session)
    except Exception as e:  # a database that does not answer is "not ready", not a 500
        checks["error"] = type(e).__name__
    ready = all(v is True for k, v in checks.items() if k != "error")
    body = Health(status="ok" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
