"""Admins: accounts and their roles, and API tokens (issue 15). Listing (by a part of the name, a role, an
organisation; 20 a page), creating an account (its first token shown once), changing its role, disabling and
enabling it; listing tokens (by account, a part of its name, its role; 20 a page), revoking one, and issuing a new
one to an existing account.

The rules are those of `matcher-admin` and the admin API (api/accounts.py, api/tokens.py): a page, the API and
the command line refuse the same things with the same Japanese words (an admin's own role and account, the last
active admin), and record the same audit rows. A token is shown on the answer of the post that made it, never again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from .. import accounts, tokens
from ..deps import SessionDep
from ..errors import ApiError, not_found
from ..models import Account, ApiToken, Organisation, OrgKind, Researcher, Role
from ..params import PathId
from . import admin_labels, labels
from .admin_lists import by_name_and_role, listing
from .admin_orgs import require_admin
from .deps import PAGE_WRITES, SignedIn
from .forms import Form, Values, check_csrf, text
from .render import redirect, render
from .routing import page_router

router = page_router()

ACCOUNT_FORM_FIELDS = ("name", "role", "organisation_id", "researcher_id", "expires_days")


def _number(values: Values, name: str, errors: dict[str, str]) -> int | None:
    """An optional whole number typed in a field; an error (kept by field) when it is not one."""
    typed = str(values.get(name) or "").strip()
    if not typed:
        return None
    if typed.isascii() and typed.isdigit() and len(typed) <= 9:
        return int(typed)
    errors[name] = admin_labels.NUMBER
    return None


def _id_in(typed: str) -> int | None:
    """An id given in the address to narrow a list; anything else (a word, a number no row can have) narrows nothing."""
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) <= 9 else None


def _listed_accounts(request: Request, session: Session) -> dict[str, Any]:
    """The accounts list as the address narrows it (a part of the name, a role, an organisation), one page of it."""
    organisation = _id_in(request.query_params.get("organisation_id", ""))
    query, typed, errors = by_name_and_role(request, select(Account), col(Account.name), col(Account.role))
    if organisation is not None:
        query = query.where(col(Account.organisation_id) == organisation)
    typed["organisation_id"] = str(organisation or "")
    listed = listing(request, session, query, col(Account.id), typed, errors)
    return {**listed, "accounts": listed["rows"]}


def _accounts_page(request: Request, session: Session, *, values: Values, errors: dict[str, str],
                   new: tuple[Account, str] | None = None, refused: str | None = None,
                   status: int = 200) -> HTMLResponse:
    orgs = {o.id: o for o in session.exec(select(Organisation).order_by(col(Organisation.name))).all()}
    linked = {r.account_id: r for r in session.exec(select(Researcher).where(col(Researcher.account_id).is_not(None)))}
    context: dict[str, Any] = {
        **_listed_accounts(request, session), "orgs": orgs, "linked": linked, "values": values, "errors": errors,
        "new": new, "refused": refused, "labels": admin_labels.ACCOUNT_FIELDS, "roles": list(Role),
        "kinds": admin_labels.ORG_KINDS, "university": OrgKind.university, "warning": admin_labels.TOKEN_WARNING,
        "free_researchers": session.exec(select(Researcher).where(col(Researcher.account_id).is_(None))
                                         .order_by(col(Researcher.id))).all()}
    return render(request, "admin_accounts.html", context, status=status)


LIST_KEYS = ("name", "role", "organisation_id", "page")


def _back_to_list(request: Request) -> Response:
    """After a change from the list, the same page of the same list: the forms post to an address that carries
    the list's (only its own keys are kept, so the answer is always this list)."""
    kept = {k: request.query_params[k] for k in LIST_KEYS if request.query_params.get(k)}
    return redirect(request, "/admin/accounts" + (f"?{urlencode(kept)}" if kept else ""))


@router.get("/admin/accounts")
def accounts_page(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    require_admin(account)
    chosen = request.query_params.get("organisation_id", "")
    return _accounts_page(request, session, values={"role": "poster", "organisation_id": chosen}, errors={})


@router.post("/admin/accounts", dependencies=[PAGE_WRITES])
def account_create(request: Request, session: SessionDep, account: SignedIn, form: Form) -> Response:
    check_csrf(request, form)
    require_admin(account)
    values: Values = {name: text(form, name).strip() for name in ACCOUNT_FORM_FIELDS}
    values["liaison_office"] = text(form, "liaison_office") == "yes"
    errors: dict[str, str] = {}
    numbers = {name: _number(values, name, errors) for name in ("organisation_id", "researcher_id", "expires_days")}
    try:
        role = Role(values["role"])
    except ValueError:
        errors["role"] = admin_labels.ROLE_CHOICE
    if errors:
        return _accounts_page(request, session, values=values, errors=errors, status=422)
    try:
        made = accounts.create_account(
            session, name=values["name"], role=role, organisation_id=numbers["organisation_id"],
            researcher_id=numbers["researcher_id"], liaison_office=values["liaison_office"],
            expires_days=numbers["expires_days"], label="created on the admin page")
    except ApiError as exc:
        session.rollback()
        return _accounts_page(request, session, values=values, errors={"_": exc.message}, status=422)
    return _accounts_page(request, session, values={"role": "poster", "organisation_id": ""}, errors={}, new=made)


def _account_change(request: Request, session: Session, change: Callable[[], Account]) -> Response:
    """Make the change; a refusal (the admin's own account, the last active admin) is said above the list."""
    try:
        change()
    except ApiError as exc:
        if exc.status != 422:
            raise
        session.rollback()
        return _refused(request, session, exc.message)
    return _back_to_list(request)


def _refused(request: Request, session: Session, message: str) -> HTMLResponse:
    return _accounts_page(request, session, values={"role": "poster", "organisation_id": ""}, errors={},
                          refused=message, status=422)


@router.post("/admin/accounts/{account_id}/role", dependencies=[PAGE_WRITES])
def account_role(request: Request, account_id: PathId, session: SessionDep, account: SignedIn,
                 form: Form) -> Response:
    check_csrf(request, form)
    require_admin(account)
    try:
        role = Role(text(form, "role"))
    except ValueError:
        return _refused(request, session, admin_labels.ROLE_CHOICE)
    return _account_change(request, session, lambda: accounts.change_role(session, account, account_id, role))


@router.post("/admin/accounts/{account_id}/disable", dependencies=[PAGE_WRITES])
def account_disable(request: Request, account_id: PathId, session: SessionDep, account: SignedIn,
                    form: Form) -> Response:
    check_csrf(request, form)
    require_admin(account)
    return _account_change(request, session, lambda: accounts.set_disabled(session, account, account_id, True))


@router.post("/admin/accounts/{account_id}/enable", dependencies=[PAGE_WRITES])
def account_enable(request: Request, account_id: PathId, session: SessionDep, account: SignedIn,
                   form: Form) -> Response:
    check_csrf(request, form)
    require_admin(account)
    return _account_change(request, session, lambda: accounts.set_disabled(session, account, account_id, False))


# ---- tokens ---------------------------------------------------------------------------------------
def _listed_tokens(request: Request, session: Session) -> dict[str, Any]:
    """The tokens list as the address narrows it (an account, a part of its name, its role), one page of it."""
    account_id = _id_in(request.query_params.get("account_id", ""))
    query, typed, errors = by_name_and_role(request, select(ApiToken, Account).where(
        col(ApiToken.account_id) == col(Account.id)), col(Account.name), col(Account.role))
    if account_id is not None:
        query = query.where(col(ApiToken.account_id) == account_id)
    typed["account_id"] = str(account_id or "")
    listed = listing(request, session, query, col(ApiToken.id), typed, errors)
    return {**listed, "tokens": [tokens.token_public(token, owner) for token, owner in listed["rows"]],
            "account_id": account_id}


def _tokens_page(request: Request, session: Session, *, values: Values, errors: dict[str, str],
                 new: tuple[Account, str] | None = None, status: int = 200) -> HTMLResponse:
    context: dict[str, Any] = {
        **_listed_tokens(request, session), "values": values, "errors": errors, "new": new,
        "accounts": session.exec(select(Account).order_by(col(Account.id))).all(), "role_names": labels.ROLE_NAMES,
        "roles": list(Role), "labels": admin_labels.ACCOUNT_FIELDS, "warning": admin_labels.TOKEN_WARNING}
    return render(request, "admin_tokens.html", context, status=status)


@router.get("/admin/tokens")
def tokens_page(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    require_admin(account)
    return _tokens_page(request, session, values={"account_id": request.query_params.get("account_id", "")},
                        errors={})


@router.post("/admin/tokens", dependencies=[PAGE_WRITES])
def token_issue(request: Request, session: SessionDep, account: SignedIn, form: Form) -> Response:
    check_csrf(request, form)
    require_admin(account)
    values: Values = {name: text(form, name).strip() for name in ("account_id", "expires_days", "label")}
    errors: dict[str, str] = {}
    account_id, days = _number(values, "account_id", errors), _number(values, "expires_days", errors)
    if account_id is None and "account_id" not in errors:
        errors["account_id"] = "アカウントを選んでください。"
    if errors or account_id is None:
        return _tokens_page(request, session, values=values, errors=errors, status=422)
    try:
        made = accounts.new_token(session, account_id, label=values["label"], expires_days=days)
    except ApiError as exc:
        return _tokens_page(request, session, values=values, errors={"_": exc.message}, status=422)
    return _tokens_page(request, session, values={"account_id": ""}, errors={}, new=made)


@router.post("/admin/tokens/{token_id}/revoke", dependencies=[PAGE_WRITES])
def token_revoke(request: Request, token_id: PathId, session: SessionDep, account: SignedIn,
                 form: Form) -> Response:
    """Revoke a token; the web sessions signed in with it end with it (the admin's own included)."""
    check_csrf(request, form)
    require_admin(account)
    if tokens.revoke_token_id(session, token_id) is None:
        raise not_found("APIトークン", token_id)
    return redirect(request, "/admin/tokens")
