"""Bulk seed import (issue 15, シーズ集) through the pages, on SQLite and PostgreSQL: who may, the dry run writes
nothing, the import is all or none and idempotent by external id, unchanged texts are not embedded again, and
imported seeds are matched."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from api import models as m
from api import usecases
from api.change_log import Change
from api.embeddings import Embedding
from api.service import passage_text
from matcher.index import fingerprint

from ..conftest import CountingEncoder
from ..web.conftest import sign_in

API = "/api/v1"
HEADER = "外部ID,題目,概要,キーワード,市場領域,成熟度,公開範囲,研究者"
SNOW = ("雪室の冷気で野菜を低温熟成し、糖度を高める貯蔵技術。"
        "電気を使わない天然の冷蔵庫として地域の農産物に付加価値を付ける。")


@pytest.fixture(scope="module")
def counting(encoder):
    return CountingEncoder(encoder)


@pytest.fixture(scope="module")
def client(settings, counting):
    from api.main import create_app

    with TestClient(create_app(settings, encoder=counting)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def office(client, actors):
    """The liaison office of 長岡技術科学大学 (高田 誠's university), signed in on its own browser, and the
    university's id; 高田 誠 gets an e-mail address the file can name him by."""
    db = client.app.state.db
    with Session(db) as session:
        researcher = session.get_one(m.Researcher, actors.researcher_id)
        researcher.email = "takada@example.ac.jp"
        session.add(researcher)
        account = m.Account(name="長岡技大 産学連携", role=m.Role.coordinator,
                            organisation_id=researcher.organisation_id, is_liaison_office=True)
        session.add(account)
        session.commit()
        from api.auth import issue_token

        headers = {"Authorization": f"Bearer {issue_token(session, account)}"}
        university_id = researcher.organisation_id
    browser = TestClient(client.app)
    csrf = sign_in(browser, headers)
    return browser, csrf, university_id


def csv_of(*rows: str, encoding: str = "utf-8-sig") -> bytes:
    return "\r\n".join((HEADER, *rows)).encode(encoding)


def row(external_id: str, title: str, researcher: str = "takada@example.ac.jp", summary: str = SNOW,
        visibility: str = "公開") -> str:
    return f'{external_id},{title},{summary},"雪室、熟成",M3,実証段階,{visibility},{researcher}'


def check(browser: TestClient, csrf: str, data: bytes, name: str = "seeds.csv", **form: str):
    return browser.post("/seed-import/check", data={"csrf": csrf, **form}, files={"file": (name, data, "text/csv")})


def upload_id(html: str) -> str:
    found = re.search(r'name="upload" value="([^"]+)"', html)
    assert found, "no confirm form: the dry run refused the file"
    return found.group(1)


def run(browser: TestClient, csrf: str, html: str) -> str:
    started = browser.post("/seed-import/run", data={"csrf": csrf, "upload": upload_id(html)},
                           follow_redirects=False)
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    deadline = time.monotonic() + 300
    while True:
        status = browser.get(f"{location}/status")
        assert status.status_code == 200
        if 'data-status="succeeded"' in status.text or 'data-status="failed"' in status.text:
            return status.text
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.2)


def seeds_of(client, university_id: int, external_ids: list[str]) -> dict[str, m.Seed]:
    with Session(client.app.state.db) as session:
        found = session.exec(select(m.Seed).where(m.Seed.organisation_id == university_id,
                                                  col(m.Seed.external_id).in_(external_ids))).all()
        return {s.external_id or "": s for s in found}


def change_rows(client) -> int:
    with Session(client.app.state.db) as session:
        return session.exec(select(func.count()).select_from(Change)).one()


# ---- who ---------------------------------------------------------------------------------------------
def test_only_a_liaison_office_and_admins_may_import(client, actors, office):
    others = {role: TestClient(client.app) for role in ("poster", "researcher", "coordinator")}
    for role, browser in others.items():
        csrf = sign_in(browser, getattr(actors, role))
        page = browser.get("/seed-import")
        assert page.status_code == 403, role
        assert "産学連携窓口のアカウントと管理者だけ" in page.text
        assert check(browser, csrf, csv_of(row("X-1", "題"))).status_code == 403
        assert browser.get("/seed-import/template").status_code == 403
    browser, _, _ = office
    assert browser.get("/seed-import").status_code == 200
    assert 'href="/seed-import"' in browser.get("/").text  # the office's menu links to it
    assert 'href="/seed-import"' not in others["coordinator"].get("/").text


def test_an_office_imports_into_its_own_university_only(client, actors, office):
    browser, csrf, university_id = office
    # the office cannot name another university, and cannot name another university's researcher
    with Session(client.app.state.db) as session:
        other = session.get_one(m.Researcher, actors.other_researcher_id)
    page = check(browser, csrf, csv_of(row("W-1", "他大学の研究者", researcher=str(other.id))),
                 organisation_id=str(other.organisation_id))
    assert page.status_code == 200
    assert f"研究者ID {other.id} の研究者は、この大学に登録されていません。" in page.text
    assert 'name="upload"' not in page.text


def test_admins_choose_the_university(client, actors):
    browser = TestClient(client.app)
    csrf = sign_in(browser, actors.admin)
    assert check(browser, csrf, csv_of(row("A-1", "題"))).status_code == 422  # no university chosen
    assert check(browser, csrf, csv_of(row("A-1", "題")), organisation_id="99999").status_code == 422


# ---- the dry run ------------------------------------------------------------------------------------
def test_the_dry_run_reports_each_row_and_writes_nothing(client, office):
    browser, csrf, university_id = office
    before = change_rows(client)
    data = csv_of(row("D-1", "雪室熟成の貯蔵技術"), row("D-2", ""), row("D-1", "重複"),
                  row("D-3", "題", researcher="nobody@example.ac.jp"), row("D-4", "題", visibility="秘密"),
                  "D-5,題,概要,,M99,基礎研究,公開,takada@example.ac.jp", encoding="cp932")
    page = check(browser, csrf, data)
    assert page.status_code == 200
    text = page.text
    assert 'id="count-create">1 件' in text and 'id="count-rejected">5 件' in text
    assert "題目: 1文字以上で入力してください。" in text or "題目: " in text
    assert "外部ID「D-1」は 2 行目と重複しています。" in text
    assert "メールアドレス「nobody@example.ac.jp」の研究者は、この大学に登録されていません。" in text
    assert "公開範囲「秘密」は使えません。" in text
    assert "M99" in text and "市場領域" in text
    assert 'name="upload"' not in text  # a file with a refused row cannot be confirmed
    assert change_rows(client) == before
    assert seeds_of(client, university_id, ["D-1", "D-2", "D-3", "D-4", "D-5"]) == {}


def test_a_file_that_cannot_be_read_is_refused_in_japanese(office):
    browser, csrf, _ = office
    page = check(browser, csrf, "題目,研究者\r\nx,1".encode())
    assert page.status_code == 422
    assert "必須の列がありません: 外部ID" in page.text


# ---- the import -------------------------------------------------------------------------------------
def test_the_import_is_idempotent_and_updates_only_changed_rows(client, office, counting):
    browser, csrf, university_id = office
    ids = ["I-1", "I-2", "I-3"]
    data = csv_of(row("I-1", "雪室熟成の貯蔵技術"), row("I-2", "雪冷房の制御", summary="雪冷房の制御技術。"),
                  row("I-3", "下書きのシーズ", summary="下書きの概要。", visibility="下書き"))
    counting.count()
    done = run(browser, csrf, check(browser, csrf, data).text)
    assert 'data-status="succeeded"' in done and 'id="done-create">3 件' in done
    assert counting.count() == 2  # the draft is not indexed, hence not embedded
    seeds = seeds_of(client, university_id, ids)
    assert set(seeds) == set(ids) and seeds["I-3"].visibility == m.SeedVisibility.private
    assert seeds["I-1"].keywords == ["雪室", "熟成"] and seeds["I-1"].readiness == m.Readiness.demonstration

    before = change_rows(client)
    again = check(browser, csrf, data)
    assert 'id="count-unchanged">3 件' in again.text and 'id="count-create">0 件' in again.text
    done = run(browser, csrf, again.text)
    assert 'id="done-unchanged">3 件' in done
    assert counting.count() == 0 and change_rows(client) == before  # nothing embedded, nothing written
    assert seeds_of(client, university_id, ids)["I-1"].updated_at == seeds["I-1"].updated_at

    changed = csv_of(row("I-1", "雪室熟成の貯蔵技術"), row("I-2", "雪冷房の制御", summary="雪冷房の制御技術。",
                                                     visibility="ログイン利用者に公開"),
                     row("I-3", "下書きのシーズ", summary="下書きの概要。", visibility="下書き"))
    dry = check(browser, csrf, changed).text
    assert 'id="count-update">1 件' in dry and "変わる列: 公開範囲" in dry, re.sub(r"\s+", " ", dry)[-5000:]
    done = run(browser, csrf, dry)
    assert 'id="done-update">1 件' in done
    assert counting.count() == 0  # only the visibility changed: the stored vector is used as it is
    after = seeds_of(client, university_id, ids)
    assert after["I-2"].visibility == m.SeedVisibility.registered and after["I-2"].id == seeds["I-2"].id
    assert change_rows(client) == before + 1


def test_imported_seeds_are_matched(client, actors, office):
    browser, csrf, university_id = office
    title = "雪室による農産物の低温熟成"
    run(browser, csrf, check(browser, csrf, csv_of(row("M-1", title))).text)
    seed = seeds_of(client, university_id, ["M-1"])["M-1"]
    posted = client.post(f"{API}/needs", json={"title": "雪室で野菜を熟成させたい", "description": SNOW,
                                               "prefecture_code": "15"}, headers=actors.poster)
    assert posted.status_code == 201
    hits = [s["seed_id"] for p in posted.json()["match"]["partners"] for s in p["seeds"]]
    assert seed.id in hits


def test_a_failure_mid_import_writes_no_seed_and_no_vector(client, office, monkeypatch):
    browser, csrf, university_id = office
    titles = {"F-1": "途中で失敗する取り込み一", "F-2": "途中で失敗する取り込み二", "F-3": "途中で失敗する取り込み三"}
    data = csv_of(*(row(k, t, summary=f"{t}の概要。") for k, t in titles.items()))
    dry = check(browser, csrf, data).text
    calls = []
    real = usecases.record_change

    def fail_on_the_second(session, kind, item_id):
        calls.append(item_id)
        if len(calls) == 2:  # the first seed's change row is in the transaction already
            raise RuntimeError("simulated failure in the middle of the import")
        return real(session, kind, item_id)

    monkeypatch.setattr(usecases, "record_change", fail_on_the_second)
    before = change_rows(client)
    done = run(browser, csrf, dry)
    assert 'data-status="failed"' in done and "何も書き込んでいません" in done
    assert len(calls) == 2
    assert seeds_of(client, university_id, list(titles)) == {}
    assert change_rows(client) == before
    model_id = client.app.state.service.encoder.name
    with Session(client.app.state.db) as session:
        for external_id, title in titles.items():
            text = passage_text(m.Seed(title=title, summary=f"{title}の概要。", keywords=["雪室", "熟成"]))
            assert session.get(Embedding, (model_id, fingerprint(text, model_id))) is None, external_id
    monkeypatch.undo()
    done = run(browser, csrf, check(browser, csrf, data).text)  # the same file goes in once the fault is gone
    assert 'id="done-create">3 件' in done


def test_a_confirmed_file_is_imported_once_and_only_by_whoever_checked_it(client, actors, office):
    browser, csrf, _ = office
    dry = check(browser, csrf, csv_of(row("O-1", "一度だけの取り込み"))).text
    admin = TestClient(client.app)
    admin_csrf = sign_in(admin, actors.admin)
    stolen = admin.post("/seed-import/run", data={"csrf": admin_csrf, "upload": upload_id(dry)})
    assert stolen.status_code == 404
    run(browser, csrf, dry)
    twice = browser.post("/seed-import/run", data={"csrf": csrf, "upload": upload_id(dry)})
    assert twice.status_code == 404 and "もう一度ファイルを確認してください" in twice.text


def test_the_templates_download(office):
    browser, _, _ = office
    csv = browser.get("/seed-import/template?format=csv")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf" + "外部ID".encode())
    assert "filename*=UTF-8''" in csv.headers["content-disposition"]
    xlsx = browser.get("/seed-import/template?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")


# ---- the JSON API -----------------------------------------------------------------------------------
def office_headers(client, office) -> dict:
    """The office's bearer token (the page fixture signed in with it)."""
    with Session(client.app.state.db) as session:
        from api.auth import issue_token

        account = session.exec(select(m.Account).where(m.Account.name == "長岡技大 産学連携")).one()
        return {"Authorization": f"Bearer {issue_token(session, account)}"}


def test_the_api_checks_imports_and_reports_progress(client, actors, office):
    _, _, university_id = office
    headers = office_headers(client, office)
    form = {"organisation_id": str(university_id)}
    data = csv_of(row("J-1", "APIで取り込むシーズ"), row("J-2", "", researcher="x@example.ac.jp"))
    checked = client.post(f"{API}/seed-imports/check", data=form, files={"file": ("s.csv", data)}, headers=headers)
    assert checked.status_code == 200, checked.text
    plan = checked.json()
    assert plan["ok"] is False and plan["counts"] == {"create": 1, "update": 0, "unchanged": 0, "rejected": 1}
    assert {p["column"] for p in plan["rows"][1]["problems"]} == {"題目", "研究者"}
    refused = client.post(f"{API}/seed-imports", data=form, files={"file": ("s.csv", data)}, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"].startswith("3.")
    assert seeds_of(client, university_id, ["J-1"]) == {}

    good = csv_of(row("J-1", "APIで取り込むシーズ"))
    started = client.post(f"{API}/seed-imports", data=form, files={"file": ("s.csv", good)}, headers=headers)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    deadline = time.monotonic() + 120
    while (job := client.get(f"{API}/seed-imports/{job_id}", headers=headers).json())["status"] in ("queued",
                                                                                                    "running"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["status"] == "succeeded" and job["counts"]["create"] == 1
    assert set(seeds_of(client, university_id, ["J-1"])) == {"J-1"}
    assert client.get(f"{API}/seed-imports/{job_id}", headers=actors.admin).status_code == 200
    assert client.get(f"{API}/seed-imports/{job_id}", headers=actors.coordinator).status_code == 403
    other = client.post(f"{API}/seed-imports/check", data={"organisation_id": "1"}, files={"file": ("s.csv", good)},
                        headers=actors.poster)
    assert other.status_code == 403 and "産学連携窓口" in other.json()["error"]["message"]
    template = client.get(f"{API}/seed-imports/template", params={"format": "xlsx"}, headers=headers)
    assert template.status_code == 200 and template.content.startswith(b"PK")


def test_an_office_may_not_name_another_university_in_the_api(client, actors, office):
    headers = office_headers(client, office)
    with Session(client.app.state.db) as session:
        other = session.get_one(m.Researcher, actors.other_researcher_id).organisation_id
    refused = client.post(f"{API}/seed-imports/check", data={"organisation_id": str(other)},
                          files={"file": ("s.csv", csv_of(row("K-1", "題")))}, headers=headers)
    assert refused.status_code == 403 and "自分の大学のシーズだけ" in refused.json()["error"]["message"]


def test_a_file_over_the_request_cap_is_taken_by_the_import_alone(settings, office):
    browser, csrf, _ = office
    cap = settings.max_body_bytes
    rows = [row(f"L-{i}", f"大きなファイルの行 {i}", summary="長い概要。" * 200) for i in range(150)]
    data = csv_of(*rows)
    assert len(data) > cap  # the cap of every other request (256 KiB)
    page = check(browser, csrf, data)
    assert page.status_code == 200 and 'id="count-create">150 件' in page.text
    other = browser.post("/seeds/new", data={"csrf": csrf, "title": "x" * len(data)})
    assert other.status_code == 413
