"""The coordinator's report pages (issue 5): start a report, watch its progress, open its files.

TestClient checks of roles, CSRF, validation that keeps the input, the polling fragment and the file route;
then one run in Debian chromium from the form to the HTML report, with screenshots."""

from __future__ import annotations

import re
import threading
import time

from sqlmodel import Session

from api import reports_jobs
from api.report_models import ReportJob

from .conftest import browser_sign_in, shot, sign_in


def _job_id(location: str) -> int:
    found = re.fullmatch(r"/coordinator/reports/(\d+)", location)
    assert found, location
    return int(found.group(1))


def _wait_done(client, job_id: int, timeout: float = 180.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fragment = client.get(f"/coordinator/reports/{job_id}/status", headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        status = re.search(r'data-status="(\w+)"', fragment.text).group(1)
        if status in ("succeeded", "failed"):
            return fragment.text
        assert 'hx-trigger="every 2s"' in fragment.text  # still polling while queued or running
        time.sleep(0.3)
    raise AssertionError(f"report job {job_id} did not finish in {timeout}s")


def _job_count(client) -> int:
    with Session(client.app.state.db) as session:
        return len(session.exec(ReportJob.__table__.select()).all())


def test_only_coordinators_and_admins(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.poster)
    for url in ("/coordinator", "/coordinator/reports/1", "/coordinator/reports/1/status",
                "/coordinator/reports/1/files/report.html"):
        response = page_client.get(url)
        assert response.status_code == 403, url
        assert "text/html" in response.headers["content-type"] and "コーディネーターと管理者" in response.text
    before = _job_count(page_client)
    refused = page_client.post("/coordinator/reports", data={"csrf": csrf, "formats": "json"})
    assert refused.status_code == 403 and _job_count(page_client) == before
    page_client.cookies.clear()
    anonymous = page_client.get("/coordinator/reports/1", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/signin?next=/coordinator/reports/1"
    sign_in(page_client, page_actors.admin)
    page = page_client.get("/coordinator")
    assert page.status_code == 200 and "レポートを作成する" in page.text
    # html is the default format; every region block and market area is offered
    assert re.search(r'name="formats" value="html" checked', page.text)
    assert not re.search(r'name="formats" value="pdf" checked', page.text)
    assert page.text.count('name="regions"') == 8 and page.text.count('name="market_areas"') == 9
    assert 'value="cp932"' in page.text


def test_start_needs_csrf(page_client, page_actors):
    sign_in(page_client, page_actors.coordinator)
    before = _job_count(page_client)
    for bad in ({}, {"csrf": "0" * 64}):
        response = page_client.post("/coordinator/reports", data={"formats": "json", **bad})
        assert response.status_code == 403 and "もう一度送信してください" in response.text
    assert _job_count(page_client) == before


def test_validation_errors_keep_the_input(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.coordinator)
    before = _job_count(page_client)
    response = page_client.post("/coordinator/reports", data={
        "csrf": csrf, "regions": ["中部", "九州"], "market_areas": ["M4"], "since": "あした", "until": "2026-04-01",
        "unmet_threshold": "1.5", "assignment_cap": "0", "csv_encoding": "cp932"})  # no format chosen
    assert response.status_code == 422
    text = response.text
    assert "入力内容を確認してください" in text
    assert "出力形式を1つ以上選んでください" in text
    assert "0〜1 の数で入力してください" in text and "1以上で指定してください" in text
    assert "日付は 2026-04-01 の形で入力してください" in text
    for checked in ('name="regions" value="中部" checked', 'name="regions" value="九州" checked',
                    'name="market_areas" value="M4" checked', 'name="csv_encoding" value="cp932" checked'):
        assert checked in text, checked
    assert 'name="regions" value="関東" checked' not in text
    assert 'value="1.5"' in text and 'value="あした"' in text and 'value="2026-04-01"' in text
    assert 'id="unmet_threshold" name="unmet_threshold" value="1.5" aria-invalid="true"' in text
    # a period that ends before it starts; full-width digits are read as digits
    backwards = page_client.post("/coordinator/reports", data={
        "csrf": csrf, "formats": "json", "since": "2026-04-01", "until": "2026-03-01", "assignment_cap": "３"})
    assert backwards.status_code == 422 and "終了日は開始日より後の日付" in backwards.text
    assert 'value="3"' in backwards.text
    # a value no form offers is refused by the API's own model
    forged = page_client.post("/coordinator/reports", data={"csrf": csrf, "formats": "docx", "regions": "火星"})
    assert forged.status_code == 422 and "地域ブロック" in forged.text
    assert _job_count(page_client) == before


def test_report_runs_and_its_files_open(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.coordinator)
    started = page_client.post("/coordinator/reports", data={
        "csrf": csrf, "formats": ["html", "json", "csv"], "regions": "中部", "assignment_cap": "2"},
        follow_redirects=False)
    assert started.status_code == 303, started.text
    job_id = _job_id(started.headers["location"])
    page = page_client.get(started.headers["location"])
    assert page.status_code == 200 and f"レポート #{job_id}" in page.text and "中部" in page.text
    done = _wait_done(page_client, job_id)
    assert 'data-status="succeeded"' in done and "完了" in done
    assert "hx-trigger" not in done  # polling stops once the job is over
    assert "<html" not in done and "対象のニーズ" in done and "未充足のニーズ" in done
    assert f'href="/coordinator/reports/{job_id}/files/report.html" target="_blank"' in done
    listed = page_client.get("/coordinator")
    assert f'href="/coordinator/reports/{job_id}"' in listed.text

    html = page_client.get(f"/coordinator/reports/{job_id}/files/report.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert html.headers["x-content-type-options"] == "nosniff"
    csv = page_client.get(f"/coordinator/reports/{job_id}/files/needs.csv")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv.headers["content-disposition"]
    # only names listed in the job: not another format, not a path, not another job's
    for name in ("report.pdf", "nothing.csv", "..%2F..%2Fweb.db", "%2Fetc%2Fpasswd", "%2E%2E", "report.html%00"):
        refused = page_client.get(f"/coordinator/reports/{job_id}/files/{name}")
        assert refused.status_code == 404, name
    missing = page_client.get("/coordinator/reports/999999/files/report.html")
    assert missing.status_code == 404 and "見つかりません" in missing.text
    assert page_client.get("/coordinator/reports/999999").status_code == 404

    sign_in(page_client, page_actors.poster)
    assert page_client.get(f"/coordinator/reports/{job_id}/files/report.html").status_code == 403


def test_running_job_polls_and_interrupted_job_shows_the_reason(page_client, page_actors):
    sign_in(page_client, page_actors.coordinator)
    me = page_client.get("/api/v1/me", headers=page_actors.coordinator).json()
    with Session(page_client.app.state.db) as session:
        job = ReportJob(created_by=me["id"], status="running", stage="シーズを検索・集約", done=3, total=12,
                        params={"regions": ["東北"], "formats": ["html"], "unmet_threshold": 0.875})
        session.add(job)
        session.commit()
        job_id = job.id
    release = threading.Event()
    holder = threading.Thread(target=release.wait, daemon=True)  # stands in for the job's worker thread
    holder.start()
    reports_jobs.ACTIVE[job_id] = holder
    try:
        page = page_client.get(f"/coordinator/reports/{job_id}")
        assert page.status_code == 200
        assert f'hx-get="/coordinator/reports/{job_id}/status" hx-trigger="every 2s"' in page.text
        assert '<progress id="job-progress" max="12" value="3"' in page.text
        assert "3 / 12（25%）" in page.text and "シーズを検索・集約" in page.text and "作成中" in page.text
    finally:
        release.set()
        holder.join()
        reports_jobs.ACTIVE.pop(job_id, None)
    fragment = page_client.get(f"/coordinator/reports/{job_id}/status", headers={"HX-Request": "true"})
    assert 'data-status="failed"' in fragment.text and "hx-trigger" not in fragment.text
    assert reports_jobs.INTERRUPTED in fragment.text and 'role="alert"' in fragment.text


# ---- in the browser ---------------------------------------------------------------------------------
def test_coordinator_starts_a_report_and_opens_the_html(page, live_server):
    browser_sign_in(page, live_server, live_server.actors.coordinator)
    page.get_by_role("link", name="コーディネーター").first.click()
    page.wait_for_url(live_server.url + "/coordinator")
    assert page.get_by_label(re.compile("HTML（ブラウザ")).is_checked()
    page.get_by_label(re.compile("JSON（")).check()
    shot(page, "11-coordinator-form")
    page.get_by_role("button", name="レポートの作成を始める").click()  # the whole golden corpus
    page.wait_for_url(re.compile(r"/coordinator/reports/\d+$"))
    page.evaluate("window.__no_reload = 'still here'")
    assert page.locator("#job-status progress").count() == 1
    page.locator('#job-status[data-status="succeeded"]').wait_for(timeout=180_000)
    assert page.evaluate("window.__no_reload") == "still here"  # htmx polled the fragment; no page load
    assert page.locator("#job-status .job-badge").inner_text() == "完了"
    figures = page.locator(".figures").inner_text()
    assert "対象のニーズ" in figures and "未充足のニーズ" in figures
    shot(page, "12-coordinator-report-done")
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="HTML レポートを開く（新しいタブ）").click()
    report = opened.value
    report.wait_for_load_state()
    assert re.search(r"/coordinator/reports/\d+/files/report\.html$", report.url)
    assert report.locator("svg").count() >= 3  # heatmap, bar charts, map
    shot(report, "13-coordinator-report-html")
    page.goto(live_server.url + "/coordinator")
    assert page.locator("table.jobs .job-badge").first.inner_text() == "完了"


def test_the_form_offers_the_sort_and_the_job_keeps_it(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.coordinator)
    form = page_client.get("/coordinator").text
    assert 'name="sort" value="overall" checked' in form and 'name="sort" value="content"' in form
    started = page_client.post("/coordinator/reports", data={"csrf": csrf, "formats": "json", "sort": "content"},
                               follow_redirects=False)
    assert started.status_code == 303, started.text
    job_id = _job_id(started.headers["location"])
    with Session(page_client.app.state.db) as session:
        job = session.get(ReportJob, job_id)
        assert job is not None and job.params["sort"] == "content"
    assert 'data-status="succeeded"' in _wait_done(page_client, job_id)
    refused = page_client.post("/coordinator/reports", data={"csrf": csrf, "formats": "json", "sort": "size"})
    assert refused.status_code == 422 and "並べ替え" in refused.text
