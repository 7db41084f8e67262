"""The admin pages' lists (organisations, accounts, tokens): one way to narrow by a part of a name and by a role
typed in the address, and one way to cut a list into pages of `PER_PAGE`, newest first."""

from __future__ import annotations

from math import ceil
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, func, select

from ..models import Role
from .admin_labels import ROLE_CHOICE
from .needs import page_of

PER_PAGE = 20


def name_part(column: Mapped[str], typed: str) -> ColumnElement[bool]:
    """`column` holds `typed` somewhere; LIKE's own wildcards typed by the admin are matched as themselves. A NUL
    is dropped: no stored name holds one (api/text_checks.py), and PostgreSQL refuses it in a query."""
    escaped = typed.replace("\x00", "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def role_filter(request: Request) -> tuple[str, Role | None, dict[str, str]]:
    """The role typed in the address (as typed, as a Role, and an error for one the page did not offer)."""
    typed = request.query_params.get("role", "")
    try:
        return typed, Role(typed) if typed else None, {}
    except ValueError:  # an address the page did not make: narrow nothing by role, and say so
        return typed, None, {"role": ROLE_CHOICE}


def by_name_and_role(request: Request, query: Any, name: Mapped[str],
                     role: Mapped[Role]) -> tuple[Any, dict[str, str], dict[str, str]]:
    """`query` narrowed by the part of a name and the role the address gives; what was typed; its errors."""
    typed_role, chosen, errors = role_filter(request)
    typed = {"name": request.query_params.get("name", "").strip(), "role": typed_role}
    if chosen is not None:
        query = query.where(role == chosen)
    if typed["name"]:
        query = query.where(name_part(name, typed["name"]))
    return query, typed, errors


def listing(request: Request, session: Session, query: Any, order: Any, typed: dict[str, str],
            errors: dict[str, str]) -> dict[str, Any]:
    """The page of `query` the address asks for, with what a list's template shows around it: its size, the
    pager, the filters as typed (and as the pager's links repeat them), and the filters' errors."""
    number, page_errors = page_of(request)
    rows, total, pages = one_page(session, query, order, number)
    return {"rows": rows, "total": total, "page": number, "pages": pages, "typed": typed,
            "query": {k: v for k, v in typed.items() if v}, "filter_errors": {**errors, **page_errors}}


def one_page(session: Session, query: Any, order: Any, number: int) -> tuple[list[Any], int, int]:
    """Page `number` of `query` in `order`, the number of rows it matches, and of pages (at least one)."""
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(order).offset((number - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return list(rows), total, max(ceil(total / PER_PAGE), 1)
