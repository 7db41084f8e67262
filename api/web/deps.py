"""Who is signed in on the pages: the account of the server-side session named by the cookie (api/sessions.py).

`SignedIn` and `MaybeSignedIn` also record the account on the request, so that every page rendered for it
(error pages included) shows who is signed in; a missing sign-in raises `SignInRequired`, which the pages'
route class (api/web/routing.py) turns into a redirect to /signin.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..errors import forbidden
from ..models import Account, Role
from ..rate_limits import charging
from . import session as websession


class SignInRequired(Exception):
    pass


def _account_of_session(request: Request) -> Account | None:
    account = websession.load(request).account
    request.state.page_account = account  # read by render()
    return account


def signed_in(request: Request) -> Account:
    account = _account_of_session(request)
    if account is None:
        raise SignInRequired()
    return account


def maybe_signed_in(request: Request) -> Account | None:
    return _account_of_session(request)


SignedIn = Annotated[Account, Depends(signed_in)]
MaybeSignedIn = Annotated[Account | None, Depends(maybe_signed_in)]

# the pages' share of the API's budgets (api/rate_limits.py), charged to the same account
PAGE_MATCHES = charging("match", signed_in)
PAGE_WRITES = charging("write", signed_in)


def require(account: Account, *roles: Role, message: str) -> None:
    """The page's own wording of a refused role (the API's is generic)."""
    if account.role not in roles:
        raise forbidden(message)


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path on this site, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if not target.isprintable():  # control characters (a header split, a NUL): not a place on this site
        return "/"
    return target
