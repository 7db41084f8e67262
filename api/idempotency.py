"""`Idempotency-Key` on the API's creating routes: a retry after a lost answer returns the first one, creates nothing.

Every POST route of the API that answers 201 Created or 202 Accepted (a need, a seed, an organisation, a
researcher, a report job) takes the optional header; `ApiRoute` finds those routes itself, so a creating route
added later takes it too. With a key:

- the first request of an account with that key reserves it (a row in `idempotency_key`, unique per account and
  key), runs, and, when it succeeds (2xx), stores its status and body beside the key;
- a retry with the same key, method, path and body gets the stored answer again (`Idempotent-Replayed: true`),
  and the route does not run: nothing is created twice, no rate limit is charged again;
- the same key with another body is a Japanese 422; a retry while the first is still running is a 409;
- an answer that was not a success is not kept: the key is free again, and the client may correct and retry.

Keys are per account (another account's key is another key) and expire after `idempotency_ttl_s` (default a day);
expired rows are deleted when keys are next used. A reservation whose request died with its process is taken
over after `IN_PROGRESS_STALE_S`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, params
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from .auth import account_for_token
from .errors import ApiError, ErrorResponse
from .models import stored_id, utcnow
from .security_models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # visible ASCII, as in the IETF draft's examples (UUIDs and the like)
IN_PROGRESS_STALE_S = 300
REPLAYED = "Idempotent-Replayed"
REUSED = ("この Idempotency-Key は別の内容のリクエストに使われています。"
          "新しい操作には新しいキーを使ってください。")
RUNNING = "同じ Idempotency-Key のリクエストを処理中です。しばらく待ってから、もう一度お試しください。"

CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "同じ Idempotency-Key のリクエストを処理中です。"}}


def idempotency_key(key: Annotated[str | None, Header(
        alias=HEADER, pattern=KEY_PATTERN,
        description="再送しても二重に作成しないためのキー（英数字と記号、255文字まで。例: UUID）。"
                    "同じアカウント・同じキー・同じ内容の再送には、最初の応答をそのまま返します（24時間）。")] = None,
) -> None:
    """Documents and checks the header; the work is `ApiRoute`'s, around the route."""


# ---- the store ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stored:
    status_code: int
    media_type: str | None
    body: str


@dataclass(frozen=True)
class Reserved:
    record_id: int


class IdempotencyStore:
    def __init__(self, db: Engine, ttl_s: int):
        self.db = db
        self.ttl = timedelta(seconds=ttl_s)

    def begin(self, account_id: int, key: str, request_hash: str) -> Stored | Reserved:
        """The stored answer for this key, or a reservation to run the request under; ApiError otherwise."""
        now = utcnow()
        with Session(self.db) as session:
            session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) < now))
            record = IdempotencyRecord(account_id=account_id, key=key, request_hash=request_hash,
                                       created_at=now, expires_at=now + self.ttl)
            session.add(record)
            try:
                session.commit()
                return Reserved(stored_id(record))
            except IntegrityError:  # the key is taken: by an answer, or by a request still running
                session.rollback()
            found = session.exec(select(IdempotencyRecord).where(IdempotencyRecord.account_id == account_id,
                                                                 IdempotencyRecord.key == key)).first()
            if found is None:  # gone in between (expired and deleted): the caller may simply retry
                raise ApiError(409, "conflict", RUNNING)
            if found.request_hash != request_hash:
                raise ApiError(422, "idempotency_key_reused", REUSED)
            if found.status_code is not None and found.body is not None:
                return Stored(found.status_code, found.media_type, found.body)
            if now - _aware(found.created_at) < timedelta(seconds=IN_PROGRESS_STALE_S):
                raise ApiError(409, "conflict", RUNNING)
            found.created_at, found.expires_at = now, now + self.ttl  # its request died: take it over
            session.add(found)
            session.commit()
            return Reserved(stored_id(found))

    def finish(self, reserved: Reserved, response: Response) -> None:
        with Session(self.db) as session:
            record = session.get(IdempotencyRecord, reserved.record_id)
            if record is None:
                return
            record.status_code = response.status_code
            record.media_type = response.headers.get("content-type")
            record.body = bytes(response.body).decode("utf-8")
            session.add(record)
            session.commit()

    def release(self, reserved: Reserved) -> None:
        with Session(self.db) as session:
            session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == reserved.record_id))
            session.commit()


def _aware(moment: datetime) -> datetime:
    """SQLite may hand a UTC datetime back without its zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def request_hash(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests "the same": JSON bodies compare by content, not by spacing or key order."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except ValueError:
        canonical = body
    digest = hashlib.sha256(f"{method} {path}?{query}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


# ---- the route class ------------------------------------------------------------------------------------
def _creates(methods: Any, status_code: Any) -> bool:
    return "POST" in {m.upper() for m in methods or ()} and status_code in (201, 202)


def _with_header(dependencies: Sequence[params.Depends] | None) -> list[params.Depends]:
    deps = list(dependencies or [])
    if not any(d.dependency is idempotency_key for d in deps):  # a router that includes this one copies them
        deps.append(Depends(idempotency_key))
    return deps


class ApiRoute(APIRoute):
    """The API's route class: a creating route (POST answering 201/202) honours `Idempotency-Key`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any):
        self.idempotent = _creates(kwargs.get("methods"), kwargs.get("status_code"))
        if self.idempotent:
            kwargs["dependencies"] = _with_header(kwargs.get("dependencies"))
            kwargs["responses"] = {**(kwargs.get("responses") or {}), **CONFLICT_RESPONSE}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self.idempotent:
            return handler

        async def route(request: Request) -> Response:
            key = request.headers.get(HEADER)
            account_id = None
            if key is not None and re.fullmatch(KEY_PATTERN, key):
                account_id = await run_in_threadpool(_account_id, request)
            if key is None or account_id is None:  # no key, a malformed one (422) or no account (401): as usual
                return await handler(request)
            store = IdempotencyStore(request.app.state.db, request.app.state.settings.idempotency_ttl_s)
            fingerprint = request_hash(request.method, request.url.path, request.url.query, await request.body())
            outcome = await run_in_threadpool(store.begin, account_id, key, fingerprint)
            if isinstance(outcome, Stored):
                return Response(outcome.body, status_code=outcome.status_code, media_type=outcome.media_type,
                                headers={REPLAYED: "true"})
            try:
                response = await handler(request)
            except BaseException:
                await run_in_threadpool(store.release, outcome)
                raise
            if 200 <= response.status_code < 300:
                await run_in_threadpool(store.finish, outcome, response)
            else:
                await run_in_threadpool(store.release, outcome)
            return response

        return route


def _account_id(request: Request) -> int | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    with Session(request.app.state.db) as session:
        account = account_for_token(session, token.strip())
        return stored_id(account) if account is not None else None
