"""Issue 15 in a real browser (Debian chromium, Playwright, live server): an admin edits an organisation (a wrong
campus refused in Japanese, then its name, prefecture and campus changed, shown in the list), and changes an
account's role from the accounts list (found by the name filter; the admin's own row has no role form). Screenshots
go to var/test-artifacts/screenshots/."""

from __future__ import annotations

import re

import httpx
from sqlmodel import Session

from api import accounts
from api import models as m

from .conftest import browser_sign_in, shot
from .test_accessibility import blocking_violations

CITY = "ブラウザ編集市"


def test_admin_edits_an_organisation(page, live_server):
    with Session(live_server.app.state.db) as session:
        org = m.Organisation(name=CITY, kind=m.OrgKind.municipality, prefecture_code="06")
        session.add(org)
        session.commit()
        org_id = m.stored_id(org)
    browser_sign_in(page, live_server, live_server.actors.admin)
    page.goto(live_server.url + "/admin/organisations")
    page.get_by_label("名前（一部）").fill("ブラウザ編集")
    page.get_by_role("button", name="絞り込む").click()
    page.get_by_role("link", name=f"{CITY} を編集する").click()
    page.wait_for_url(f"{live_server.url}/admin/organisations/{org_id}/edit")
    assert page.get_by_label("組織の名前").input_value() == CITY

    page.get_by_label("キャンパス・所在地の市区町村").fill("函館市")  # not in 山形県
    page.get_by_label("電話").press("Enter")  # Enter, not a click: an open datalist takes the next click
    page.wait_for_load_state()
    assert "山形県の市区町村「函館市」が見つかりません" in page.locator("main").inner_text()
    assert page.get_by_label("組織の名前").input_value() == CITY  # what was typed stays
    shot(page, "60-admin-organisation-edit-refused")

    page.get_by_label("組織の名前").fill(f"{CITY}（新）")
    page.locator("#prefecture_code").select_option("01")
    page.get_by_label("キャンパス・所在地の市区町村").fill("函館市")
    page.get_by_label("窓口の名前").fill("産業振興課")
    page.get_by_label("電話").fill("0138-00-0000")
    shot(page, "61-admin-organisation-edit-form")
    page.get_by_label("電話").press("Enter")
    page.wait_for_url(re.compile(rf"/admin/organisations\?updated={org_id}$"))
    assert f"組織「{CITY}（新）」" in page.locator("#org-updated").inner_text()
    page.get_by_label("名前（一部）").fill("ブラウザ編集")
    page.get_by_role("button", name="絞り込む").click()
    row = page.locator("#organisations tbody tr").filter(has_text=f"{CITY}（新）")
    assert row.count() == 1 and "北海道 函館市" in row.inner_text() and "産業振興課" in row.inner_text()
    assert blocking_violations(page) == []
    shot(page, "62-admin-organisation-edited")


def test_admin_changes_an_accounts_role(page, live_server):
    name = "ブラウザ役割テスト"
    with Session(live_server.app.state.db) as session:
        account, token = accounts.create_account(session, name=name, role=m.Role.poster)
        account_id = m.stored_id(account)
    browser_sign_in(page, live_server, live_server.actors.admin)
    page.goto(live_server.url + "/admin/accounts")
    page.get_by_label("名前（一部）").fill("ブラウザ役割")
    page.get_by_role("button", name="絞り込む").click()
    row = page.locator(f"#account-{account_id}")
    row.get_by_label(f"{name} の役割", exact=True).select_option("coordinator")
    shot(page, "63-admin-account-role-form")
    row.get_by_role("button", name=f"{name} の役割を変える").click()
    page.wait_for_url(re.compile(r"/admin/accounts\?name=.+$"))
    assert page.locator(f"#role-{account_id}").input_value() == "coordinator"
    me = httpx.get(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "coordinator"
    audit = httpx.get(f"{live_server.url}/api/v1/admin/audit", params={"action": "account_role_changed"},
                      headers=live_server.actors.admin).json()
    assert any(f"アカウント {account_id}（{name}）の役割: poster → coordinator" == r["reason"] for r in audit["items"])

    page.get_by_role("link", name="条件をクリア").click()
    page.locator("#filter-role").select_option("admin")
    page.get_by_role("button", name="絞り込む").click()
    own = page.locator("#accounts tbody tr").filter(has_text="（自分）")
    assert own.count() == 1 and own.locator("select").count() == 0  # no form to demote oneself
    assert blocking_violations(page) == []
    shot(page, "64-admin-account-role-changed")
