"""One JSON error format for every failure, with a Japanese message:

    {"error": {"code": "not_found", "message": "ニーズ（ID: 5）が見つかりません。",
               "details": [{"field": "body.title", "message": "必須項目です。"}]}}

Engine errors become HTTP errors here, at the edge, and nowhere else.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
    def __init__(self, status: int, code: str, message: str, details: list[ErrorDetail] | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def not_found(kind: str, item_id: object) -> ApiError:
    return ApiError(404, "not_found", f"{kind}（ID: {item_id}）が見つかりません。")


def forbidden(message: str = "この操作を行う権限がありません。") -> ApiError:
    return ApiError(403, "forbidden", message)


STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                409: "conflict", 413: "payload_too_large", 422: "validation_error", 503: "not_ready"}
STATUS_MESSAGES = {
    400: "リクエストが正しくありません。",
    401: "認証が必要です。有効なAPIトークンを Authorization: Bearer で送ってください。",
    403: "この操作を行う権限がありません。",
    404: "指定されたページまたはデータが見つかりません。",
    405: "このURLではその操作はできません。",
    413: "送信されたデータが大きすぎます。",
    503: "サービスの準備ができていません。しばらくしてからお試しください。",
}

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


def _japanese(error: dict) -> str:
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


def validation_details(errors) -> list[ErrorDetail]:
    return [ErrorDetail(field=".".join(str(p) for p in e.get("loc", ())), message=_japanese(e)) for e in errors]


def _response(status: int, code: str, message: str, details: list[ErrorDetail] | None = None, headers=None) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    return JSONResponse(status_code=status, content=body.model_dump(), headers=headers)


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not a script asking for JSON)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        details = validation_details(exc.errors())
        return _response(422, "validation_error", "入力内容に誤りがあります。各項目のメッセージを確認してください。", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = STATUS_MESSAGES.get(exc.status_code, "エラーが発生しました。")
        if wants_html(request):  # a mistyped page address gets a Japanese page, not JSON
            from .routes.pages import error_page

            return error_page(request, exc.status_code, message)
        return _response(exc.status_code, STATUS_CODES.get(exc.status_code, "error"), message, headers=exc.headers)

    @app.exception_handler(NotFoundError)
    async def _engine_not_found(_: Request, exc: NotFoundError):
        return _response(404, "not_found", str(exc))

    @app.exception_handler(InvalidInputError)
    async def _engine_invalid(_: Request, exc: InvalidInputError):
        return _response(422, "validation_error", str(exc))

    @app.exception_handler(MatcherError)
    async def _engine_error(_: Request, exc: MatcherError):
        return _response(503, "not_ready", str(exc))
