"""Issue 14, item 3: tokens an admin can manage. List, revoke by id, disable accounts; expiry; last use recorded."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select
from typer.testing import CliRunner

from api import models as m
from api.admin import app as admin_cli
from api.auth import USE_RECORDED_EVERY_S, hash_token, issue_token
from api.main import create_app
from api.models import utcnow
from api.settings import Settings, get_settings

from ..conftest import GOLDEN
from ..web.conftest import csrf_of

API = "/api/v1"


def new_account(client, role=m.Role.poster, **token) -> tuple[int, str]:
    with Session(client.app.state.db) as session:
        account = m.Account(name=f"トークン試験 {uuid.uuid4().hex[:6]}", role=role)
        session.add(account)
        session.commit()
        return account.id, issue_token(session, account, **token)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_row(client, token: str) -> m.ApiToken:
    with Session(client.app.state.db) as session:
        return session.exec(select(m.ApiToken).where(m.ApiToken.token_hash == hash_token(token))).one()


# ---- the admins' API ---------------------------------------------------------------------------------
def test_admins_list_tokens_without_their_hashes(client, actors):
    account_id, token = new_account(client)
    listed = client.get(f"{API}/admin/tokens", params={"account_id": account_id}, headers=actors.admin)
    assert listed.status_code == 200
    (row,) = listed.json()
    assert row["account_id"] == account_id and row["active"] is True and row["revoked_at"] is None
    assert "token_hash" not in row and hash_token(token) not in listed.text and token not in listed.text
    everyone = client.get(f"{API}/admin/tokens", headers=actors.admin).json()
    assert len(everyone) > 1
    for who in (actors.coordinator, actors.poster, actors.researcher):
        assert client.get(f"{API}/admin/tokens", headers=who).status_code == 403
    assert client.get(f"{API}/admin/tokens").status_code == 401


def test_revoking_by_id_refuses_the_token_at_once(client, actors):
    account_id, token = new_account(client)
    assert client.get(f"{API}/me", headers=bearer(token)).status_code == 200
    token_id = token_row(client, token).id
    revoked = client.delete(f"{API}/admin/tokens/{token_id}", headers=actors.admin)
    assert revoked.status_code == 200 and revoked.json()["active"] is False and revoked.json()["revoked_at"]
    refused = client.get(f"{API}/me", headers=bearer(token))
    assert refused.status_code == 401 and "無効" in refused.json()["error"]["message"]
    assert client.delete(f"{API}/admin/tokens/{token_id}", headers=actors.admin).status_code == 200  # again: same
    missing = client.delete(f"{API}/admin/tokens/{2**31 - 1}", headers=actors.admin)
    assert missing.status_code == 404 and "見つかりません" in missing.json()["error"]["message"]
    assert client.delete(f"{API}/admin/tokens/{token_id}", headers=actors.coordinator).status_code == 403


def test_disabling_an_account_refuses_all_its_tokens_until_enabled(client, actors):
    account_id, token = new_account(client)
    with Session(client.app.state.db) as session:
        second = issue_token(session, session.get_one(m.Account, account_id))
    disabled = client.post(f"{API}/admin/accounts/{account_id}/disable", headers=actors.admin)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert client.get(f"{API}/me", headers=bearer(token)).status_code == 401
    assert client.get(f"{API}/me", headers=bearer(second)).status_code == 401
    listed = client.get(f"{API}/admin/tokens", params={"account_id": account_id}, headers=actors.admin).json()
    assert [t["active"] for t in listed] == [False, False]
    assert client.post(f"{API}/admin/accounts/{account_id}/enable", headers=actors.admin).json()["disabled"] is False
    assert client.get(f"{API}/me", headers=bearer(token)).status_code == 200


def test_an_admin_cannot_lock_themselves_out(client, actors):
    me = client.get(f"{API}/me", headers=actors.admin).json()["id"]
    refused = client.post(f"{API}/admin/accounts/{me}/disable", headers=actors.admin)
    assert refused.status_code == 422 and "自分" in refused.json()["error"]["message"]
    assert client.post(f"{API}/admin/accounts/{2**31 - 1}/disable", headers=actors.admin).status_code == 404


# ---- expiry and last use ------------------------------------------------------------------------------
def test_an_expired_token_is_refused_on_the_api_and_the_pages(client):
    _, token = new_account(client, expires_at=utcnow() + timedelta(hours=1))
    assert client.get(f"{API}/me", headers=bearer(token)).status_code == 200
    _, expired = new_account(client, expires_at=utcnow() - timedelta(seconds=1))
    assert client.get(f"{API}/me", headers=bearer(expired)).status_code == 401
    pages = TestClient(client.app)
    csrf = csrf_of(pages.get("/signin").text)
    assert pages.post("/signin", data={"csrf": csrf, "token": expired}).status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(client):
    _, token = new_account(client)
    assert token_row(client, token).last_used_at is None
    writes: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE APITOKEN"):
            writes.append(statement)

    engine = client.app.state.db
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert client.get(f"{API}/me", headers=bearer(token)).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(writes) == 1  # five requests, one write
    first = token_row(client, token).last_used_at
    assert first is not None
    with Session(engine) as session:
        row = session.exec(select(m.ApiToken).where(m.ApiToken.token_hash == hash_token(token))).one()
        row.last_used_at = utcnow() - timedelta(seconds=USE_RECORDED_EVERY_S + 5)
        session.add(row)
        session.commit()
    client.get(f"{API}/me", headers=bearer(token))
    assert token_row(client, token).last_used_at > first - timedelta(seconds=1)


# ---- the command line ---------------------------------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MATCHER_CORPUS_DIR", str(GOLDEN))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_the_command_line_lists_revokes_by_id_and_disables(cli_env, encoder):
    runner = CliRunner()
    made = runner.invoke(admin_cli, ["create-account", "--name", "県の担当者", "--role", "coordinator",
                                     "--expires-days", "30"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    other = runner.invoke(admin_cli, ["create-account", "--name", "市の担当者", "--role", "poster"])
    other_token = other.stdout.strip().splitlines()[-1]
    listed = runner.invoke(admin_cli, ["list-tokens", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["account_name"] for r in rows] == ["県の担当者", "市の担当者"]
    assert rows[0]["expires_at"] and rows[1]["expires_at"] is None and token not in listed.stdout
    assert "県の担当者" in runner.invoke(admin_cli, ["list-tokens"]).stdout
    with TestClient(create_app(Settings(data_dir=cli_env), encoder=encoder)) as client:
        assert client.get(f"{API}/me", headers=bearer(token)).status_code == 200
        assert runner.invoke(admin_cli, ["revoke-token", "--id", str(rows[0]["id"])]).exit_code == 0
        assert client.get(f"{API}/me", headers=bearer(token)).status_code == 401
        assert runner.invoke(admin_cli, ["revoke-token", "--id", "999999"]).exit_code == 1
        assert runner.invoke(admin_cli, ["revoke-token"]).exit_code != 0  # neither the token nor --id
        assert runner.invoke(admin_cli, ["disable-account", str(rows[1]["account_id"])]).exit_code == 0
        assert client.get(f"{API}/me", headers=bearer(other_token)).status_code == 401
        assert runner.invoke(admin_cli, ["enable-account", str(rows[1]["account_id"])]).exit_code == 0
        assert client.get(f"{API}/me", headers=bearer(other_token)).status_code == 200
        assert runner.invoke(admin_cli, ["disable-account", "999999"]).exit_code == 1
    after = json.loads(runner.invoke(admin_cli, ["list-tokens", "--json"]).stdout)
    assert after[0]["revoked_at"] and not after[0]["active"] and after[1]["last_used_at"]
