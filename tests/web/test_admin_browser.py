"""Issue 15 in a real browser (Debian chromium, Playwright, live server): an admin creates an organisation. The admin
opens the admin pages from the header, adds a university with its liaison office and campus municipality, finds it
in the filtered list, then creates a liaison-office account for it and sees its token once, with the warning; the
token signs in. Screenshots go to var/test-artifacts/screenshots/."""

from __future__ import annotations

import re

import httpx

from .conftest import browser_sign_in, shot
from .test_accessibility import blocking_violations  # axe-core in the page, as for the other main pages

NAME = "ブラウザ海洋大学"


def test_admin_creates_an_organisation_then_its_account(page, live_server):
    browser_sign_in(page, live_server, live_server.actors.admin)
    page.get_by_role("link", name="管理").click()
    page.wait_for_url(live_server.url + "/admin/organisations")
    page.get_by_label("組織の名前").fill(NAME)
    page.get_by_role("radio", name="大学").check()
    page.locator("#prefecture_code").select_option("01")
    campus = page.get_by_label("キャンパス・所在地の市区町村")
    campus.fill("函館市")
    page.get_by_label("窓口の名前").fill(f"{NAME} 産学連携センター")
    page.get_by_label("メール").fill("renkei@example.ac.jp")
    page.get_by_label("電話").fill("0138-00-0000")
    shot(page, "50-admin-organisation-form")
    # sent with Enter from the last field: in headless chromium the campus field's open datalist suggestions take
    # the next mouse click, whatever field has the focus
    page.get_by_label("電話").press("Enter")
    page.wait_for_url(re.compile(r"/admin/organisations\?created=\d+$"))
    assert NAME in page.locator("#org-created").inner_text()
    page.get_by_label("名前（一部）").fill("海洋")
    page.get_by_role("button", name="絞り込む").click()
    row = page.locator("#organisations tbody tr").filter(has_text=NAME)
    assert row.count() == 1 and "北海道 函館市" in row.inner_text()
    assert blocking_violations(page) == []
    shot(page, "51-admin-organisation-listed")

    row.get_by_role("link", name="アカウント").click()
    page.wait_for_url(re.compile(r"/admin/accounts\?organisation_id=\d+$"))
    assert NAME in page.locator("#organisation_id option:checked").inner_text()  # the new organisation is chosen
    page.get_by_label("アカウント名").fill("海洋 窓口")
    page.get_by_label("役割 必須").select_option("coordinator")
    page.get_by_label("大学の産学連携窓口にする").check()
    page.get_by_label("トークンの有効期限").fill("90")
    page.get_by_role("button", name="作成してトークンを発行する").click()
    box = page.locator("#new-token-box")
    assert "二度と表示できません" in box.inner_text()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("mt_")
    shot(page, "52-admin-account-token-once")
    me = httpx.get(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["name"] == "海洋 窓口" and me["is_liaison_office"]

    page.goto(live_server.url + "/admin/accounts")
    assert token not in page.content() and page.locator("#new-token").count() == 0  # once: never shown again
    assert "海洋 窓口" in page.locator("#accounts").inner_text()
