"""Issue 15: introduction requests (紹介依頼) through the university's liaison office, on SQLite and PostgreSQL.

Who sees and answers what: the poster asks and cannot answer; the office of the partner's university answers,
another university's office does not even see the request (404); the researcher answers only once it opted in;
coordinators see the requests of their own region block. The contact details are absent until the request is
accepted, present after for the poster alone, and each time they are shown the audit log has a row.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from api import models as m
from api.audit import AuditEntry
from api.auth import issue_token

API = "/api/v1"
EMAIL, PHONE = "takada@example.ac.jp", "0258-00-0000"
NEED = {"title": "稲わらを熱源にしたい", "description": "稲わらやもみ殻をガス化して、園芸ハウスの熱源にしたい。",
        "prefecture_code": "15"}


def _account(client, name: str, role: m.Role, organisation: str | None = None, *, liaison: bool = False,
             org_prefecture: str | None = None) -> dict:
    """An account (of the organisation named, made where `org_prefecture` is given), and its bearer header."""
    with Session(client.app.state.db) as session:
        org = None
        if organisation is not None:
            org = session.exec(select(m.Organisation).where(m.Organisation.name == organisation)).first()
            if org is None:
                org = m.Organisation(name=organisation, kind=m.OrgKind.other, prefecture_code=org_prefecture or "13")
                session.add(org)
                session.flush()
        account = m.Account(name=name, role=role, organisation_id=org.id if org else None, is_liaison_office=liaison)
        session.add(account)
        session.commit()
        return {"Authorization": f"Bearer {issue_token(session, account)}"}


@pytest.fixture(scope="module")
def world(client, actors):
    """Two liaison offices (長岡技術科学大学, the partner's; 広島大学, another), regional coordinators, a need of
    the poster's in 新潟県 (中部), and the seed of 高田 誠 (長岡技術科学大学) with a private e-mail and phone."""
    with Session(client.app.state.db) as session:
        takada = session.get_one(m.Researcher, actors.researcher_id)
        takada.email, takada.phone = EMAIL, PHONE  # private by default: no match result shows them
        session.add(takada)
        seed = session.exec(select(m.Seed).where(m.Seed.researcher_id == takada.id)).first()
        assert seed is not None
        seed_id = seed.id
        session.commit()
    need = client.post(f"{API}/needs", json=NEED, headers=actors.poster)
    assert need.status_code == 201
    return {
        "need": need.json()["id"], "seed": seed_id,
        "office": _account(client, "長岡技大 産学連携", m.Role.researcher, "長岡技術科学大学", liaison=True),
        "other_office": _account(client, "広島大 産学連携", m.Role.researcher, "広島大学", liaison=True),
        "not_office": _account(client, "長岡技大 職員", m.Role.researcher, "長岡技術科学大学"),
        "chubu": _account(client, "中部の調整役", m.Role.coordinator, "中部テスト機構", org_prefecture="17"),
        "chugoku": _account(client, "中国の調整役", m.Role.coordinator, "中国テスト機構", org_prefecture="34"),
    }


def _ask(client, actors, world, need_id=None, message="ガス化炉の導入について相談したい"):
    return client.post(f"{API}/introductions", json={"need_id": need_id or world["need"], "seed_id": world["seed"],
                                                     "level": "university", "message": message},
                       headers=actors.poster)


def _contact_rows(client, researcher_id: int) -> list[AuditEntry]:
    with Session(client.app.state.db) as session:
        return list(session.exec(select(AuditEntry).where(col(AuditEntry.researcher_id) == researcher_id,
                                                          col(AuditEntry.action) == "contact_shown")).all())


def _notifications(client, headers) -> dict:
    page = client.get(f"{API}/notifications", headers=headers)
    assert page.status_code == 200
    return page.json()


def test_accepted_request_shows_the_contact_to_the_poster_only_and_the_audit_log_records_it(client, actors, world):
    asked = _ask(client, actors, world)
    assert asked.status_code == 201, asked.text
    item = asked.json()
    assert item["status"] == "pending" and item["contact"] is None and item["university"] == "長岡技術科学大学"
    assert item["is_mine"] and not item["may_answer"]
    assert EMAIL not in client.get(f"{API}/introductions/{item['id']}", headers=actors.poster).text

    # it reached the office (a notification), and only the office may answer
    office_note = _notifications(client, world["office"])
    assert office_note["unread"] >= 1
    assert any(n["link"] == f"/introductions/{item['id']}" for n in office_note["items"])
    seen = client.get(f"{API}/introductions/{item['id']}", headers=world["office"]).json()
    assert seen["may_answer"] and seen["contact"] is None
    answer = {"accept": True, "reason": "研究者の了承を得ました。"}
    assert client.post(f"{API}/introductions/{item['id']}/answer", json=answer,
                       headers=actors.poster).status_code == 403  # the poster cannot accept its own request
    for outsider in (world["other_office"], world["not_office"], actors.other_poster, actors.researcher):
        assert client.get(f"{API}/introductions/{item['id']}", headers=outsider).status_code == 404
        assert client.post(f"{API}/introductions/{item['id']}/answer", json=answer,
                           headers=outsider).status_code == 404
        assert item["id"] not in {r["id"] for r in client.get(f"{API}/introductions", headers=outsider).json()}

    before = len(_contact_rows(client, actors.researcher_id))
    accepted = client.post(f"{API}/introductions/{item['id']}/answer", json=answer, headers=world["office"])
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["contact"] is None  # not the office's
    assert len(_contact_rows(client, actors.researcher_id)) == before

    shown = client.get(f"{API}/introductions/{item['id']}", headers=actors.poster).json()
    assert shown["contact"]["email"] == EMAIL and shown["contact"]["phone"] == PHONE
    assert shown["reason"] == answer["reason"]
    rows = _contact_rows(client, actors.researcher_id)[before:]
    assert sorted(r.field for r in rows) == ["email", "phone"]
    assert {r.route for r in rows} == {f"GET {API}/introductions/{item['id']}"}
    assert {r.account_id for r in rows} == {client.get(f"{API}/me", headers=actors.poster).json()["id"]}
    # the lists carry no contact, so they write no row; a coordinator's view shows the outcome but no contact
    assert all(r["contact"] is None for r in client.get(f"{API}/introductions", headers=actors.poster).json())
    assert client.get(f"{API}/introductions/{item['id']}", headers=actors.coordinator).json()["contact"] is None
    assert len(_contact_rows(client, actors.researcher_id)) == before + 2

    notes = _notifications(client, actors.poster)["items"]
    assert any(n["kind"] == "introduction_accepted" and n["link"] == f"/introductions/{item['id']}" for n in notes)
    again = client.post(f"{API}/introductions/{item['id']}/answer", json=answer, headers=world["office"])
    assert again.status_code == 409


def test_the_researcher_answers_only_once_it_opted_in(client, actors, world):
    need = client.post(f"{API}/needs", json=dict(NEED, title="もみ殻の灰を使いたい"), headers=actors.poster).json()
    first = _ask(client, actors, world, need["id"]).json()
    assert client.get(f"{API}/introductions/{first['id']}", headers=actors.researcher).status_code == 404
    opted = client.patch(f"{API}/researchers/{actors.researcher_id}", json={"receives_introductions": True},
                         headers=actors.researcher)
    assert opted.status_code == 200
    try:
        seen = client.get(f"{API}/introductions/{first['id']}", headers=actors.researcher).json()
        assert seen["may_answer"]
        declined = client.post(f"{API}/introductions/{first['id']}/answer",
                               json={"accept": False, "reason": "今年度は装置の空きがありません。"},
                               headers=actors.researcher)
        assert declined.status_code == 200 and declined.json()["status"] == "declined"
        shown = client.get(f"{API}/introductions/{first['id']}", headers=actors.poster).json()
        assert shown["contact"] is None and shown["reason"] == "今年度は装置の空きがありません。"
        second = client.post(f"{API}/needs", json=dict(NEED, title="稲わらの乾燥"), headers=actors.poster).json()
        asked = _ask(client, actors, world, second["id"]).json()
        kinds = {(n["kind"], n["link"]) for n in _notifications(client, actors.researcher)["items"]}
        assert ("introduction_requested", f"/introductions/{asked['id']}") in kinds
    finally:
        client.patch(f"{API}/researchers/{actors.researcher_id}", json={"receives_introductions": False},
                     headers=actors.researcher)


def test_coordinators_see_the_requests_of_their_region(client, actors, world):
    asked = _ask(client, actors, world, message="地域の調整役にも見える依頼").json()
    mine = {r["id"] for r in client.get(f"{API}/introductions", headers=world["chubu"]).json()}
    assert asked["id"] in mine  # 新潟県 is in 中部, as is 富山県 (17), the coordinator's organisation
    assert client.get(f"{API}/introductions/{asked['id']}", headers=world["chubu"]).status_code == 200
    assert client.get(f"{API}/introductions/{asked['id']}", headers=world["chugoku"]).status_code == 404
    assert asked["id"] not in {r["id"] for r in client.get(f"{API}/introductions", headers=world["chugoku"]).json()}
    # a coordinator of no organisation works for the whole network; neither may answer
    assert client.get(f"{API}/introductions/{asked['id']}", headers=actors.coordinator).status_code == 200
    refused = client.post(f"{API}/introductions/{asked['id']}/answer", json={"accept": True, "reason": "x"},
                          headers=world["chubu"])
    assert refused.status_code == 403


def test_asking_is_the_posters_own_and_only_through_a_listed_seed(client, actors, world):
    body = {"need_id": world["need"], "seed_id": world["seed"], "level": "university", "message": "相談したい"}
    assert client.post(f"{API}/introductions", json=body, headers=actors.other_poster).status_code == 403
    assert client.post(f"{API}/introductions", json=body, headers=actors.coordinator).status_code == 403
    draft = client.post(f"{API}/seeds", json={"title": "下書きのシーズ", "summary": "稲わら", "visibility": "private"},
                        headers=actors.researcher).json()
    assert client.post(f"{API}/introductions", json=dict(body, seed_id=draft["id"]),
                       headers=actors.poster).status_code == 404
    assert client.post(f"{API}/introductions", json=dict(body, message=""), headers=actors.poster).status_code == 422
    need = client.post(f"{API}/needs", json=dict(NEED, title="二重の依頼"), headers=actors.poster).json()
    assert _ask(client, actors, world, need["id"]).status_code == 201
    duplicate = _ask(client, actors, world, need["id"])
    assert duplicate.status_code == 409 and "回答待ち" in duplicate.json()["error"]["message"]


def test_notifications_are_marked_read_by_their_own_account_only(client, actors, world):
    _ask(client, actors, world, client.post(f"{API}/needs", json=dict(NEED, title="通知の確認"),
                                           headers=actors.poster).json()["id"])
    page = _notifications(client, world["office"])
    unread = [n for n in page["items"] if not n["read"]]
    assert unread and page["unread"] == len([n for n in page["items"] if not n["read"]])
    one = unread[0]["id"]
    assert client.post(f"{API}/notifications/{one}/read", headers=actors.poster).status_code == 404
    read = client.post(f"{API}/notifications/{one}/read", headers=world["office"])
    assert read.status_code == 200 and read.json()["read"]
    assert _notifications(client, world["office"])["unread"] == page["unread"] - 1
    assert client.post(f"{API}/notifications/read-all", headers=world["office"]).json() == page["unread"] - 1
    assert _notifications(client, world["office"])["unread"] == 0


def test_a_mail_sender_plugged_in_is_handed_each_committed_notification_only(client, actors):
    from api.notifications import notify, set_mail_sender

    sent = []

    class Collect:
        def send(self, notification) -> None:
            sent.append((notification.kind, notification.message, notification.link))

    with Session(client.app.state.db) as session:
        account_id = session.exec(select(m.Account).where(m.Account.name == "テスト市")).one().id
    set_mail_sender(Collect())
    try:
        with Session(client.app.state.db) as session:
            notify(session, account_id, kind="test", message="届く", link="/notifications")
            session.commit()
            notify(session, account_id, kind="test", message="取り消された")
            session.rollback()
            session.commit()  # nothing pending: the rolled-back one is not sent later either
    finally:
        set_mail_sender(None)
    assert sent == [("test", "届く", "/notifications")]
    messages = [n["message"] for n in _notifications(client, actors.poster)["items"]]
    assert "届く" in messages and "取り消された" not in messages


def test_a_coordinator_who_is_also_a_liaison_office_sees_its_universitys_requests_from_every_region(
        client, actors, world):
    office = _account(client, "長岡技大の調整役", m.Role.coordinator, "長岡技術科学大学", liaison=True)
    tokyo = client.post(f"{API}/needs", json=dict(NEED, title="東京からの依頼", prefecture_code="13"),
                        headers=actors.poster).json()
    asked = _ask(client, actors, world, tokyo["id"]).json()
    assert asked["region"] == "関東"  # not the office's 中部
    assert asked["id"] in {r["id"] for r in client.get(f"{API}/introductions", headers=office).json()}
    assert client.get(f"{API}/introductions/{asked['id']}", headers=office).json()["may_answer"]
    assert client.get(f"{API}/introductions/{asked['id']}", headers=world["chubu"]).status_code == 404


def test_the_list_filters_by_status(client, actors, world):
    accepted = client.get(f"{API}/introductions", params={"status": "accepted"}, headers=actors.poster).json()
    pending = client.get(f"{API}/introductions", params={"status": "pending"}, headers=actors.poster).json()
    assert accepted and pending  # the earlier tests of this module made both
    assert {r["status"] for r in accepted} == {"accepted"} and {r["status"] for r in pending} == {"pending"}
    assert client.get(f"{API}/introductions", params={"status": "lost"}, headers=actors.poster).status_code == 422
