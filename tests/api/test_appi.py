"""Issue 14, item 5 (APPI): the audit log of contact details shown, profiles by id under the contacts' rules, a
researcher's export and erasure of its own data (out of every index through the change log, report files named
by it deleted), the retention of report files, and the purpose-of-use page."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from api import models as m
from api.admin import app as admin_cli
from api.audit import AuditAction, AuditEntry
from api.auth import issue_token
from api.change_log import Change
from api.embeddings import Embedding
from api.erasure import ERASED_NAME
from api.limits import ID_MAX
from api.main import create_app
from api.report_models import JobStatus, ReportJob
from api.reports_jobs import ERASED, EXPIRED, NAMED_SEEDS, _keep_named_seeds, job_dir, purge_expired
from api.service import passage_text
from api.settings import Settings
from matcher.index import fingerprint

from .conftest import wait_for_report

API = "/api/v1"
OYSTER_NEED = {"title": "カキの品種改良", "description": "ゲノムでカキの成長を早めたい", "prefecture_code": "34"}
# golden need 901's text, so that the seed below is the best partner of that need in any report
ERASE_SEED = {"title": "稲わらともみ殻をエネルギーに", "keywords": ["稲わら", "もみ殻", "ガス化"],
              "summary": "市内の水田から出る稲わらともみ殻の処分に困っている。"
                         "ガス化して農業用ハウスの熱源にできないか。"}


def _rows(client, **where) -> list[AuditEntry]:
    with Session(client.app.state.db) as session:
        query = select(AuditEntry)
        for name, value in where.items():
            query = query.where(col(getattr(AuditEntry, name)) == value)
        return list(session.exec(query.order_by(col(AuditEntry.id))).all())


def _account_id(client, headers) -> int:
    return client.get(f"{API}/me", headers=headers).json()["id"]


# ---- the audit log --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def yamamoto(client, actors) -> str:
    """山本 浩二 (golden seeds 5, 6: oysters) with an e-mail shown to signed-in users and a private phone."""
    url = f"{API}/researchers/{actors.other_researcher_id}"
    changed = client.patch(url, json={"email": "yamamoto@example.ac.jp", "phone": "082-000-0000",
                                      "email_visibility": "registered", "phone_visibility": "private"},
                           headers=actors.other_researcher)
    assert changed.status_code == 200
    return url


def test_a_profile_read_writes_one_row_per_contact_field_shown(client, actors, yamamoto):
    poster_id = _account_id(client, actors.poster)
    before = len(_rows(client, researcher_id=actors.other_researcher_id))
    shown = client.get(yamamoto, headers=actors.poster).json()["contact"]
    assert shown == {"email": "yamamoto@example.ac.jp", "phone": None}
    rows = _rows(client, researcher_id=actors.other_researcher_id)[before:]
    assert [(r.action, r.account_id, r.account_role, r.field) for r in rows] == [
        ("contact_shown", poster_id, "poster", "email")]  # the private phone was not shown: no row
    assert rows[0].route == f"GET {yamamoto}" and rows[0].created_at is not None
    # the researcher reading its own profile is no provision to a third party
    count = len(_rows(client, researcher_id=actors.other_researcher_id))
    assert client.get(yamamoto, headers=actors.other_researcher).json()["contact"]["phone"] == "082-000-0000"
    assert len(_rows(client, researcher_id=actors.other_researcher_id)) == count
    # an admin sees both fields: two rows
    client.get(yamamoto, headers=actors.admin)
    assert [r.field for r in _rows(client, researcher_id=actors.other_researcher_id)[count:]] == ["email", "phone"]


def test_match_results_record_the_contacts_they_show_on_the_api_and_the_pages(client, actors, yamamoto):
    before = len(_rows(client, action="contact_shown"))
    created = client.post(f"{API}/needs", json=OYSTER_NEED, headers=actors.other_poster)
    assert created.status_code == 201
    body = created.text
    assert "yamamoto@example.ac.jp" in body
    rows = [r for r in _rows(client, action="contact_shown")[before:] if r.researcher_id == actors.other_researcher_id]
    assert [(r.field, r.route) for r in rows] == [("email", f"POST {API}/needs")], "one row a field per answer"
    again = client.post(f"{API}/needs/{created.json()['id']}/matches", json={"level": "seed"},
                        headers=actors.other_poster)
    assert "yamamoto@example.ac.jp" in again.text
    assert _rows(client, action="contact_shown")[-1].route == f"POST {API}/needs/{created.json()['id']}/matches"
    # the results page, as a signed-in browser
    from ..web.conftest import csrf_of, token_of

    browser = TestClient(client.app)
    csrf = csrf_of(browser.get("/signin").text)
    browser.post("/signin", data={"csrf": csrf, "token": token_of(actors.other_poster)})
    count = len(_rows(client, action="contact_shown"))
    page = browser.get(f"/needs/{created.json()['id']}")
    assert page.status_code == 200 and "yamamoto@example.ac.jp" in page.text
    page_rows = _rows(client, action="contact_shown")[count:]
    assert page_rows and {r.route for r in page_rows} == {f"GET /needs/{created.json()['id']}"}


def test_admins_read_the_audit_log_paged_and_no_one_else(client, actors, yamamoto):
    client.get(yamamoto, headers=actors.poster)
    first = client.get(f"{API}/admin/audit", params={"limit": 2}, headers=actors.admin).json()
    assert first["total"] >= 3 and len(first["items"]) == 2 and first["limit"] == 2
    ids = [row["id"] for row in first["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    second = client.get(f"{API}/admin/audit", params={"limit": 2, "offset": 2}, headers=actors.admin).json()
    assert not set(ids) & {row["id"] for row in second["items"]}
    mine = client.get(f"{API}/admin/audit", params={"researcher_id": actors.other_researcher_id,
                                                     "action": "contact_shown"}, headers=actors.admin).json()
    assert mine["items"] and all(r["researcher_id"] == actors.other_researcher_id for r in mine["items"])
    assert "yamamoto@example.ac.jp" not in json.dumps(mine)  # ids, never the contact itself
    for who in (actors.coordinator, actors.poster, actors.other_researcher):
        refused = client.get(f"{API}/admin/audit", headers=who)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    bad = client.get(f"{API}/admin/audit", params={"action": "nothing"}, headers=actors.admin)
    assert bad.status_code == 422


def test_the_admin_command_lists_the_audit_log(client, actors, settings, monkeypatch, yamamoto):
    monkeypatch.setattr("api.admin.get_settings", lambda: settings)
    out = CliRunner().invoke(admin_cli, ["audit", "--researcher-id", str(actors.other_researcher_id), "--json"])
    assert out.exit_code == 0, out.output
    listed = json.loads(out.stdout)
    assert listed["total"] >= 1 and all(r["researcher_id"] == actors.other_researcher_id for r in listed["items"])
    lines = CliRunner().invoke(admin_cli, ["audit", "--limit", "3"])
    assert lines.exit_code == 0 and "連絡先の表示" in lines.output


# ---- profiles by id -------------------------------------------------------------------------------
def test_a_profile_without_a_listed_seed_is_read_by_itself_and_admins_only(client, actors):
    made = client.post(f"{API}/researchers", json={"name": "未公開 研究者", "organisation_id": 1,
                                                   "email": "mikoukai@example.ac.jp", "email_visibility": "public"},
                       headers=actors.admin)
    assert made.status_code == 201
    url = f"{API}/researchers/{made.json()['id']}"
    for who in (actors.poster, actors.coordinator, actors.other_researcher):
        hidden = client.get(url, headers=who)
        assert hidden.status_code == 404 and "研究者" in hidden.json()["error"]["message"]
        assert client.patch(url, json={"position": "教授"}, headers=who).status_code == 404
    assert client.get(url, headers=actors.admin).status_code == 200
    draft = client.post(f"{API}/seeds", json={"title": "未公開の下書き", "summary": "下書き", "visibility": "private",
                                              "researcher_id": made.json()["id"]}, headers=actors.admin)
    assert draft.status_code == 201
    assert client.get(url, headers=actors.poster).status_code == 404  # a draft publishes nothing
    client.post(f"{API}/seeds", json={"title": "公開のシーズ", "summary": "公開する研究の概要",
                                      "researcher_id": made.json()["id"]}, headers=actors.admin)
    shown = client.get(url, headers=actors.poster)
    assert shown.status_code == 200 and shown.json()["contact"]["email"] == "mikoukai@example.ac.jp"


# ---- export and erasure ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def leaver(client, actors) -> dict:
    """A researcher with its own account, a public seed (the best partner of golden need 901) and a draft."""
    made = client.post(f"{API}/researchers", json={"name": "退会 予定", "organisation_id": 1,
                                                   "email": "leaver@example.ac.jp", "email_visibility": "registered"},
                       headers=actors.admin).json()
    with Session(client.app.state.db) as session:
        account = m.Account(name="退会予定の研究者", role=m.Role.researcher)
        session.add(account)
        session.flush()
        researcher = session.get_one(m.Researcher, made["id"])
        researcher.account_id = account.id
        session.add(researcher)
        session.commit()
        headers = {"Authorization": f"Bearer {issue_token(session, account)}"}
        account_id = m.stored_id(account)
    seed = client.post(f"{API}/seeds", json=ERASE_SEED, headers=headers).json()
    draft = client.post(f"{API}/seeds", json={"title": "退会予定の下書き", "summary": "まだ誰にも見せない研究",
                                              "visibility": "private"}, headers=headers).json()
    return {"headers": headers, "researcher_id": made["id"], "account_id": account_id, "seed": seed["id"],
            "draft": draft["id"]}


def test_a_researcher_exports_its_own_data(client, actors, leaver):
    client.get(f"{API}/researchers/{leaver['researcher_id']}", headers=actors.poster)  # shown: e-mail
    export = client.get(f"{API}/researchers/me/export", headers=leaver["headers"])
    assert export.status_code == 200
    data = export.json()
    assert data["researcher"]["email"] == "leaver@example.ac.jp"
    settings_of = (data["researcher"]["email_visibility"], data["researcher"]["phone_visibility"])
    assert settings_of == ("registered", "private")
    assert {s["id"] for s in data["seeds"]} == {leaver["seed"], leaver["draft"]}
    assert data["account"]["id"] == leaver["account_id"]
    # newest first: the poster's read, and the admin's answer when it created the profile
    assert [(d["account_id"], d["field"]) for d in data["contact_disclosures"]] == [
        (_account_id(client, actors.poster), "email"), (_account_id(client, actors.admin), "email")]
    assert _rows(client, action="researcher_exported", researcher_id=leaver["researcher_id"])
    for who in (actors.poster, actors.coordinator, actors.admin):
        missing = client.get(f"{API}/researchers/me/export", headers=who)
        assert missing.status_code == 404 and "研究者情報" in missing.json()["error"]["message"]


def _plant_job(client, data_dir: Path, *, finished_days_ago: float, files: bool = True) -> int:
    """A finished job row with a file, as an older version (no list of named seeds) left it."""
    with Session(client.app.state.db) as session:
        job = ReportJob(created_by=1, status=JobStatus.succeeded.value, files=["report.html"] if files else [],
                        finished_at=m.utcnow() - timedelta(days=finished_days_ago))
        session.add(job)
        session.commit()
        job_id = m.stored_id(job)
    folder = job_dir(data_dir, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.html").write_text("<p>old</p>", encoding="utf-8")
    return job_id


def _follower_app(settings: Settings, encoder, tmp: Path) -> TestClient:
    """A second worker on the same database: its own index, which follows the change log."""
    return TestClient(create_app(settings.model_copy(update={"data_dir": tmp, "index_dir": None,
                                                            "load_demo": False}), encoder=encoder))


def test_erasure_deletes_the_researcher_everywhere(client, actors, leaver, settings, encoder, tmp_path):
    data_dir = Path(settings.data_dir)
    expired = _plant_job(client, data_dir, finished_days_ago=settings.report_retention_days + 1)
    job = client.post(f"{API}/reports", json={"formats": ["json", "html"]}, headers=actors.coordinator).json()
    job = wait_for_report(client, actors.coordinator, job["id"])
    assert job["status"] == "succeeded", job
    named = set(json.loads((job_dir(data_dir, job["id"]) / NAMED_SEEDS).read_text()))
    assert leaver["seed"] in named and leaver["draft"] not in named
    assert NAMED_SEEDS not in {f["name"] for f in job["files"]}  # never served
    deadline = time.monotonic() + 30  # purged after the job (its thread, once the job is marked done): retention
    while (purged := wait_for_report(client, actors.coordinator, expired))["files"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert purged["files"] == [] and purged["message"] == EXPIRED.format(days=settings.report_retention_days)
    assert not job_dir(data_dir, expired).exists()
    unrelated = _plant_job(client, data_dir, finished_days_ago=400 / 24 / 3600)
    (job_dir(data_dir, unrelated) / NAMED_SEEDS).write_text(json.dumps([1, 2]), encoding="utf-8")
    # jobs from before the named seeds were kept: judged by their date against the researcher's first seed
    legacy_after = _plant_job(client, data_dir, finished_days_ago=0)
    legacy_before = _plant_job(client, data_dir, finished_days_ago=1)

    with Session(client.app.state.db) as session:
        seed = session.get_one(m.Seed, leaver["seed"])
        vector_key = (client.app.state.service.encoder.name,
                      fingerprint(passage_text(seed), client.app.state.service.encoder.name))
        assert session.get(Embedding, vector_key) is not None
    other = client.get(f"{API}/researchers/{leaver['researcher_id']}", headers=actors.other_researcher)
    assert other.status_code == 200
    refused = client.delete(f"{API}/researchers/{leaver['researcher_id']}", params={"confirm": True},
                            headers=actors.other_researcher)
    assert refused.status_code == 403 and "本人と管理者" in refused.json()["error"]["message"]

    with _follower_app(settings, client.app.state.service.encoder, tmp_path) as follower:
        assert leaver["seed"] in follower.app.state.service.engine.seeds
        unconfirmed = client.delete(f"{API}/researchers/me", headers=leaver["headers"])
        assert unconfirmed.status_code == 422 and "confirm=true" in unconfirmed.json()["error"]["message"]
        assert client.get(f"{API}/seeds/{leaver['seed']}", headers=actors.poster).status_code == 200

        erased = client.delete(f"{API}/researchers/me", params={"confirm": True}, headers=leaver["headers"])
        assert erased.status_code == 200, erased.text
        out = erased.json()
        assert set(out["seeds_deleted"]) == {leaver["seed"], leaver["draft"]} and out["account_disabled"]
        assert {job["id"], legacy_after} <= set(out["report_jobs_cleared"])
        assert not {unrelated, legacy_before} & set(out["report_jobs_cleared"])
        assert "削除しました" in out["message"]

        # out of this worker's index at once, and out of the other worker's through the change log
        assert leaver["seed"] not in client.app.state.service.engine.seeds
        deadline = time.monotonic() + 30
        while leaver["seed"] in follower.app.state.service.engine.seeds and time.monotonic() < deadline:
            time.sleep(0.1)
        assert leaver["seed"] not in follower.app.state.service.engine.seeds

    # the rows: gone or anonymised; the token no longer works
    with Session(client.app.state.db) as session:
        assert session.get(m.Researcher, leaver["researcher_id"]) is None
        assert session.exec(select(m.Seed).where(col(m.Seed.id).in_(out["seeds_deleted"]))).all() == []
        account = session.get_one(m.Account, leaver["account_id"])
        assert (account.name, account.disabled) == (ERASED_NAME, True)
        assert all(t.revoked_at is not None for t in session.exec(
            select(m.ApiToken).where(m.ApiToken.account_id == leaver["account_id"])).all())
        changes = session.exec(select(Change.item_id).where(Change.kind == "seed")).all()
        assert {leaver["seed"], leaver["draft"]} <= set(changes)
        assert session.get(Embedding, vector_key) is None
    assert client.get(f"{API}/me", headers=leaver["headers"]).status_code == 401
    for who in (actors.admin, actors.poster):
        assert client.get(f"{API}/seeds/{leaver['seed']}", headers=who).status_code == 404
        assert client.get(f"{API}/researchers/{leaver['researcher_id']}", headers=who).status_code == 404
    matched = client.post(f"{API}/needs/901/matches", json={"level": "seed", "top_k": 50}, headers=actors.poster)
    assert leaver["seed"] not in [h["seed_id"] for p in matched.json()["partners"] for h in p["seeds"]]

    # the report that named the seed: files deleted, the job says why; the unrelated one kept
    cleared = client.get(f"{API}/reports/{job['id']}", headers=actors.coordinator).json()
    assert cleared["files"] == [] and cleared["message"] == ERASED
    assert not job_dir(data_dir, job["id"]).exists()
    assert client.get(f"{API}/reports/{job['id']}/files/report.json", headers=actors.coordinator).status_code == 404
    kept = client.get(f"{API}/reports/{unrelated}", headers=actors.coordinator).json()["files"]
    assert [f["name"] for f in kept] == ["report.html"]

    # the audit log keeps the record (ids only) of the erasure and of what was shown before it
    erasure_rows = _rows(client, action=AuditAction.researcher_erased.value, researcher_id=leaver["researcher_id"])
    assert [r.account_id for r in erasure_rows] == [leaver["account_id"]]
    assert _rows(client, action="contact_shown", researcher_id=leaver["researcher_id"])


def test_admins_erase_a_researcher_by_id(client, actors):
    made = client.post(f"{API}/researchers", json={"name": "管理者が削除", "organisation_id": 1},
                       headers=actors.admin).json()
    seed = client.post(f"{API}/seeds", json={"title": "管理者が削除するシーズ", "summary": "削除される研究",
                                             "researcher_id": made["id"]}, headers=actors.admin).json()
    assert seed["id"] in client.app.state.service.engine.seeds
    url = f"{API}/researchers/{made['id']}"
    assert client.delete(url, headers=actors.admin).status_code == 422  # confirm=true is needed
    assert client.delete(url, params={"confirm": True}, headers=actors.coordinator).status_code == 403
    erased = client.delete(url, params={"confirm": True}, headers=actors.admin)
    assert erased.status_code == 200 and erased.json()["seeds_deleted"] == [seed["id"]]
    assert not erased.json()["account_disabled"]  # it had no account
    assert seed["id"] not in client.app.state.service.engine.seeds
    assert client.get(url, headers=actors.admin).status_code == 404
    assert client.delete(url, params={"confirm": True}, headers=actors.admin).status_code == 404


def test_a_job_whose_seed_was_erased_while_it_ran_keeps_no_files(client, tmp_path):
    """A job searches a copy of the index taken at its start: an erasure meanwhile must not leave its files."""
    def report(*seed_ids):
        partners = [SimpleNamespace(best_seed_id=i) for i in seed_ids]
        return SimpleNamespace(needs=[SimpleNamespace(partners=partners, further_partners=[], best_in_region=None)])

    job_dir(tmp_path, 1).mkdir(parents=True)
    assert _keep_named_seeds(client.app.state.db, tmp_path, 1, report(1, 2))
    assert json.loads((job_dir(tmp_path, 1) / NAMED_SEEDS).read_text()) == [1, 2]
    assert not _keep_named_seeds(client.app.state.db, tmp_path, 1, report(1, ID_MAX))  # no such seed any more


# ---- retention ----------------------------------------------------------------------------------
def test_old_report_files_are_deleted_at_start_up_and_by_purge(client, settings, encoder, tmp_path, monkeypatch):
    assert Settings().report_retention_days == 90
    monkeypatch.setenv("MATCHER_REPORT_RETENTION_DAYS", "7")
    assert Settings().report_retention_days == 7
    old = _plant_job(client, tmp_path, finished_days_ago=8)
    recent = _plant_job(client, tmp_path, finished_days_ago=6)
    stray = tmp_path / "reports" / "999999"
    stray.mkdir(parents=True)
    with _follower_app(settings.model_copy(update={"report_retention_days": 7}), encoder, tmp_path):
        pass  # the start-up purges
    assert not job_dir(tmp_path, old).exists() and job_dir(tmp_path, recent).exists()
    assert stray.exists()  # a folder of no job is left until it is as old as the period
    with Session(client.app.state.db) as session:
        row = session.get_one(ReportJob, old)
        assert row.files == [] and row.message == EXPIRED.format(days=7)
        assert session.get_one(ReportJob, recent).files == ["report.html"]
        assert purge_expired(session, tmp_path, 5) == [recent]
    assert not job_dir(tmp_path, recent).exists()


# ---- the purpose of use ------------------------------------------------------------------------------
def test_the_purpose_of_use_page_is_linked_from_every_page(client):
    page = client.get("/privacy")
    assert page.status_code == 200
    assert "個人情報の利用目的" in page.text and "利用目的" in page.text and "90 日" in page.text
    assert "下書き（自分だけ）" in page.text
    for path in ("/", "/signin", "/help/scores"):
        assert 'href="/privacy"' in client.get(path).text


# ---- the migration ------------------------------------------------------------------------------------
def test_0006_goes_up_and_down_and_matches_the_model(backend, tmp_path):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    from api.db import make_engine, migrate

    from .conftest import fresh_database_url
    from .test_hardening_migration import _config

    engine = make_engine(fresh_database_url(backend, tmp_path))
    try:
        migrate(engine)
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert not [d for d in diffs if "audit_log" in repr(d)]
        with engine.begin() as connection:
            command.downgrade(_config(connection), "0005")
        assert "audit_log" not in inspect(engine).get_table_names()
        migrate(engine)
        assert "audit_log" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
