"""Issue 15: feedback on a match (役に立った／役に立たなかった) on SQLite and PostgreSQL: given by the need's poster,
replaced when given again, read by coordinators of the need's region, counted per partner with the introductions'
outcomes, exported as labels for the benchmark, and never changing the ranking."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from api import models as m
from api.feedback import export_rows
from api.introduction_models import IntroductionRequest

from .test_introductions import NEED, _account

API = "/api/v1"


@pytest.fixture(scope="module")
def posted(client, actors):
    need = client.post(f"{API}/needs", json=dict(NEED, title="評価するニーズ"), headers=actors.poster)
    assert need.status_code == 201
    return need.json()


def _ranking(client, actors, need_id: int) -> list[tuple[str, float]]:
    match = client.post(f"{API}/needs/{need_id}/matches", json={"top_k": 10}, headers=actors.poster).json()
    return [(p["key"], p["score"]) for p in match["partners"]]


def _say(client, headers, need_id: int, partner: dict, useful: bool, reason: str | None = None):
    return client.post(f"{API}/feedback", json={"need_id": need_id, "level": partner["level"], "key": partner["key"],
                                                "name": partner["name"], "useful": useful, "reason": reason},
                       headers=headers)


def test_feedback_is_stored_replaced_read_by_coordinators_and_leaves_the_ranking_alone(client, actors, posted):
    partners = posted["match"]["partners"]
    assert len(partners) >= 2
    before = _ranking(client, actors, posted["id"])
    first = _say(client, actors.poster, posted["id"], partners[0], True, "稲わらのガス化の実績がある")
    assert first.status_code == 200, first.text
    assert first.json()["useful"] and first.json()["region"] == "中部"
    bad = _say(client, actors.poster, posted["id"], partners[-1], False)
    assert bad.status_code == 200 and bad.json()["reason"] is None
    again = _say(client, actors.poster, posted["id"], partners[-1], False, "分野が違う")
    assert again.json()["id"] == bad.json()["id"] and again.json()["reason"] == "分野が違う"  # replaced, not added
    assert _ranking(client, actors, posted["id"]) == before  # the ranking does not read the feedback

    assert _say(client, actors.other_poster, posted["id"], partners[0], True).status_code == 403
    assert _say(client, actors.coordinator, posted["id"], partners[0], True).status_code == 403
    assert _say(client, actors.poster, 2**31 - 1, partners[0], True).status_code == 404
    assert client.post(f"{API}/feedback", json={"need_id": posted["id"], "key": "x", "name": "x"},
                       headers=actors.poster).status_code == 422  # no label

    ours = client.get(f"{API}/feedback", params={"need_id": posted["id"]}, headers=actors.coordinator).json()
    assert {(f["partner_key"], f["useful"]) for f in ours} == {(partners[0]["key"], True),
                                                              (partners[-1]["key"], False)}
    chugoku = _account(client, "中国の評価確認", m.Role.coordinator, "中国テスト機構2", org_prefecture="34")
    assert client.get(f"{API}/feedback", params={"need_id": posted["id"]}, headers=chugoku).json() == []
    assert client.get(f"{API}/feedback", headers=actors.other_poster).json() == []  # a poster reads its own only
    assert len(client.get(f"{API}/feedback", params={"need_id": posted["id"]}, headers=actors.poster).json()) == 2


def test_the_outcomes_count_introductions_and_feedback_per_partner(client, actors, posted):
    with Session(client.app.state.db) as session:
        org = session.exec(select(m.Organisation).where(m.Organisation.name == "広島大学")).one()
        owner = session.exec(select(m.Account).where(m.Account.name == "テスト市")).one()
        month_ago = datetime.now(UTC) - timedelta(days=30)
        for status, made in (("accepted", None), ("declined", None), ("pending", None), ("pending", month_ago)):
            session.add(IntroductionRequest(need_id=posted["id"], requester_account_id=owner.id,
                                            organisation_id=org.id, partner_level="university", partner_key="広島大学",
                                            partner_name="広島大学", region="中部", message="m", status=status,
                                            **({"created_at": made} if made else {})))
        session.commit()
    _say(client, actors.poster, posted["id"], {"level": "university", "key": "広島大学", "name": "広島大学"}, False)
    outcomes = client.get(f"{API}/feedback/outcomes", headers=actors.coordinator)
    assert outcomes.status_code == 200
    hiroshima = next(o for o in outcomes.json() if o["partner_key"] == "広島大学")
    assert (hiroshima["accepted"], hiroshima["declined"], hiroshima["pending"]) >= (1, 1, 1)
    assert hiroshima["ignored"] >= 1  # pending for more than 14 days
    assert hiroshima["not_useful"] >= 1
    chugoku = _account(client, "中国の集計確認", m.Role.coordinator, "中国テスト機構3", org_prefecture="34")
    theirs = client.get(f"{API}/feedback/outcomes", headers=chugoku).json()
    assert "広島大学" not in {o["partner_key"] for o in theirs}  # 中部's requests and feedback are not 中国's
    assert client.get(f"{API}/feedback/outcomes", headers=actors.poster).status_code == 403


def test_the_export_is_a_labelled_set_for_the_benchmark(client, actors, posted):
    with Session(client.app.state.db) as session:
        rows = list(export_rows(session))
    mine = [r for r in rows if r["need_id"] == posted["id"]]
    assert mine and all(set(r) >= {"need_id", "partner_key", "label", "reason"} for r in mine)
    assert {r["label"] for r in mine} == {0, 1}
    assert all(r["partner_key"].split(":", 1)[0] in ("university", "researcher", "seed") for r in mine)
    json.dumps(rows, ensure_ascii=False)  # JSON as it is written, one line a row
