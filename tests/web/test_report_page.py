"""The report page (issue 15): downloads named after the report's scope and day, times in Japan time, the unmet
threshold written one way, a time estimate from the measured speed, and an HTML report that fits a phone."""

from __future__ import annotations

import threading
import time
from urllib.parse import unquote

import pytest
from sqlmodel import Session

from api import report_progress, reports_jobs
from api.downloads import content_disposition
from api.report_files import scope_words
from api.report_models import ReportJob
from matcher.jst import jst_day, jst_text
from matcher.report_render import render_report
from tests.api.conftest import wait_for_report
from tests.report_samples import big_report

from .conftest import browser_sign_in, shot, sign_in

RULE = "内容の近さ 0.875 未満を未充足とする"


def _download_name(disposition: str) -> str:
    """The Japanese name of a Content-Disposition (its RFC 5987 filename*)."""
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    return unquote(encoded)


def test_scope_words_name_what_the_job_covers():
    assert scope_words({}) == "全国"
    assert scope_words({"regions": ["北海道", "東北"]}) == "北海道・東北"
    assert scope_words({"prefectures": ["15", "長野県"], "market_areas": ["M3"]}) == "新潟県・長野県_M3"
    assert scope_words({"prefectures": ["01", "02", "03", "04", "05"]}) == "北海道・青森県・岩手県ほか2件"
    assert scope_words({"since": "2025-04-01", "until": "2026-04-01"}) == "全国_2025-04-01〜2026-04-01"


def test_the_need_export_keeps_its_content_disposition():
    from api import need_export

    assert need_export.content_disposition is content_disposition  # one function, moved, not copied
    assert content_disposition("ニーズ1.csv", "need1.csv") == \
        "attachment; filename=\"need1.csv\"; filename*=UTF-8''%E3%83%8B%E3%83%BC%E3%82%BA1.csv"


@pytest.fixture(scope="module")
def finished_job(page_client, page_actors):
    body = {"regions": ["北海道", "東北"], "formats": ["html", "xlsx", "csv", "json"]}
    r = page_client.post("/api/v1/reports", json=body, headers=page_actors.coordinator)
    assert r.status_code == 202, r.text
    job = wait_for_report(page_client, page_actors.coordinator, r.json()["id"], timeout=180)
    assert job["status"] == "succeeded", job
    return job


def test_every_download_is_named_after_the_scope_and_day(page_client, page_actors, finished_job):
    job_id = finished_job["id"]
    with Session(page_client.app.state.db) as session:
        stored = session.get_one(ReportJob, job_id)
        day = jst_day(stored.finished_at)
    prefix = f"連携レポート_北海道・東北_{day}"
    named = {f["name"]: f["download_name"] for f in finished_job["files"]}
    assert named["report.xlsx"] == f"{prefix}.xlsx" and named["report.html"] == f"{prefix}.html"
    assert named["needs.csv"] == f"{prefix}_ニーズ別.csv"
    assert named["flow_counts.csv"] == f"{prefix}_地域間の流れ（件数）.csv"
    assert len(set(named.values())) == len(named)  # no two files download under one name
    base = f"/api/v1/reports/{job_id}/files"
    for file in finished_job["files"]:  # the API's links keep working, each named
        got = page_client.get(file["url"], headers=page_actors.coordinator)
        assert got.status_code == 200, file
        assert _download_name(got.headers["content-disposition"]) == file["download_name"]
    xlsx = page_client.get(f"{base}/report.xlsx", headers=page_actors.coordinator).headers["content-disposition"]
    assert xlsx.startswith(f'attachment; filename="report{job_id}_{day}.xlsx"; filename*=UTF-8\'\'')
    assert xlsx.split('filename="')[1].split('"')[0].isascii()
    html = page_client.get(f"{base}/report.html", headers=page_actors.coordinator)
    assert html.headers["content-disposition"].startswith("inline; ")  # opens in the browser, saves with the name
    assert "default-src 'none'" in html.headers["content-security-policy"]
    # the page's links: plain names in the URL, the download named
    sign_in(page_client, page_actors.coordinator)
    fragment = page_client.get(f"/coordinator/reports/{job_id}/status").text
    assert f'href="/coordinator/reports/{job_id}/files/needs.csv" download="{prefix}_ニーズ別.csv"' in fragment
    assert f"（{prefix}.xlsx、ダウンロード）" in fragment
    csv = page_client.get(f"/coordinator/reports/{job_id}/files/needs.csv")
    assert csv.status_code == 200 and csv.headers["content-disposition"].startswith("attachment; ")
    assert _download_name(csv.headers["content-disposition"]) == f"{prefix}_ニーズ別.csv"


def test_times_are_japan_time_on_the_pages_and_utc_in_the_api(page_client, page_actors, finished_job):
    job_id = finished_job["id"]
    assert finished_job["created_at"].endswith("+00:00") and finished_job["finished_at"].endswith("+00:00")
    sign_in(page_client, page_actors.coordinator)
    page = page_client.get(f"/coordinator/reports/{job_id}").text
    started, finished = jst_text(finished_job["created_at"]), jst_text(finished_job["finished_at"])
    assert started.endswith("（日本時間）") and f"<dd>{started}</dd>" in page
    assert f"完了（{finished}）" in page
    listed = page_client.get("/coordinator").text
    assert f"<td>{started}</td>" in listed  # the jobs list
    report = page_client.get(f"/coordinator/reports/{job_id}/files/report.html").text
    data = page_client.get(f"/coordinator/reports/{job_id}/files/report.json").json()
    assert data["meta"]["generated_at"].endswith("+09:00")  # JSON: ISO 8601 in Japan time
    assert f"作成 {jst_text(data['meta']['generated_at'])}" in report
    summary = page_client.get(f"/coordinator/reports/{job_id}/files/summary.csv").content.decode("utf-8-sig")
    assert f"作成日時,{jst_text(data['meta']['generated_at'])}" in summary


def test_the_threshold_is_written_one_way_on_the_pages(page_client, page_actors, finished_job):
    sign_in(page_client, page_actors.coordinator)
    form = page_client.get("/coordinator").text
    job_page = page_client.get(f"/coordinator/reports/{finished_job['id']}").text
    for text in (form, job_page):
        assert RULE in text and "閾値" not in text and "しきい値" not in text
    assert "<dt>未充足</dt><dd>" + RULE in job_page
    refused = page_client.post("/coordinator/reports", data={"csrf": sign_in(page_client, page_actors.coordinator),
                                                             "formats": "json", "unmet_threshold": "2"})
    assert refused.status_code == 422 and "未充足とする内容の近さ" in refused.text  # the error names it alike


def test_the_status_shows_the_time_left_once_it_can_be_measured(page_client, page_actors):
    sign_in(page_client, page_actors.coordinator)
    me = page_client.get("/api/v1/me", headers=page_actors.coordinator).json()
    stage = "シーズを検索・集約"
    with Session(page_client.app.state.db) as session:
        job = ReportJob(created_by=me["id"], status="running", stage=stage, done=30, total=100,
                        params={"formats": ["html"], "unmet_threshold": 0.875})
        session.add(job)
        session.commit()
        job_id = job.id
    release = threading.Event()
    holder = threading.Thread(target=release.wait, daemon=True)  # stands in for the job's worker thread
    holder.start()
    reports_jobs.ACTIVE[job_id] = holder
    try:
        now = time.monotonic()
        report_progress.observe(job_id, stage, 30, 100, at=now)
        fragment = page_client.get(f"/coordinator/reports/{job_id}/status").text
        api = page_client.get(f"/api/v1/reports/{job_id}", headers=page_actors.coordinator).json()
        assert "残り" not in fragment and api["remaining"] is None and api["remaining_s"] is None  # nothing measured
        report_progress.forget(job_id)
        report_progress.observe(job_id, stage, 0, 100, at=now - 60)  # 30 items in 60 s: 70 more take 140 s
        report_progress.observe(job_id, stage, 30, 100, at=now)
        fragment = page_client.get(f"/coordinator/reports/{job_id}/status").text
        assert 'id="job-remaining"' in fragment and "残り約2分" in fragment
        api = page_client.get(f"/api/v1/reports/{job_id}", headers=page_actors.coordinator).json()
        assert api["remaining"] == "残り約2分" and 130 <= api["remaining_s"] <= 140
        assert "残り約2分" in page_client.get(f"/coordinator/reports/{job_id}").text
    finally:
        release.set()
        holder.join()
        reports_jobs.ACTIVE.pop(job_id, None)
        report_progress.forget(job_id)
    # over (here: failed, as its thread is gone), it shows no estimate
    api = page_client.get(f"/api/v1/reports/{job_id}", headers=page_actors.coordinator).json()
    assert api["status"] == "failed" and api["remaining"] is None


# ---- in the browser, at phone width -----------------------------------------------------------------
PHONE = {"width": 375, "height": 800}
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def test_the_html_report_fits_a_phone(browser, tmp_path):
    render_report(big_report(), tmp_path, ["html"])
    context = browser.new_context(locale="ja-JP", viewport=PHONE)
    try:
        page = context.new_page()
        page.goto((tmp_path / "report.html").as_uri())
        assert page.evaluate("window.innerWidth") == 375
        assert page.evaluate(FITS), page.evaluate("document.documentElement.scrollWidth")
        for chart in page.locator("svg").all():  # heatmaps, map and bars scale to the screen
            box = chart.bounding_box()
            assert box and 0 < box["x"] and box["x"] + box["width"] <= 375, box
        # a wide table scrolls inside its own box, not the page
        scrolls = page.evaluate("""[...document.querySelectorAll('.table-scroll')].map(
            d => [d.scrollWidth > d.clientWidth, d.getBoundingClientRect().right <= window.innerWidth])""")
        assert scrolls and all(inside for _, inside in scrolls) and any(wide for wide, _ in scrolls)
        shot(page, "51-report-html-phone")
    finally:
        context.close()


def test_the_report_pages_fit_a_phone(browser, live_server):
    context = browser.new_context(locale="ja-JP", viewport=PHONE)
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        browser_sign_in(page, live_server, live_server.actors.coordinator)
        page.goto(live_server.url + "/coordinator")
        assert page.evaluate(FITS), page.evaluate("document.documentElement.scrollWidth")
        assert RULE in page.locator("#unmet_threshold-help").inner_text()
        shot(page, "52-coordinator-phone")
    finally:
        context.close()

