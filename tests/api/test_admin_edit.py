"""Issue 15, the admin pages' edits, on SQLite and PostgreSQL: an organisation edited through the API and the page
with the checks and Japanese words of a creation (the index follows a university's new name); an account's role
changed, disabled and enabled, never the admin's own nor the last active admin's, each change in the audit log;
the accounts and tokens lists filtered and paged."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api import accounts
from api import models as m
from api.admin import app as admin_cli
from api.audit import AuditEntry
from api.settings import get_settings
from matcher.places import default_places

from ..conftest import GOLDEN
from ..web.conftest import sign_in

API = "/api/v1"
WRONG_CAMPUS = "山形県の市区町村「稚内市」が見つかりません。"


def _audit(client, action: str) -> list[AuditEntry]:
    with Session(client.app.state.db) as session:
        return list(session.exec(select(AuditEntry).where(col(AuditEntry.action) == action)
                                 .order_by(col(AuditEntry.id))).all())


def _me(client, headers) -> int:
    return client.get(f"{API}/me", headers=headers).json()["id"]


def _account(client, name: str, role: m.Role = m.Role.poster) -> tuple[int, dict]:
    with Session(client.app.state.db) as session:
        account, token = accounts.create_account(session, name=name, role=role)
        return m.stored_id(account), {"Authorization": f"Bearer {token}"}


def _city(client, actors, name: str) -> int:
    made = client.post(f"{API}/organisations", json={"name": name, "kind": "municipality", "prefecture_code": "06"},
                       headers=actors.admin)
    assert made.status_code == 201, made.text
    return made.json()["id"]


# ---- organisations: the API ----------------------------------------------------------------------------
def test_the_api_edits_an_organisation_with_the_checks_of_a_creation(client, actors):
    org_id = _city(client, actors, "編集テスト市")
    url = f"{API}/admin/organisations/{org_id}"
    wrong = client.patch(url, json={"municipality_code": "稚内市"}, headers=actors.admin)
    created_wrong = client.post(f"{API}/organisations", headers=actors.admin, json={
        "name": "x", "kind": "municipality", "prefecture_code": "06", "municipality_code": "稚内市"})
    assert wrong.status_code == created_wrong.status_code == 422
    messages = [r.json()["error"]["details"][0]["message"] for r in (wrong, created_wrong)]
    assert messages[0] == messages[1] and messages[0].startswith(WRONG_CAMPUS)

    edited = client.patch(url, json={"name": "編集後テスト市", "municipality_code": "山形市",
                                     "liaison_email": "sangyo@example.lg.jp"}, headers=actors.admin)
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["name"], body["kind"], body["prefecture_code"]) == ("編集後テスト市", "municipality", "06")
    assert body["municipality_code"] == default_places().need_municipality_code("山形市", "06")
    assert body["liaison_email"] == "sangyo@example.lg.jp"
    # a new prefecture must still hold the campus, as at creation; moving both, or clearing the campus, is fine
    moved = client.patch(url, json={"prefecture_code": "01"}, headers=actors.admin)
    assert moved.status_code == 422 and "北海道の市区町村" in moved.text
    moved = client.patch(url, json={"prefecture_code": "北海道", "municipality_code": None}, headers=actors.admin)
    assert moved.status_code == 200 and moved.json()["prefecture_code"] == "01"
    assert moved.json()["municipality_code"] is None and moved.json()["name"] == "編集後テスト市"
    kept = client.patch(url, json={"name": None, "liaison_email": None}, headers=actors.admin)  # null: a required
    assert kept.json()["name"] == "編集後テスト市" and kept.json()["liaison_email"] is None  # field stays
    assert client.patch(url, json={"name": ""}, headers=actors.admin).status_code == 422
    assert client.patch(url, json={"unexpected": 1}, headers=actors.admin).status_code == 422
    assert client.patch(f"{API}/admin/organisations/999999", json={}, headers=actors.admin).status_code == 404
    for role in ("coordinator", "poster", "researcher"):
        assert client.patch(url, json={"name": "乗っ取り"}, headers=getattr(actors, role)).status_code == 403
    rows = [r for r in _audit(client, "organisation_updated") if f"組織 {org_id}（" in (r.reason or "")]
    assert len(rows) == 3 and "name" in (rows[0].reason or "") and rows[0].account_id == _me(client, actors.admin)


def test_a_university_renamed_is_renamed_in_the_index_and_stays_a_university(client, actors):
    with Session(client.app.state.db) as session:
        org_id = session.get_one(m.Researcher, actors.other_researcher_id).organisation_id
        seed_ids = [s.id for s in session.exec(select(m.Seed).where(m.Seed.organisation_id == org_id)).all()]
    url = f"{API}/admin/organisations/{org_id}"
    old = client.get(f"{API}/organisations/{org_id}", headers=actors.admin).json()["name"]
    engine = client.app.state.service.engine
    assert seed_ids and all(engine.seeds[s].university == old for s in seed_ids if s in engine.seeds)
    try:
        renamed = client.patch(url, json={"name": f"{old}（改称）"}, headers=actors.admin)
        assert renamed.status_code == 200, renamed.text
        listed = [s for s in seed_ids if s in engine.seeds]
        assert listed and all(engine.seeds[s].university == f"{old}（改称）" for s in listed)
        assert f"{old}（改称）" in engine.universities
        refused = client.patch(url, json={"kind": "company"}, headers=actors.admin)
        assert refused.status_code == 422
        assert "研究者" in refused.json()["error"]["message"] and "種類を変えられません" in refused.text
    finally:
        client.patch(url, json={"name": old}, headers=actors.admin)


# ---- organisations: the page -----------------------------------------------------------------------------
def test_the_page_edits_an_organisation_with_the_same_words(client, actors):
    org_id = _city(client, actors, "画面で編集する市")
    browser = client.__class__(client.app)
    csrf = sign_in(browser, actors.admin)
    form = browser.get(f"/admin/organisations/{org_id}/edit")
    assert form.status_code == 200 and 'value="画面で編集する市"' in form.text
    fields = {"csrf": csrf, "name": "画面で編集した市", "kind": "municipality", "prefecture_code": "06",
              "municipality_code": "稚内市", "name_en": "", "liaison_office": "産業振興課", "liaison_url": "",
              "liaison_email": "", "liaison_phone": ""}
    wrong = browser.post(f"/admin/organisations/{org_id}/edit", data=fields)
    assert wrong.status_code == 422 and WRONG_CAMPUS in wrong.text
    assert 'value="画面で編集した市"' in wrong.text  # what was typed stays
    assert client.get(f"{API}/organisations/{org_id}", headers=actors.admin).json()["name"] == "画面で編集する市"
    assert browser.post(f"/admin/organisations/{org_id}/edit", data={**fields, "csrf": "wrong"}).status_code == 403
    saved = browser.post(f"/admin/organisations/{org_id}/edit", data={**fields, "municipality_code": "山形市"},
                         follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/admin/organisations?updated={org_id}"
    listed = browser.get(saved.headers["location"]).text
    assert "組織「画面で編集した市」" in listed and "を更新しました" in listed
    stored = client.get(f"{API}/organisations/{org_id}", headers=actors.admin).json()
    assert stored["liaison_office"] == "産業振興課" and stored["municipality_code"] == "062014"
    again = browser.get(f"/admin/organisations/{org_id}/edit").text
    assert 'value="山形市"' in again  # the campus by its name, as the admin typed it
    other = client.__class__(client.app)
    sign_in(other, actors.coordinator)
    assert other.get(f"/admin/organisations/{org_id}/edit").status_code == 403


# ---- accounts: roles, disabling ------------------------------------------------------------------------
def test_an_admin_changes_a_role_and_the_audit_log_keeps_it(client, actors):
    account_id, headers = _account(client, "役割を変えるアカウント")
    before = len(_audit(client, "account_role_changed"))
    changed = client.patch(f"{API}/admin/accounts/{account_id}", json={"role": "coordinator"}, headers=actors.admin)
    assert changed.status_code == 200 and changed.json()["role"] == "coordinator"
    assert client.get(f"{API}/me", headers=headers).json()["role"] == "coordinator"
    assert client.get(f"{API}/reports", headers=headers).status_code == 200  # the new role's routes open at once
    again = client.patch(f"{API}/admin/accounts/{account_id}", json={"role": "coordinator"}, headers=actors.admin)
    assert again.status_code == 200
    rows = _audit(client, "account_role_changed")
    assert len(rows) == before + 1  # the same role again changes nothing, records nothing
    assert f"アカウント {account_id}（役割を変えるアカウント）の役割: poster → coordinator" == rows[-1].reason
    assert rows[-1].account_id == _me(client, actors.admin) and rows[-1].account_role == "admin"
    assert client.patch(f"{API}/admin/accounts/{account_id}", json={"role": "boss"},
                        headers=actors.admin).status_code == 422
    assert client.patch(f"{API}/admin/accounts/{account_id}", json={"role": "admin"},
                        headers=actors.coordinator).status_code == 403


def test_an_admin_can_neither_demote_nor_disable_themself(client, actors):
    me = _me(client, actors.admin)
    demoted = client.patch(f"{API}/admin/accounts/{me}", json={"role": "poster"}, headers=actors.admin)
    assert demoted.status_code == 422 and demoted.json()["error"]["message"] == accounts.OWN_ROLE
    disabled = client.post(f"{API}/admin/accounts/{me}/disable", headers=actors.admin)
    assert disabled.status_code == 422 and disabled.json()["error"]["message"] == accounts.OWN_DISABLE
    assert client.get(f"{API}/me", headers=actors.admin).json()["role"] == "admin"


def test_a_researchers_account_stays_a_researcher(client, actors):
    researcher = _me(client, actors.researcher)
    refused = client.patch(f"{API}/admin/accounts/{researcher}", json={"role": "poster"}, headers=actors.admin)
    assert refused.status_code == 422 and "研究者（ID: " in refused.json()["error"]["message"]


def test_disabling_and_enabling_are_recorded(client, actors):
    account_id, headers = _account(client, "停止するアカウント")
    assert client.post(f"{API}/admin/accounts/{account_id}/disable", headers=actors.admin).status_code == 200
    assert client.get(f"{API}/me", headers=headers).status_code == 401
    assert client.post(f"{API}/admin/accounts/{account_id}/enable", headers=actors.admin).status_code == 200
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    for action in ("account_disabled", "account_enabled"):
        assert _audit(client, action)[-1].reason == f"アカウント {account_id}（停止するアカウント）", action
    listed = client.get(f"{API}/admin/audit", params={"action": "account_disabled"}, headers=actors.admin).json()
    assert listed["total"] >= 1 and listed["items"][0]["account_role"] == "admin"


def test_the_role_form_changes_a_role_and_says_why_it_refuses(client, actors):
    account_id, _ = _account(client, "画面で役割を変える")
    browser = client.__class__(client.app)
    csrf = sign_in(browser, actors.admin)
    page = browser.get("/admin/accounts?name=画面で役割").text
    assert f'action="/admin/accounts/{account_id}/role?name=' in page
    changed = browser.post(f"/admin/accounts/{account_id}/role?name=画面で役割", data={"csrf": csrf,
                                                                                "role": "coordinator"},
                           follow_redirects=False)
    assert changed.status_code == 303 and changed.headers["location"].startswith("/admin/accounts?name=")
    assert client.get(f"{API}/me", headers=_account_headers(client, account_id)).json()["role"] == "coordinator"
    me = _me(client, actors.admin)
    refused = browser.post(f"/admin/accounts/{me}/role", data={"csrf": csrf, "role": "poster"})
    assert refused.status_code == 422 and accounts.OWN_ROLE in refused.text and 'id="account-refused"' in refused.text
    refused = browser.post(f"/admin/accounts/{me}/disable", data={"csrf": csrf})
    assert refused.status_code == 422 and accounts.OWN_DISABLE in refused.text
    assert browser.post(f"/admin/accounts/{account_id}/role", data={"csrf": "wrong", "role": "admin"}
                        ).status_code == 403


def _account_headers(client, account_id: int) -> dict:
    with Session(client.app.state.db) as session:
        return {"Authorization": f"Bearer {accounts.new_token(session, account_id)[1]}"}


# ---- lists: filters and paging ---------------------------------------------------------------------------
def test_the_accounts_and_tokens_lists_filter_and_page(client, actors):
    made = [_account(client, f"ページ送り{i:02d}", m.Role.coordinator if i % 5 == 0 else m.Role.poster)[0]
            for i in range(25)]
    browser = client.__class__(client.app)
    sign_in(browser, actors.admin)
    first = browser.get("/admin/accounts?name=ページ送り").text
    assert "アカウント 25件（1/2ページ）" in first and 'rel="next"' in first
    assert len(re.findall(r'<tr id="account-\d+">', first)) == 20
    second = browser.get("/admin/accounts?name=ページ送り&page=2").text
    assert {int(i) for i in re.findall(r'<tr id="account-(\d+)">', second)} == set(made[20:])
    coordinators = browser.get("/admin/accounts?name=ページ送り&role=coordinator").text
    assert "アカウント 5件" in coordinators
    assert "役割は一覧から選んでください。" in browser.get("/admin/accounts?role=boss").text
    for path in ("/admin/accounts", "/admin/tokens", "/admin/organisations"):  # no name holds a NUL (PostgreSQL
        assert browser.get(f"{path}?name=%00").status_code == 200, path  # would refuse it in the query)
    tokens = browser.get("/admin/tokens?name=ページ送り").text
    assert "トークン 25件（1/2ページ）" in tokens
    assert "トークン 5件" in browser.get("/admin/tokens?name=ページ送り&role=coordinator").text
    assert "トークン 1件" in browser.get(f"/admin/tokens?account_id={made[3]}").text
    csrf = sign_in(browser, actors.admin)
    back = browser.post(f"/admin/accounts/{made[21]}/disable?name=ページ送り&page=2&evil=//x", data={"csrf": csrf},
                        follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/admin/accounts?name=%E3%83%9A%E3%83%BC%E3" \
        "%82%B8%E9%80%81%E3%82%8A&page=2"


# ---- the command line: the last active admin ---------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MATCHER_CORPUS_DIR", str(GOLDEN))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_the_command_line_keeps_the_last_active_admin_and_records_its_changes(cli_env):
    """On the data dir's SQLite file, as the command line runs by default."""
    runner = CliRunner()
    first = runner.invoke(admin_cli, ["create-account", "--name", "唯一の管理者", "--role", "admin"])
    assert first.exit_code == 0, first.output
    refused = runner.invoke(admin_cli, ["set-role", "1", "--role", "poster"])
    assert refused.exit_code != 0 and "有効な管理者はこのアカウントだけです" in refused.output
    refused = runner.invoke(admin_cli, ["disable-account", "1"])
    assert refused.exit_code == 1 and "有効な管理者はこのアカウントだけです" in refused.output
    assert runner.invoke(admin_cli, ["create-account", "--name", "二人目", "--role", "admin"]).exit_code == 0
    assert runner.invoke(admin_cli, ["set-role", "1", "--role", "coordinator"]).exit_code == 0
    assert runner.invoke(admin_cli, ["disable-account", "2"]).exit_code == 1  # now the last one
    logged = runner.invoke(admin_cli, ["audit"])
    assert "アカウントの役割の変更" in logged.stdout and "コマンド" in logged.stdout
