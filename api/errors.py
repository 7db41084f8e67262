"""One error format for every failure, with a Japanese message. The API answers it as JSON:

    {"error": {"code": "not_found", "message": "ニーズ（ID: 5）が見つかりません。",
               "details": [{"field": "body.title", "message": "必須項目です。"}]}}

`http_error` is the one table from an exception (ours, FastAPI's validation, Starlette's HTTP errors and the
engine's) to status, code, message and details. The JSON handlers below answer with it; the web pages render
the same `HttpError` as a Japanese HTML page (api/web/render.py), and `install_error_handlers` takes that
renderer as a parameter, so this module depends on nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher.errors import InvalidInputError, MatcherError, NotFoundError


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list[ErrorDetail] | None = None,
                 headers: dict[str, str] | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers


class RateLimited(ApiError):
    """429: a rate limit or a full queue. `Retry-After` says in how many seconds to try again."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(429, "rate_limited", message, headers={"Retry-After": str(max(1, retry_after_s))})


def internal_error() -> ApiError:
    """What a caller learns of a bug: a Japanese sentence; the trace goes to the server's log (api/last_resort.py)."""
    return ApiError(500, "internal_error", STATUS_MESSAGES[500])


def not_found(kind: str, item_id: object) -> ApiError:
    return ApiError(404, "not_found", f"{kind}（ID: {item_id}）が見つかりません。")


def forbidden(message: str = "この操作を行う権限がありません。") -> ApiError:
    return ApiError(403, "forbidden", message)


STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                409: "conflict", 413: "payload_too_large", 422: "validation_error", 429: "rate_limited",
                500: "internal_error", 503: "not_ready"}
STATUS_MESSAGES = {
    400: "リクエストが正しくありません。",
    401: "認証が必要です。有効なAPIトークンを Authorization: Bearer で送ってください。",
    403: "この操作を行う権限がありません。",
    404: "指定されたページまたはデータが見つかりません。",
    405: "このURLではその操作はできません。",
    413: "送信されたデータが大きすぎます。",
    429: "リクエストが多すぎます。しばらく待ってからもう一度お試しください。",
    500: "サーバーで予期しないエラーが発生しました。しばらくしてからもう一度お試しください。"
         "続く場合は管理者にお問い合わせください。",
    503: "サービスの準備ができていません。しばらくしてからお試しください。",
}
VALIDATION_MESSAGE = "入力内容に誤りがあります。各項目のメッセージを確認してください。"

# the engine's errors, most specific first (NotFoundError and InvalidInputError are MatcherErrors)
ENGINE_ERRORS: tuple[tuple[type[MatcherError], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (InvalidInputError, 422, "validation_error"),
    (MatcherError, 503, "not_ready"),
)

# pydantic error types → Japanese, with the error's context values filled in
VALIDATION_MESSAGES = {
    "missing": "必須項目です。",
    "extra_forbidden": "この項目は使えません。",
    "string_too_short": "{min_length}文字以上で入力してください。",
    "string_too_long": "{max_length}文字以内で入力してください。",
    "string_type": "文字列で指定してください。",
    "int_parsing": "整数で指定してください。",
    "int_type": "整数で指定してください。",
    "bool_parsing": "true か false で指定してください。",
    "list_type": "配列で指定してください。",
    "dict_type": "オブジェクトで指定してください。",
    "enum": "次のいずれかを指定してください: {expected}",
    "literal_error": "次のいずれかを指定してください: {expected}",
    "greater_than_equal": "{ge}以上で指定してください。",
    "less_than_equal": "{le}以下で指定してください。",
    "greater_than": "{gt}より大きい値で指定してください。",
    "less_than": "{lt}より小さい値で指定してください。",
    "too_long": "{max_length}個以内で指定してください。",
    "json_invalid": "JSONとして読めません。",
    "model_attributes_type": "オブジェクトで指定してください。",
}


def _japanese(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error") or error.get("msg", ""))
        return message.removeprefix("Value error, ")
    template = VALIDATION_MESSAGES.get(kind)
    if template is None:
        return "入力が正しくありません。"
    try:
        return template.format(**error.get("ctx", {}))
    except (KeyError, IndexError):
        return template


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[ErrorDetail]:
    return [ErrorDetail(field=".".join(str(p) for p in e.get("loc", ())), message=_japanese(e)) for e in errors]


@dataclass(frozen=True)
class HttpError:
    """What a failure means over HTTP, whichever form (JSON or an HTML page) answers it."""

    status: int
    code: str
    message: str
    details: list[ErrorDetail] = field(default_factory=list)
    headers: dict[str, str] | None = None


# the exceptions `http_error` knows; anything else is a bug and stays a 500
HANDLED: tuple[type[Exception], ...] = (ApiError, RequestValidationError, StarletteHTTPException, MatcherError)


def http_error(exc: Exception) -> HttpError:
    if isinstance(exc, ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else exc.headers
        return HttpError(exc.status, exc.code, exc.message, exc.details, headers)
    if isinstance(exc, RequestValidationError):
        return HttpError(422, "validation_error", VALIDATION_MESSAGE, validation_details(exc.errors()))
    if isinstance(exc, StarletteHTTPException):
        return HttpError(exc.status_code, STATUS_CODES.get(exc.status_code, "error"),
                         STATUS_MESSAGES.get(exc.status_code, "エラーが発生しました。"),
                         headers=dict(exc.headers) if exc.headers else None)
    for kind, status, code in ENGINE_ERRORS:
        if isinstance(exc, kind):
            return HttpError(status, code, str(exc))
    raise TypeError(f"no HTTP form for {type(exc).__name__}") from exc


def _encodable(text: str) -> str:
    """A message may quote the input; a lone surrogate in it could not be sent as UTF-8 (a 500 in the 422)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def json_error(error: HttpError) -> JSONResponse:
    details = [ErrorDetail(field=_encodable(d.field), message=_encodable(d.message)) for d in error.details]
    body = ErrorResponse(error=ErrorBody(code=error.code, message=_encodable(error.message), details=details))
    return JSONResponse(status_code=error.status, content=body.model_dump(), headers=error.headers)


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not a script asking for JSON)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


HtmlErrorPage = Callable[[Request, Exception], Response]


def install_error_handlers(app: FastAPI, html_page: HtmlErrorPage | None = None) -> None:
    """Answer every known error as JSON; with `html_page`, a browser asking for a page gets that instead
    (a mistyped page address gets a Japanese page, not JSON)."""

    async def handle(request: Request, exc: Exception) -> Response:
        if html_page is not None and wants_html(request):
            return html_page(request, exc)
        return json_error(http_error(exc))

    for kind in HANDLED:
        app.add_exception_handler(kind, handle)
