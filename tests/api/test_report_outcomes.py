"""Issue 15, on SQLite and PostgreSQL: the batch report carries what became of the partners of its needs
(introduction requests accepted, declined, pending or ignored; feedback 役に立った／役に立たなかった), counted as
/coordinator/outcomes counts them, within what the job's creator may read there; and a researcher's export holds
the introduction requests addressed to it."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from api import models as m
from api.introduction_models import IntroductionRequest

from .conftest import wait_for_report
from .test_introductions import NEED, _account

API = "/api/v1"
REPORTS = f"{API}/reports"
NAGAOKA, HIROSHIMA = "長岡技術科学大学", "広島大学"
SEA_NEED = {"title": "カキ殻を建材に生かしたい",
            "description": "養殖で出るカキ殻を砕いて、舗装材や建材に混ぜて使いたい。", "prefecture_code": "34"}
DECLINED = "研究室の体制が整わないため、今回は辞退します。"


def _ask(client, headers, need_id: int, seed_id: int, message: str) -> dict:
    asked = client.post(f"{API}/introductions", json={"need_id": need_id, "seed_id": seed_id, "level": "university",
                                                     "message": message}, headers=headers)
    assert asked.status_code == 201, asked.text
    return asked.json()


def _answer(client, office, request_id: int, accept: bool, reason: str) -> None:
    answered = client.post(f"{API}/introductions/{request_id}/answer", json={"accept": accept, "reason": reason},
                           headers=office)
    assert answered.status_code == 200, answered.text


def _feedback(client, headers, need_id: int, name: str, useful: bool) -> None:
    said = client.post(f"{API}/feedback", json={"need_id": need_id, "level": "university", "key": name,
                                                "name": name, "useful": useful}, headers=headers)
    assert said.status_code == 200, said.text


def _seed_of(session: Session, researcher_id: int) -> int:
    seed = session.exec(select(m.Seed).where(m.Seed.researcher_id == researcher_id)).first()
    assert seed is not None and seed.id is not None
    return seed.id


@pytest.fixture(scope="module")
def world(client, actors):
    """A need of 新潟県 (中部) whose poster asked 長岡技術科学大学 four times: declined, accepted, pending, and one
    pending for a month (ignored), and found it useful; a need of 広島県 (中国) whose poster asked 広島大学 once
    (pending) and did not find it useful; coordinators of 中部 and 中国."""
    chubu_need = client.post(f"{API}/needs", json=dict(NEED, title="報告に載るニーズ"), headers=actors.poster)
    sea_need = client.post(f"{API}/needs", json=SEA_NEED, headers=actors.other_poster)
    assert chubu_need.status_code == 201 and sea_need.status_code == 201
    chubu_id, sea_id = chubu_need.json()["id"], sea_need.json()["id"]
    office = _account(client, "長岡技大 窓口（報告）", m.Role.researcher, NAGAOKA, liaison=True)
    with Session(client.app.state.db) as session:
        takada_seed = _seed_of(session, actors.researcher_id)
        yamamoto_seed = _seed_of(session, actors.other_researcher_id)
    first = _ask(client, actors.poster, chubu_id, takada_seed, "ガス化炉について相談したい")
    _answer(client, office, first["id"], False, DECLINED)
    second = _ask(client, actors.poster, chubu_id, takada_seed, "改めて相談したい")
    _answer(client, office, second["id"], True, "研究者の了承を得ました。")
    _ask(client, actors.poster, chubu_id, takada_seed, "返事を待っています")
    with Session(client.app.state.db) as session:  # the API cannot backdate a request: one written as a month old
        poster = session.exec(select(m.Account).where(m.Account.name == "テスト市")).one()
        org = session.exec(select(m.Organisation).where(m.Organisation.name == NAGAOKA)).one()
        session.add(IntroductionRequest(
            need_id=chubu_id, requester_account_id=poster.id, organisation_id=org.id, partner_level="university",
            partner_key=NAGAOKA, partner_name=NAGAOKA, region="中部", message="先月の依頼", status="pending",
            created_at=datetime.now(UTC) - timedelta(days=30)))
        session.commit()
    _feedback(client, actors.poster, chubu_id, NAGAOKA, True)
    _ask(client, actors.other_poster, sea_id, yamamoto_seed, "カキ殻の粉砕について")
    _feedback(client, actors.other_poster, sea_id, HIROSHIMA, False)
    return {"chubu_need": chubu_id, "sea_need": sea_id, "declined": first["id"],
            "chubu": _account(client, "中部の調整役（報告）", m.Role.coordinator, "中部報告機構", org_prefecture="17"),
            "chugoku": _account(client, "中国の調整役（報告）", m.Role.coordinator, "中国報告機構",
                                org_prefecture="34")}


def _job(client, headers, **params) -> dict:
    started = client.post(REPORTS, json=params, headers=headers)
    assert started.status_code == 202, started.text
    job = wait_for_report(client, headers, started.json()["id"])
    assert job["status"] == "succeeded", job
    return job


def _file(client, headers, job: dict, name: str):
    return client.get(f"{REPORTS}/{job['id']}/files/{name}", headers=headers)


def _outcomes(client, headers, job: dict) -> dict:
    got = _file(client, headers, job, "report.json")
    assert got.status_code == 200, got.text
    report = json.loads(got.content)
    return {"scope": report["outcomes_scope"], "rows": {row["partner"]: row for row in report["outcomes"]}}


def test_a_coordinators_report_counts_its_regions_introductions_and_feedback(client, world):
    job = _job(client, world["chubu"], prefectures=["15", "34"], formats=["json", "xlsx", "html", "csv"])
    got = _outcomes(client, world["chubu"], job)
    assert got["scope"] == {"region": "中部", "ignored_after_days": 14}
    assert set(got["rows"]) == {NAGAOKA}  # 中国's request and feedback are not 中部's
    assert got["rows"][NAGAOKA] == {"partner": NAGAOKA, "level": "大学", "asked": 4, "accepted": 1, "declined": 1,
                                    "pending": 1, "ignored": 1, "useful": 1, "not_useful": 0}
    assert job["summary"]["outcomes"] == 1 and job["summary"]["outcomes_region"] == "中部"

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(_file(client, world["chubu"], job, "report.xlsx").content))["紹介依頼と評価の結果"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["連携先", "単位", "紹介依頼", "承諾", "辞退", "回答待ち", "放置（14日以上回答なし）",
                       "役に立った", "役に立たなかった"]
    assert rows[1:] == [[NAGAOKA, "大学", 4, 1, 1, 1, 1, 1, 0]]
    html = _file(client, world["chubu"], job, "report.html").text
    assert "紹介依頼と評価の結果" in html and "14日を過ぎても承諾・辞退の回答がない" in html
    assert (f"<tr><td>{NAGAOKA}</td><td>大学</td><td class=\"n\">4</td><td class=\"n\">1</td><td class=\"n\">1</td>"
            "<td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">0</td></tr>") in html
    csv_text = _file(client, world["chubu"], job, "outcomes.csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[1] == f"{NAGAOKA},大学,4,1,1,1,1,1,0"


def test_a_coordinator_of_another_region_neither_counts_nor_opens_them(client, actors, world):
    chubu_job = _job(client, world["chubu"], prefectures=["15", "34"], formats=["json"])
    refused = _file(client, world["chugoku"], chubu_job, "report.json")
    assert refused.status_code == 403 and "中部の紹介依頼と評価の結果" in refused.json()["error"]["message"]
    assert _file(client, actors.coordinator, chubu_job, "report.json").status_code == 200  # the whole network's
    assert _file(client, actors.admin, chubu_job, "report.json").status_code == 200
    own = _outcomes(client, world["chugoku"], _job(client, world["chugoku"], prefectures=["15", "34"],
                                                   formats=["json"]))
    assert own["scope"]["region"] == "中国" and set(own["rows"]) == {HIROSHIMA}
    assert own["rows"][HIROSHIMA]["pending"] == 1 and own["rows"][HIROSHIMA]["not_useful"] == 1
    admins = _job(client, actors.admin, prefectures=["15", "34"], formats=["json"])
    assert set(_outcomes(client, actors.admin, admins)["rows"]) == {NAGAOKA, HIROSHIMA}
    assert _file(client, world["chubu"], admins, "report.json").status_code == 403  # every region's outcomes


def test_only_the_reports_own_needs_are_counted_and_none_says_so(client, actors, world):
    sea_only = _outcomes(client, actors.admin, _job(client, actors.admin, prefectures=["34"], formats=["json"]))
    assert set(sea_only["rows"]) == {HIROSHIMA}  # 新潟県's need is not in this report
    empty = _job(client, world["chugoku"], since="2999-01-01", formats=["json", "html", "xlsx"])
    got = _outcomes(client, world["chubu"], empty)  # nothing counted in it: open to every coordinator
    assert got["rows"] == {} and got["scope"]["region"] == "中国"
    assert "まだありません。" in _file(client, world["chubu"], empty, "report.html").text


def test_the_researchers_export_holds_the_introductions_addressed_to_it(client, actors, world):
    export = client.get(f"{API}/researchers/me/export", headers=actors.researcher)
    assert export.status_code == 200, export.text
    received = {item["id"]: item for item in export.json()["introductions"]}
    declined = received[world["declined"]]
    assert declined["status"] == "declined" and declined["reason"] == DECLINED
    assert declined["message"] == "ガス化炉について相談したい" and declined["requester"] == "テスト市 産業振興課"
    assert declined["university"] == NAGAOKA and declined["answered_at"] and declined["created_at"]
    assert sorted(i["status"] for i in received.values()) == ["accepted", "declined", "pending"]
    theirs = client.get(f"{API}/researchers/me/export", headers=actors.other_researcher).json()["introductions"]
    assert [i["message"] for i in theirs] == ["カキ殻の粉砕について"]  # each researcher's own requests only


def test_the_job_page_says_why_instead_of_linking_files_it_would_refuse(client, actors, world):
    from fastapi.testclient import TestClient

    from tests.web.conftest import sign_in

    chubu_job = _job(client, world["chubu"], prefectures=["15", "34"], formats=["json", "html"])
    browser = TestClient(client.app)
    sign_in(browser, world["chugoku"])
    page = browser.get(f"/coordinator/reports/{chubu_job['id']}")
    assert page.status_code == 200
    assert "中部の紹介依頼と評価の結果が含まれるため" in page.text
    assert f"/coordinator/reports/{chubu_job['id']}/files/" not in page.text  # no link that would answer 403
    listed = browser.get("/coordinator").text
    assert f"/coordinator/reports/{chubu_job['id']}/files/report.html" not in listed
    sign_in(browser, world["chubu"])
    own = browser.get(f"/coordinator/reports/{chubu_job['id']}").text
    assert f"/coordinator/reports/{chubu_job['id']}/files/report.html" in own and "含まれるため" not in own
