"""Reading the pages' form posts: the CSRF check, the typed values (kept to show again), and their errors.

A form is validated by the API's own models (NeedCreate, SeedCreate, SeedUpdate, ReportRequest), so a page
accepts exactly what the API would; only the wording of the errors is the page's.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from ..errors import ApiError, validation_details
from . import labels
from . import session as websession

Values = dict[str, Any]  # what the user typed, by field, as the form shows it again


async def read_form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(read_form)]


def text(form: FormData, name: str, default: str = "") -> str:
    """A text field; a file sent in its place counts as empty."""
    value = form.get(name, default)
    return value if isinstance(value, str) else default


def long_text(form: FormData, name: str) -> str:
    """A textarea: the browser sends each line break as CRLF, but counts it (and the page's counter shows it) as
    one character; so it is one here too, and a text the counter shows within the limit is within it."""
    return text(form, name).replace("\r\n", "\n")


def texts(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


def csrf_ok(request: Request, form: FormData) -> bool:
    return websession.load(request).csrf_ok(request, text(form, "csrf") or None)


def check_csrf(request: Request, form: FormData) -> None:
    if not csrf_ok(request, form):
        raise ApiError(403, "csrf", labels.CSRF_MESSAGE)


def form_errors(exc: ValidationError) -> dict[str, str]:
    """The first message of each field, in the page's words."""
    errors: dict[str, str] = {}
    for detail in validation_details(exc.errors()):
        message = labels.FILL_IN if detail.message == "1文字以上で入力してください。" else detail.message
        errors.setdefault(detail.field.split(".")[0] or "_", message)
    return errors


def without_empty(values: Values, *optional: str) -> Values:
    """The values to validate: an empty optional field means "not given", so the model's default applies."""
    return {k: v for k, v in values.items() if not (k in optional and v == "")}


# ---- needs and seeds ------------------------------------------------------------------------------
def need_values(form: FormData) -> Values:
    return {"title": text(form, "title"), "description": long_text(form, "description"),
            "prefecture_code": text(form, "prefecture_code"), "municipality_code": text(form, "municipality_code"),
            "market_areas": texts(form, "market_areas"), "collaboration": text(form, "collaboration"),
            "visibility": text(form, "visibility", "public")}


def seed_values(form: FormData) -> Values:
    return {"title": text(form, "title"), "summary": long_text(form, "summary"), "keywords": text(form, "keywords"),
            "market_areas": texts(form, "market_areas"), "readiness": text(form, "readiness"),
            "visibility": text(form, "visibility", "public")}


def seed_data(values: Values) -> Values:
    """The seed form's values as the API's seed models take them."""
    return without_empty(dict(values, keywords=split_keywords(values["keywords"])), "readiness", "visibility")


def split_keywords(typed: str) -> list[str]:
    return [k for k in re.split(r"[,\n、，]", typed or "") if k.strip()]


# ---- the coordinator's report form ----------------------------------------------------------------
REPORT_OPTIONAL = ("since", "until", "unmet_threshold", "assignment_cap")


def report_values(form: FormData) -> Values:
    def typed(name: str) -> str:
        return unicodedata.normalize("NFKC", text(form, name)).strip()  # full-width digits typed in Japanese

    return {"regions": texts(form, "regions"), "market_areas": texts(form, "market_areas"),
            "since": typed("since"), "until": typed("until"), "formats": texts(form, "formats"),
            "unmet_threshold": typed("unmet_threshold"), "assignment_cap": typed("assignment_cap"),
            "csv_encoding": text(form, "csv_encoding") or "utf-8-sig", "sort": text(form, "sort") or "overall"}


def report_form_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error, detail in zip(exc.errors(), validation_details(exc.errors()), strict=True):
        field = detail.field.split(".")[0] or "_"
        errors.setdefault(field, _report_message(field, error.get("type", ""), detail.message))
    return errors


def _report_message(field: str, kind: str, message: str) -> str:
    if field == "formats" and kind == "too_short":
        return labels.NO_FORMAT
    if field == "unmet_threshold":
        return labels.THRESHOLD_FORMAT
    return labels.REPORT_MESSAGES.get(kind, message)


Search = TypeVar("Search", bound=BaseModel)


def search_of(request: Request, model: type[Search]) -> tuple[Search, dict[str, str]]:
    """The search (of needs or of seeds) the address asks for, and the errors of the values refused (then nothing
    is narrowed)."""
    typed = {name: request.query_params.get(name, "") for name in model.model_fields}
    try:
        return model.model_validate(typed), {}
    except ValidationError as exc:
        return model(), form_errors(exc)
