"""Issue 15 in a real browser (Debian chromium, Playwright, live server): an introduction request accepted by the
university's liaison office and the contact revealed to the poster; feedback on a partner recorded and shown to a
coordinator. Screenshots go to var/test-artifacts/screenshots/."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from api import models as m
from api.audit import AuditEntry
from api.auth import issue_token

from .conftest import browser_sign_in, shot
from .test_browser import post_need_via_api

EMAIL = "takada.browser@example.ac.jp"


def _liaison_office(live) -> dict:
    """A liaison-office account of 長岡技術科学大学, and 高田 誠's (private) e-mail for the disclosure."""
    with Session(live.app.state.db) as session:
        university = session.exec(select(m.Organisation).where(m.Organisation.name == "長岡技術科学大学")).one()
        office = m.Account(name="長岡技大 産学連携窓口", role=m.Role.researcher, organisation_id=university.id,
                           is_liaison_office=True)
        session.add(office)
        takada = session.exec(select(m.Researcher).where(m.Researcher.name == "高田 誠")).one()
        takada.email = EMAIL
        session.add(takada)
        session.commit()
        return {"Authorization": f"Bearer {issue_token(session, office)}"}


def _contact_rows(live) -> int:
    with Session(live.app.state.db) as session:
        rows = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "contact_shown",
                                                     col(AuditEntry.route).like("GET /introductions/%")))
        return len(rows.all())


def test_introduction_request_accepted_and_the_contact_revealed(page, browser, live_server):
    office = _liaison_office(live_server)
    need_id = post_need_via_api(live_server, title="紹介依頼の確認: 稲わらの熱源化")
    browser_sign_in(page, live_server, live_server.actors.poster)
    page.goto(f"{live_server.url}/needs/{need_id}")
    first = page.locator(".ranked .partner").first
    assert "長岡技術科学大学" in first.locator(".partner-name").inner_text()
    first.get_by_role("link", name="紹介を依頼する").click()
    page.wait_for_url(re.compile(r"/needs/\d+/introductions/new\?"))
    assert "長岡技術科学大学" in page.locator("#intro-university").inner_text()
    page.get_by_label("メッセージ").fill("ガス化炉を園芸ハウスの熱源に使えるか、ご相談したいです。")
    shot(page, "30-introduction-form")
    page.get_by_role("button", name="紹介を依頼する").click()
    page.wait_for_url(re.compile(r"/introductions/\d+\?sent=1$"))
    request_url = page.url.split("?")[0]
    assert page.locator("#intro-status").inner_text() == "回答待ち"
    assert page.locator("#disclosed-contact").count() == 0 and EMAIL not in page.content()
    shot(page, "31-introduction-pending")

    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    office_page = context.new_page()
    try:
        browser_sign_in(office_page, live_server, office)
        assert int(office_page.locator("#unread-count").inner_text()) >= 1  # the header's unread count
        office_page.get_by_role("link", name=re.compile("^通知")).click()
        assert "紹介依頼が届きました" in office_page.locator("#notification-list").inner_text()
        shot(office_page, "32-office-notifications")
        office_page.locator("#notification-list li").first.get_by_role("button", name="開く").click()
        office_page.wait_for_url(request_url)
        office_page.get_by_label("理由").fill("研究者の了承を得ました。ぜひご相談ください。")
        office_page.get_by_role("button", name="承諾する").click()
        office_page.wait_for_url(re.compile(r"\?answered=1$"))
        assert office_page.locator("#intro-status").inner_text() == "承諾"
        assert office_page.locator("#disclosed-contact").count() == 0  # the contact is the poster's to see
        shot(office_page, "33-office-accepted")
    finally:
        context.close()

    before = _contact_rows(live_server)
    page.goto(f"{live_server.url}/")
    assert page.locator("#unread-count").count() == 1
    page.goto(request_url)
    assert page.locator("#intro-status").inner_text() == "承諾"
    assert page.locator("#researcher-email").inner_text() == EMAIL
    assert "研究者の了承を得ました" in page.locator("#intro-reason").inner_text()
    shot(page, "34-introduction-contact-revealed")
    assert _contact_rows(live_server) == before + 1  # the e-mail shown, recorded


def test_feedback_recorded(page, browser, live_server):
    need_id = post_need_via_api(live_server, title="評価の確認: もみ殻の熱源化")
    browser_sign_in(page, live_server, live_server.actors.poster)
    page.goto(f"{live_server.url}/needs/{need_id}")
    first = page.locator(".ranked .partner").first
    name = first.locator(".partner-name").inner_text()
    first.get_by_label("理由（任意）").fill("ガス化の実証の実績がある")
    first.get_by_role("button", name="役に立った", exact=True).click()
    done = first.locator(".feedback-done")
    done.wait_for()
    assert "役に立った" in done.inner_text() and "ガス化の実証の実績がある" in done.inner_text()
    shot(page, "35-feedback-recorded")

    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    coordinator = context.new_page()
    try:
        browser_sign_in(coordinator, live_server, live_server.actors.coordinator)
        coordinator.goto(f"{live_server.url}/coordinator/outcomes")
        rows = coordinator.locator("#feedback-list tbody tr").all_inner_texts()
        assert any("評価の確認: もみ殻の熱源化" in r and "役に立った" in r and "ガス化の実証の実績がある" in r
                   for r in rows)
        outcome = coordinator.locator("#outcomes tbody tr", has_text=re.sub(r"^\d+", "", name).strip()).first
        assert outcome.count() == 1
        shot(coordinator, "36-coordinator-outcomes")
    finally:
        context.close()
