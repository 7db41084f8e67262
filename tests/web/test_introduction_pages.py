"""Issue 15's pages without a browser (TestClient): who gets the per-partner buttons, the forms' Japanese errors with
the typed text kept, the answer refused to the poster, the researcher's choice to receive requests, the header's
unread count, and feedback without JavaScript."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from api import models as m
from api.auth import issue_token
from api.introduction_models import MatchFeedback

from .conftest import sign_in

NEED = {"title": "もみ殻を燃料にしたい", "description": "もみ殻をガス化して、園芸ハウスの熱源にしたい。",
        "prefecture_code": "15"}


@pytest.fixture(scope="module")
def setting(page_client, page_actors):
    with Session(page_client.app.state.db) as session:
        university = session.exec(select(m.Organisation).where(m.Organisation.name == "長岡技術科学大学")).one()
        office = m.Account(name="窓口", role=m.Role.coordinator, organisation_id=university.id, is_liaison_office=True)
        session.add(office)
        session.commit()
        office_headers = {"Authorization": f"Bearer {issue_token(session, office)}"}
        seed = session.exec(select(m.Seed).where(m.Seed.researcher_id == page_actors.researcher_id)).first()
        seed_id = seed.id
    need = page_client.post("/api/v1/needs", json=NEED, headers=page_actors.poster).json()
    return {"need": need["id"], "seed": seed_id, "office": office_headers}


def test_only_the_needs_poster_gets_the_buttons_on_each_partner(page_client, page_actors, setting):
    sign_in(page_client, page_actors.poster)
    page = page_client.get(f"/needs/{setting['need']}").text
    assert page.count("紹介を依頼する") >= 3 and page.count(f'action="/needs/{setting["need"]}/feedback"') >= 3
    for other in (page_actors.other_poster, page_actors.coordinator, page_actors.researcher):
        sign_in(page_client, other)
        assert "紹介を依頼する" not in page_client.get(f"/needs/{setting['need']}").text
        assert page_client.get(f"/needs/{setting['need']}/introductions/new?seed_id={setting['seed']}").status_code \
            == 403


def test_asking_answering_and_the_unread_count(page_client, page_actors, setting):
    csrf = sign_in(page_client, page_actors.poster)
    url = f"/needs/{setting['need']}/introductions/new"
    form = page_client.get(f"{url}?seed_id={setting['seed']}")
    assert form.status_code == 200 and "長岡技術科学大学" in form.text
    empty = page_client.post(url, data={"csrf": csrf, "seed_id": setting["seed"], "level": "university",
                                        "message": "  "})
    assert empty.status_code == 422 and "入力してください" in empty.text
    sent = page_client.post(url, data={"csrf": csrf, "seed_id": setting["seed"], "level": "university",
                                       "message": "熱源化の相談"}, follow_redirects=False)
    assert sent.status_code == 303
    detail_url = sent.headers["location"].split("?")[0]
    detail = page_client.get(detail_url).text
    assert "回答待ち" in detail and 'id="answer-form"' not in detail and "連絡先は、窓口が承諾すると" in detail
    request_id = int(detail_url.rsplit("/", 1)[1])
    refused = page_client.post(f"{detail_url}/answer", data={"csrf": csrf, "decision": "accept", "reason": "自分で"})
    assert refused.status_code == 403 and "産学連携窓口" in refused.text

    office_csrf = sign_in(page_client, setting["office"])
    home = page_client.get("/").text
    assert re.search(r'id="unread-count"[^>]*>\d+<', home)
    no_reason = page_client.post(f"{detail_url}/answer", data={"csrf": office_csrf, "decision": "decline",
                                                               "reason": ""})
    assert no_reason.status_code == 422 and 'id="answer-form"' in no_reason.text
    declined = page_client.post(f"{detail_url}/answer", follow_redirects=False, data={
        "csrf": office_csrf, "decision": "decline", "reason": "担当の研究者が不在です"})
    assert declined.status_code == 303
    listing = page_client.get("/introductions").text
    assert f'href="/introductions/{request_id}"' in listing and "辞退" in listing

    sign_in(page_client, page_actors.poster)
    shown = page_client.get(detail_url).text
    assert "辞退" in shown and "担当の研究者が不在です" in shown and 'id="disclosed-contact"' not in shown
    notes = page_client.get("/notifications").text
    assert "辞退されました" in notes


def test_the_researcher_opts_in_on_its_page(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.researcher)
    assert 'id="receive-settings"' in page_client.get("/introductions").text
    page_client.post("/introductions/settings", data={"csrf": csrf, "receives_introductions": "yes"})
    with Session(page_client.app.state.db) as session:
        assert session.get_one(m.Researcher, page_actors.researcher_id).receives_introductions
    page_client.post("/introductions/settings", data={"csrf": csrf})
    with Session(page_client.app.state.db) as session:
        assert not session.get_one(m.Researcher, page_actors.researcher_id).receives_introductions


def test_feedback_without_javascript_is_a_page_and_is_stored(page_client, page_actors, setting):
    csrf = sign_in(page_client, page_actors.poster)
    done = page_client.post(f"/needs/{setting['need']}/feedback", data={
        "csrf": csrf, "level": "university", "key": "長岡技術科学大学", "name": "長岡技術科学大学", "useful": "no",
        "reason": "遠い"})
    assert done.status_code == 200 and "役に立たなかった" in done.text
    assert f'href="/needs/{setting["need"]}"' in done.text
    with Session(page_client.app.state.db) as session:
        row = session.exec(select(MatchFeedback).where(MatchFeedback.need_id == setting["need"])).one()
        assert (row.useful, row.reason) == (False, "遠い")
    missing = page_client.post(f"/needs/{setting['need']}/feedback", data={"csrf": csrf, "key": "x", "name": "x"})
    assert missing.status_code == 422


def test_a_form_from_no_partner_card_is_refused_in_japanese(page_client, page_actors, setting):
    csrf = sign_in(page_client, page_actors.poster)
    for seed_id in ("", "²", "9" * 30, "abc"):
        refused = page_client.post(f"/needs/{setting['need']}/introductions/new",
                                   data={"csrf": csrf, "seed_id": seed_id, "message": "相談"})
        assert refused.status_code == 422 and "紹介を依頼する連携先の候補が分かりません" in refused.text
