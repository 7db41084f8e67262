"""Report jobs over the API (issue 5): roles, a job run to the end, downloads, restarts, validation."""

from __future__ import annotations

import json

from sqlmodel import Session

from api.report_models import ReportJob
from api.reports_jobs import INTERRUPTED

from .conftest import wait_for_report

BASE = "/api/v1/reports"


def test_only_coordinators_and_admins_start_reports(client, actors):
    assert client.post(BASE, json={}).status_code == 401
    for who in (actors.poster, actors.researcher):
        r = client.post(BASE, json={}, headers=who)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert client.get(BASE, headers=who).status_code == 403


def test_a_report_job_runs_to_the_end_and_its_files_download(client, actors):
    r = client.post(BASE, json={"formats": ["json", "csv", "html"], "assignment_cap": 2}, headers=actors.coordinator)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running", "succeeded")
    job = wait_for_report(client, actors.coordinator, job["id"])
    assert job["status"] == "succeeded", job
    assert job["done"] == job["total"] and job["summary"]["needs"] >= 1
    names = {f["name"] for f in job["files"]}
    assert {"report.json", "report.html", "needs.csv", "flow_counts.csv"} <= names
    data = client.get(f"{BASE}/{job['id']}/files/report.json", headers=actors.coordinator)
    assert data.status_code == 200
    report = json.loads(data.content)
    assert report["meta"]["needs"] == job["summary"]["needs"] and len(report["flow"]["counts"]) == 8
    csv = client.get(f"{BASE}/{job['id']}/files/needs.csv", headers=actors.admin)
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    html = client.get(f"{BASE}/{job['id']}/files/report.html", headers=actors.coordinator)
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    # only the job's own files, never a path
    for name in ("nothing.csv", "..%2F..%2Fmatcher.db", "%2Fetc%2Fpasswd"):
        assert client.get(f"{BASE}/{job['id']}/files/{name}", headers=actors.coordinator).status_code == 404
    assert client.get(f"{BASE}/{job['id']}/files/report.json", headers=actors.poster).status_code == 403
    listed = client.get(BASE, headers=actors.coordinator).json()
    assert job["id"] in [j["id"] for j in listed]


def test_scope_and_period_reach_the_report(client, actors):
    r = client.post(BASE, json={"regions": ["中部"], "formats": ["json"]}, headers=actors.coordinator)
    job = wait_for_report(client, actors.coordinator, r.json()["id"])
    report = json.loads(client.get(f"{BASE}/{job['id']}/files/report.json", headers=actors.coordinator).content)
    assert report["needs"] and all(n["region"] == "中部" for n in report["needs"])
    r = client.post(BASE, json={"since": "2999-01-01", "formats": ["json"]}, headers=actors.coordinator)
    job = wait_for_report(client, actors.coordinator, r.json()["id"])
    assert job["status"] == "succeeded" and job["summary"]["needs"] == 0


def test_a_job_left_running_by_a_restart_is_reported_failed(client, actors):
    with Session(client.app.state.db) as session:
        me = client.get("/api/v1/me", headers=actors.coordinator).json()
        job = ReportJob(created_by=me["id"], status="running", stage="シーズを検索・集約", done=3, total=10)
        session.add(job)
        session.commit()
        job_id = job.id
    got = client.get(f"{BASE}/{job_id}", headers=actors.coordinator).json()
    assert got["status"] == "failed" and got["message"] == INTERRUPTED and got["finished_at"]


def test_bad_requests_get_japanese_messages(client, actors):
    r = client.post(BASE, json={"regions": ["火星"]}, headers=actors.coordinator)
    assert r.status_code == 422 and "地域ブロック" in json.dumps(r.json(), ensure_ascii=False)
    r = client.post(BASE, json={"formats": ["docx"]}, headers=actors.coordinator)
    assert r.status_code == 422
    r = client.post(BASE, json={"prefectures": ["火星県"]}, headers=actors.coordinator)
    assert r.status_code == 422
    r = client.post(BASE, json={"unknown": 1}, headers=actors.coordinator)
    assert r.status_code == 422
    assert client.get(f"{BASE}/999999", headers=actors.coordinator).status_code == 404


def test_a_report_job_ranks_by_the_sort_it_was_given(client, actors):
    """内容重視 orders each need's partners by the best seed alone, as POST /needs/{id}/matches with sort=content."""
    firsts = {}
    for sort in ("overall", "content"):
        r = client.post(BASE, json={"formats": ["json"], "sort": sort}, headers=actors.coordinator)
        assert r.status_code == 202, r.text
        job = wait_for_report(client, actors.coordinator, r.json()["id"])
        report = json.loads(client.get(f"{BASE}/{job['id']}/files/report.json", headers=actors.coordinator).content)
        assert report["meta"]["sort"] == sort
        firsts[sort] = {n["need_id"]: [p["university"] for p in n["partners"]] for n in report["needs"]}
    need_id = next(iter(firsts["content"]))
    page = client.post(f"/api/v1/needs/{need_id}/matches", json={"sort": "content", "top_k": 5},
                       headers=actors.coordinator).json()
    shown = [p["name"] for p in page["partners"] if not p["promoted_for_cross_region"]]
    assert firsts["content"][need_id][:3] == shown[:3]
    bad = client.post(BASE, json={"sort": "size"}, headers=actors.coordinator)
    assert bad.status_code == 422 and any(d["field"] == "body.sort" for d in bad.json()["error"]["details"])
