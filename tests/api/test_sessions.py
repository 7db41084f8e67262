"""Issue 14, item 2: server-side web sessions. The cookie holds a random id; the server ends the session."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api import models as m
from api.auth import issue_token
from api.models import utcnow
from api.security_models import WebSession
from api.sessions import TOUCH_EVERY_S
from api.web.session import COOKIE

from ..web.conftest import csrf_of

ID = re.compile(r"[A-Za-z0-9_-]{43}")


def new_account(client, role=m.Role.poster) -> tuple[int, str]:
    with Session(client.app.state.db) as session:
        account = m.Account(name=f"セッション試験 {uuid.uuid4().hex[:6]}", role=role)
        session.add(account)
        session.commit()
        return account.id, issue_token(session, account)


def token_id_of(client, account_id: int) -> int:
    with Session(client.app.state.db) as session:
        return session.exec(select(m.ApiToken.id).where(m.ApiToken.account_id == account_id)).one()


def browser(client) -> TestClient:
    return TestClient(client.app)


def sign_in(pages: TestClient, token: str) -> str:
    """Sign in; return the session's cookie value."""
    pages.cookies.clear()
    csrf = csrf_of(pages.get("/signin").text)
    response = pages.post("/signin", data={"csrf": csrf, "token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return pages.cookies[COOKIE]


def is_signed_in(pages: TestClient, cookie: str) -> bool:
    pages.cookies.clear()
    pages.cookies.set(COOKIE, cookie)
    response = pages.get("/needs", follow_redirects=False)
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


def rows_of(client, account_id: int) -> list[WebSession]:
    with Session(client.app.state.db) as session:
        return list(session.exec(select(WebSession).where(WebSession.account_id == account_id)).all())


def age(client, account_id: int, **fields) -> None:
    with Session(client.app.state.db) as session:
        for row in session.exec(select(WebSession).where(WebSession.account_id == account_id)).all():
            for name, delta in fields.items():
                setattr(row, name, utcnow() - delta)
            session.add(row)
        session.commit()


def test_the_cookie_holds_only_a_new_random_id(client):
    account_id, token = new_account(client)
    pages = browser(client)
    pages.get("/signin")
    before = pages.cookies[COOKIE]
    cookie = sign_in(pages, token)
    assert ID.fullmatch(cookie) and cookie != before
    assert token not in cookie and token.removeprefix("mt_") not in cookie
    (row,) = rows_of(client, account_id)
    assert row.id_hash != cookie and len(row.id_hash) == 64  # only its hash is stored


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(client):
    account_id, token = new_account(client)
    pages = browser(client)
    cookie = sign_in(pages, token)
    csrf = csrf_of(pages.get("/").text)
    assert pages.post("/signout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert rows_of(client, account_id) == []
    assert not is_signed_in(browser(client), cookie)


def test_a_csrf_token_from_before_sign_in_is_void_after_it(client):
    _, token = new_account(client)
    pages = browser(client)
    pages.cookies.clear()
    old_csrf = csrf_of(pages.get("/signin").text)
    assert pages.post("/signin", data={"csrf": old_csrf, "token": token}, follow_redirects=False).status_code == 303
    assert pages.post("/signout", data={"csrf": old_csrf}).status_code == 403


@pytest.mark.parametrize("field", ["last_seen_at", "created_at"])
def test_the_server_enforces_the_idle_and_absolute_timeouts(client, field):
    settings = client.app.state.settings
    limit = settings.session_idle_timeout_s if field == "last_seen_at" else settings.session_max_age_s
    account_id, token = new_account(client)
    pages = browser(client)
    cookie = sign_in(pages, token)
    age(client, account_id, **{field: timedelta(seconds=limit - 30)})
    assert is_signed_in(pages, cookie)
    age(client, account_id, **{field: timedelta(seconds=limit + 1)})
    late = browser(client)
    late.cookies.set(COOKIE, cookie)
    response = late.get("/needs", follow_redirects=False)
    assert response.status_code == 303  # to the sign-in page
    assert rows_of(client, account_id) == []  # an ended session is deleted when met
    new_id = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert ID.fullmatch(new_id) and new_id != cookie  # and the browser gets a new, anonymous id


def test_the_last_request_is_written_at_most_once_a_minute(client):
    account_id, token = new_account(client)
    pages = browser(client)
    cookie = sign_in(pages, token)
    age(client, account_id, last_seen_at=timedelta(seconds=TOUCH_EVERY_S - 20))
    (before,) = rows_of(client, account_id)
    assert is_signed_in(pages, cookie) and is_signed_in(pages, cookie)
    (same,) = rows_of(client, account_id)
    assert same.last_seen_at == before.last_seen_at
    age(client, account_id, last_seen_at=timedelta(seconds=TOUCH_EVERY_S + 5))
    assert is_signed_in(pages, cookie)
    (touched,) = rows_of(client, account_id)
    assert touched.last_seen_at > before.last_seen_at


def test_revoking_the_token_ends_its_sessions(client, actors):
    account_id, token = new_account(client)
    pages = browser(client)
    cookie = sign_in(pages, token)
    revoked = client.delete(f"/api/v1/admin/tokens/{token_id_of(client, account_id)}", headers=actors.admin)
    assert revoked.status_code == 200, revoked.text
    assert rows_of(client, account_id) == []
    assert not is_signed_in(browser(client), cookie)


def test_disabling_the_account_ends_its_sessions(client, actors):
    account_id, token = new_account(client)
    cookie = sign_in(browser(client), token)
    other = sign_in(browser(client), token)  # two browsers
    assert len(rows_of(client, account_id)) == 2
    assert client.post(f"/api/v1/admin/accounts/{account_id}/disable", headers=actors.admin).status_code == 200
    assert rows_of(client, account_id) == []
    assert not is_signed_in(browser(client), cookie) and not is_signed_in(browser(client), other)


def test_the_secure_flag_follows_the_setting(client, monkeypatch):
    _, token = new_account(client)
    pages = browser(client)
    pages.cookies.clear()
    assert "secure" not in pages.get("/signin").headers["set-cookie"].lower()  # plain http, no setting
    monkeypatch.setattr(client.app.state.settings, "cookie_secure", True)  # behind a TLS proxy
    pages.cookies.clear()
    response = pages.get("/signin")
    assert "; secure" in response.headers["set-cookie"].lower()
    assert "httponly" in response.headers["set-cookie"].lower()
    assert token
