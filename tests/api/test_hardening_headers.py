"""Issue 14, item 6: security headers, the report file's CSP on the API, local API docs, report failures in Japanese."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.security_headers import API_CSP, DOCS_CSP, PAGE_CSP, REPORT_CSP
from api.settings import Settings

from ..web.conftest import sign_in
from .conftest import wait_for_report

API = "/api/v1"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.IGNORECASE)


def assert_guarded(response, csp: str):
    headers = response.headers
    assert headers["content-security-policy"] == csp
    assert "frame-ancestors" in csp and headers["x-frame-options"] in ("DENY", "SAMEORIGIN")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "no-store" in headers["cache-control"]


def test_pages_and_the_api_carry_the_headers(client, actors):
    assert_guarded(client.get("/"), PAGE_CSP)
    assert_guarded(client.get("/signin"), PAGE_CSP)
    assert_guarded(client.get(f"{API}/needs", headers=actors.poster), API_CSP)
    assert_guarded(client.get(f"{API}/needs"), API_CSP)  # errors too
    assert_guarded(client.get("/no-such-page", headers={"accept": "text/html"}), PAGE_CSP)
    static = client.get("/static/site.css")
    assert static.headers["x-content-type-options"] == "nosniff" and "no-store" not in static.headers.get(
        "cache-control", "")


def test_no_page_needs_inline_script(client, actors):
    """The pages' CSP allows no inline script: every page must work without one."""
    pages = TestClient(client.app)
    sign_in(pages, actors.admin)
    for path in ("/", "/needs", "/needs/new", "/needs/901", "/seeds/1", "/coordinator", "/no-such-page"):
        response = pages.get(path, headers={"accept": "text/html"})
        assert response.headers["content-security-policy"] == PAGE_CSP
        assert not INLINE_SCRIPT.search(response.text), (path, INLINE_SCRIPT.search(response.text))
    templates = Path(__file__).resolve().parents[2] / "api" / "templates"
    for template in templates.glob("*.html"):
        assert not INLINE_SCRIPT.search(template.read_text(encoding="utf-8")), template.name


def _finished_html_report(client, headers) -> dict:
    job = client.post(f"{API}/reports", json={"formats": ["html"]}, headers=headers).json()
    job = wait_for_report(client, headers, job["id"])
    assert job["status"] == "succeeded", job
    return job


def test_the_api_serves_report_html_with_the_pages_csp(client, actors):
    job = _finished_html_report(client, actors.coordinator)
    api_file = client.get(f"{API}/reports/{job['id']}/files/report.html", headers=actors.coordinator)
    assert api_file.status_code == 200
    assert api_file.headers["content-security-policy"] == REPORT_CSP
    assert api_file.headers["x-frame-options"] == "SAMEORIGIN"
    pages = TestClient(client.app)
    sign_in(pages, actors.coordinator)
    page_file = pages.get(f"/coordinator/reports/{job['id']}/files/report.html")
    assert page_file.status_code == 200
    assert page_file.headers["content-security-policy"] == api_file.headers["content-security-policy"]


def test_a_failed_report_says_so_in_japanese_and_keeps_the_detail_in_the_log(client, actors, monkeypatch, caplog):
    from api import reports_jobs

    def broken(*args, **kwargs):
        raise RuntimeError('(psycopg.errors.UndefinedTable) relation "need" does not exist SELECT need.id')

    monkeypatch.setattr(reports_jobs, "compute_report", broken)
    with caplog.at_level(logging.ERROR, logger="api.reports_jobs"):
        job = client.post(f"{API}/reports", json={"formats": ["json"]}, headers=actors.coordinator).json()
        job = wait_for_report(client, actors.coordinator, job["id"], timeout=60)
    assert job["status"] == "failed"
    assert "失敗しました" in job["message"] and str(job["id"]) in job["message"]
    assert "SELECT" not in job["message"] and "psycopg" not in job["message"]
    assert "UndefinedTable" in caplog.text
    pages = TestClient(client.app)
    sign_in(pages, actors.coordinator)
    page = pages.get(f"/coordinator/reports/{job['id']}")
    assert "失敗しました" in page.text and "SELECT" not in page.text


# ---- the API docs -----------------------------------------------------------------------------------------
def _app(**settings) -> TestClient:
    # the docs need no database or model: the lifespan does not run
    return TestClient(create_app(Settings(data_dir=Path("/nonexistent"), **settings)))


def test_docs_are_served_from_local_assets():
    docs = _app()
    for path, assets in (("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")), ("/redoc", ("redoc.standalone.js",))):
        page = docs.get(path)
        assert page.status_code == 200 and page.headers["content-security-policy"] == DOCS_CSP
        assert "cdn" not in page.text.lower() and "googleapis" not in page.text
        assert not INLINE_SCRIPT.search(page.text), path
        for asset in assets:
            assert f"/docs-assets/{asset}" in page.text
            served = docs.get(f"/docs-assets/{asset}")
            assert served.status_code == 200 and len(served.content) > 100_000
    assert docs.get("/static/swagger-init.js").status_code == 200
    assert docs.get("/openapi.json").json()["info"]["title"]


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs-assets/swagger-ui-bundle.js"])
def test_docs_can_be_turned_off(path):
    response = _app(docs_enabled=False).get(path)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_hsts_only_behind_tls():
    assert "strict-transport-security" not in _app().get("/docs").headers
    assert _app(cookie_secure=True).get("/docs").headers["strict-transport-security"].startswith("max-age=")
