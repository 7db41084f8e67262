"""Issue 14, items 1 and 7: bad input is a Japanese 4xx, never an English 500 (each test failed before the fix).

On SQLite and PostgreSQL (the `client` fixture's backends): huge ids, NUL and control characters, lone
surrogates, invisible-only text, a non-ASCII CSRF value or session cookie, `prefecture_code: "²"`, a report
period that ends before it starts; and the last-resort handler for a bug no test foresaw.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from matcher.report_render.neutralise import needs_neutralising

from ..web.conftest import csrf_of, token_of

API = "/api/v1"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
HUGE = [2**31, 2**31 + 1, 2**63, 2**64 + 7]


def assert_japanese_4xx(response, status: int | None = None):
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    if response.headers["content-type"].startswith("application/json"):
        error = response.json()["error"]
        assert JAPANESE.search(error["message"]), error
        return error
    assert JAPANESE.search(response.text), response.text[:300]
    return None


@pytest.fixture(scope="module")
def pages(client):
    """A second client on the same app (its own cookies), answering a server error as a response."""
    return TestClient(client.app, raise_server_exceptions=False)


def send_json(client, method: str, url: str, body: dict, headers: dict):
    """`body` as JSON with \\u escapes, so that a lone surrogate travels as the JSON text `\\ud800`."""
    headers = {**headers, "content-type": "application/json"}
    return client.request(method, url, content=json.dumps(body), headers=headers)


def signed_in(pages, headers) -> str:
    pages.cookies.clear()
    csrf = csrf_of(pages.get("/signin").text)
    response = pages.post("/signin", data={"csrf": csrf, "token": token_of(headers)}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(pages.get("/").text)


# ---- ids ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("big", HUGE)
def test_huge_ids_on_the_api_are_a_japanese_4xx(client, actors, big):
    for path in (f"needs/{big}", f"seeds/{big}", f"seeds/{big}/needs", f"organisations/{big}",
                 f"researchers/{big}", f"reports/{big}", f"reports/{big}/files/report.html"):
        assert_japanese_4xx(client.get(f"{API}/{path}", headers=actors.admin))
    assert_japanese_4xx(client.patch(f"{API}/needs/{big}", json={"title": "x"}, headers=actors.admin))
    assert_japanese_4xx(client.delete(f"{API}/seeds/{big}", headers=actors.admin))
    assert_japanese_4xx(client.post(f"{API}/needs/{big}/matches", json={}, headers=actors.admin))


@pytest.mark.parametrize("big", [2**31, 2**63])
def test_huge_ids_in_bodies_are_a_japanese_422(client, actors, big):
    seed = {"title": "題", "summary": "概要", "researcher_id": big}
    assert_japanese_4xx(client.post(f"{API}/seeds", json=seed, headers=actors.admin), 422)
    researcher = {"name": "名前", "organisation_id": big}
    assert_japanese_4xx(client.post(f"{API}/researchers", json=researcher, headers=actors.admin), 422)


@pytest.mark.parametrize("big", [2**31, 2**63])
def test_huge_ids_on_the_pages_are_a_japanese_page(pages, actors, big):
    signed_in(pages, actors.admin)
    for path in (f"/needs/{big}", f"/needs/{big}/results", f"/seeds/{big}", f"/seeds/{big}/edit",
                 f"/coordinator/reports/{big}", f"/coordinator/reports/{big}/status",
                 f"/coordinator/reports/{big}/files/report.html"):
        assert_japanese_4xx(pages.get(path, headers={"accept": "text/html"}))


# ---- text ----------------------------------------------------------------------------------------------
BAD_TEXT = {"nul": "水の\x00浄化", "control": "水の\x07浄化", "surrogate": "水の\ud800浄化",
            "zero-width only": "\u200b\u200c\u200d\ufeff", "nul only": "\x00"}


@pytest.mark.parametrize("kind", BAD_TEXT)
def test_bad_characters_in_a_need_are_a_japanese_422(client, actors, kind):
    for field in ("title", "description"):
        body = {"title": "題", "description": "内容", "prefecture_code": "15", field: BAD_TEXT[kind]}
        error = assert_japanese_4xx(send_json(client, "POST", f"{API}/needs", body, actors.poster), 422)
        assert any(d["field"] == f"body.{field}" for d in error["details"]), error


@pytest.mark.parametrize("kind", ["nul", "surrogate", "zero-width only"])
def test_bad_characters_in_seeds_and_researchers_are_a_japanese_422(client, actors, kind):
    bad = BAD_TEXT[kind]
    who = actors.researcher
    assert_japanese_4xx(send_json(client, "POST", f"{API}/seeds", {"title": bad}, who), 422)
    assert_japanese_4xx(send_json(client, "POST", f"{API}/seeds", {"title": "題", "keywords": [bad]}, who), 422)
    assert_japanese_4xx(send_json(client, "PATCH", f"{API}/seeds/1", {"summary": bad}, who), 422)
    assert_japanese_4xx(send_json(client, "PATCH", f"{API}/researchers/{actors.researcher_id}",
                                  {"department": bad}, who), 422)


def test_line_breaks_and_tabs_stay_allowed_in_long_text(client, actors):
    body = {"title": "題", "description": "課題:\n\t稲わらの利用\r\n効果: 熱源", "prefecture_code": "15"}
    assert client.post(f"{API}/needs", json=body, headers=actors.poster).status_code == 201


def test_nul_in_a_page_form_is_a_japanese_page(pages, actors):
    csrf = signed_in(pages, actors.poster)
    response = pages.post("/needs/new", data={"csrf": csrf, "title": "題\x00", "description": "内容",
                                              "prefecture_code": "15"})
    assert_japanese_4xx(response, 422)


@pytest.mark.parametrize("code", ["²", "¹⁵", "١٥", "99", "大江戸"])
def test_unusual_digits_as_a_prefecture_are_a_japanese_422(client, actors, code):
    body = {"title": "題", "description": "内容", "prefecture_code": code}
    error = assert_japanese_4xx(client.post(f"{API}/needs", json=body, headers=actors.poster), 422)
    assert "都道府県" in error["details"][0]["message"], error


# ---- signatures --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cookie", ["x.é", "é", "é.é", "\x7f", "a" * 5000, "x.\u3042"])
def test_a_strange_session_cookie_is_anonymous_not_a_500(pages, cookie):
    pages.cookies.clear()
    raw = f"mt_session={cookie}".encode()
    for path in ("/", "/signin", "/needs"):
        response = pages.get(path, headers={"cookie": raw}, follow_redirects=False)
        assert response.status_code in (200, 303), (path, response.status_code)


FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("csrf", ["%C3%A9", "%E3%81%82" * 64, "0" * 10_000, "%ED%A0%80", "%FF%FE", "%00"])
def test_a_non_ascii_csrf_value_is_a_japanese_403(pages, actors, csrf):
    """Sent as the browser would, percent-encoded; %ED%A0%80 is a surrogate's bytes, %FF%FE no UTF-8 at all."""
    pages.cookies.clear()
    pages.get("/signin")
    token = token_of(actors.poster)
    assert_japanese_4xx(pages.post("/signin", content=f"csrf={csrf}&token={token}", headers=FORM), 403)
    signed_in(pages, actors.poster)
    assert_japanese_4xx(pages.post("/needs/new", content=f"csrf={csrf}&title=t", headers=FORM), 403)
    assert_japanese_4xx(pages.post("/signout", content=f"csrf={csrf}", headers=FORM), 403)


def test_a_bearer_token_of_any_characters_is_a_japanese_401(client):
    for token in ("é", "\x00", "mt_" + "x" * 5000):
        response = client.get(f"{API}/me", headers={"authorization": f"Bearer {token}".encode()})
        assert_japanese_4xx(response, 401)


# ---- the report API and its files ------------------------------------------------------------------------
@pytest.mark.parametrize("period", [{"since": "2026-05-01", "until": "2026-04-01"},
                                    {"since": "2026-04-01", "until": "2026-04-01"},
                                    {"since": "0001-01-01"}, {"until": "9999-12-31"}])
def test_a_report_period_is_checked(client, actors, period):
    error = assert_japanese_4xx(client.post(f"{API}/reports", json=period, headers=actors.coordinator), 422)
    assert error["details"], error


@pytest.mark.parametrize("cell", ["\n=1+1", "\n\n@SUM(A1)", "\r\n-1", "\t=cmd"])
def test_the_formula_neutraliser_covers_leading_line_breaks(cell):
    assert needs_neutralising(cell)


# ---- the last resort ---------------------------------------------------------------------------------------
def test_an_unforeseen_error_is_japanese_and_logged(client, actors, caplog, monkeypatch):
    from api import queries

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail: SELECT * FROM account")

    monkeypatch.setattr(queries, "list_needs", broken)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="api.last_resort"):
        response = quiet.get(f"{API}/needs", headers=actors.poster)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error" and JAPANESE.search(error["message"])
    assert "secret" not in response.text
    assert "secret detail" in caplog.text  # the trace stays in the server's log
    signed_in(quiet, actors.poster)
    page = quiet.get("/needs", headers={"accept": "text/html"})
    assert page.status_code == 500 and JAPANESE.search(page.text) and "secret" not in page.text
