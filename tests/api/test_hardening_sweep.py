"""Issue 14: the "never a 500" sweep, on SQLite and PostgreSQL. Every route comes from the app, so a new one is swept.

- every id of every route, API and pages: ids past both databases' integers (2^31+1, 2^63, 2^64), zero,
  negative, not a number;
- every text field of every JSON body (read from the OpenAPI schema): NUL, control characters, lone surrogates,
  zero-width-only text, and legal oddities that must be stored and searched (bidi overrides, combining marks,
  noncharacters, emoji sequences);
- every query parameter of every GET route, and every field of every page form: the same, percent-encoded as a
  browser would send them, including bytes that are no UTF-8 at all;
- bad session cookies on every page, and bad CSRF values on every form.

Each answer must be below 500, and a refusal must say why in Japanese. The counts are printed (`-s`).
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from ..web.conftest import csrf_of, token_of
from .test_route_table import route_keys

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
BAD_IDS = [2**31 + 1, 2**63, 2**64, 0, -1, "abc", "1e3", "%00", "%ED%A0%80"]
REFUSED_TEXT = ["\x00", "題\x00名", "\x07", "\ud800", "題\udfff", "\u200b\u200b", "\ufeff", "\x00\u200b",
                "あ" * 10_001]
ODD_BUT_LEGAL = ["\u202e題名\u202c", "か\u3099き\u0301", "題\uffff", "👩‍👩‍👧 農業"]
# raw query or form values, as a browser would percent-encode them: NUL, a surrogate's bytes, no UTF-8 at all
RAW_VALUES = ["%00", "%ED%A0%80", "%FF%FE", "%C0%80", "9" * 30, "-" + "9" * 30, quote("\u202e題"), "%0D%0ASet-Cookie:x"]
BAD_COOKIES = ["x.é", "é", "\x7f", "a" * 4000, "%00", "A" * 43, "x" * 43 + ".sig", "mt_" + "0" * 40, "\"quoted\""]
BAD_CSRF = ["%C3%A9", "%ED%A0%80", "%FF", "%00", "0" * 64, "0" * 10_000, ""]

# a valid body per operation with a JSON body; each text field is then replaced by the bad values in turn
BASE_BODIES = {
    "create_need": {"title": "題", "description": "内容", "prefecture_code": "15"},
    "update_need": {"title": "題"},
    "match_need": {},
    "create_seed": {"title": "題", "summary": "概要"},
    "update_seed": {"title": "題"},
    "create_organisation": {"name": "試験大学", "kind": "university", "prefecture_code": "13"},
    "create_researcher": {"name": "名前", "organisation_id": 1},
    "update_researcher": {"department": "学部"},
    "start_report": {"formats": ["json"]},
    # issue 15: introductions (request 1 is no admin's to answer: 403 once the body is valid), feedback
    "request_introduction": {"need_id": 901, "seed_id": 1, "message": "相談したい"},
    "answer_introduction": {"accept": True, "reason": "理由"},
    "give_feedback": {"need_id": 901, "key": "大学", "name": "大学", "useful": True},
    "export_need_matches": {},  # issue 15: the match's options (as match_need)
    "put_alerts": {"enabled": True, "level": "close"},  # issue 15: standing alerts
    "change_account_role": {"role": "poster"},  # issue 15: the admin pages' role change and organisation edit
    "update_organisation": {"name": "試験大学"},
}
# the page forms' fields (the CSRF token is added)
FORM_FIELDS = {
    "POST /signin": ["token", "next"],
    "POST /needs/new": ["title", "description", "prefecture_code", "market_areas", "collaboration", "visibility"],
    "POST /seeds/new": ["title", "summary", "keywords", "market_areas", "readiness", "visibility"],
    "POST /seeds/{seed_id}/edit": ["title", "summary", "keywords", "market_areas", "readiness", "visibility"],
    "POST /seeds/{seed_id}/withdraw": [],
    "POST /coordinator/reports": ["regions", "market_areas", "since", "until", "formats", "unmet_threshold",
                                  "assignment_cap", "csv_encoding"],
    "POST /signout": [],
    # issue 15
    "POST /needs/{need_id}/introductions/new": ["message", "seed_id", "level"],
    "POST /introductions/{request_id}/answer": ["reason", "decision"],
    "POST /introductions/settings": ["receives_introductions"],
    "POST /needs/{need_id}/feedback": ["level", "key", "name", "useful", "reason"],
    "POST /notifications/read-all": [],
    "POST /notifications/{notification_id}/read": [],
    # issue 15: a poster's own need, a withdrawn seed (an edit without a description or a prefecture never saves)
    "POST /needs/{need_id}/edit": ["title", "description", "prefecture_code", "municipality_code", "market_areas",
                                   "collaboration", "visibility"],
    "POST /needs/{need_id}/withdraw": [],
    "POST /needs/{need_id}/reopen": [],
    "POST /seeds/{seed_id}/reactivate": [],
    # issue 15: standing alerts (the band is a choice: anything else is refused on the page)
    "POST /alerts": ["enabled", "level"],
    "POST /alerts/feed": [],
    # issue 15: the admin pages (disable, enable and revoke carry no field: the sweep posts nothing to them)
    "POST /admin/organisations": ["name", "kind", "prefecture_code", "municipality_code", "name_en", "liaison_office",
                                  "liaison_url", "liaison_email", "liaison_phone"],
    "POST /admin/accounts": ["name", "role", "organisation_id", "researcher_id", "liaison_office", "expires_days"],
    "POST /admin/accounts/{account_id}/disable": [],
    "POST /admin/accounts/{account_id}/enable": [],
    "POST /admin/tokens": ["account_id", "expires_days", "label"],
    "POST /admin/tokens/{token_id}/revoke": [],
    "POST /admin/organisations/{organisation_id}/edit": ["name", "kind", "prefecture_code", "municipality_code",
                                                         "name_en", "liaison_office", "liaison_url", "liaison_email",
                                                         "liaison_phone"],
    "POST /admin/accounts/{account_id}/role": ["role"],
    # issue 15: the bulk seed import (the file itself is sent as multipart by its own tests; here, every other field)
    "POST /seed-import/check": ["organisation_id", "file"],
    "POST /seed-import/run": ["upload"],
    # issue 15: the researcher's profile
    "POST /my/profile": ["name", "kana", "department", "position", "researchmap_id", "kaken_id", "email", "phone",
                         "email_visibility", "phone_visibility"],
}
FORM = {"content-type": "application/x-www-form-urlencoded"}
COUNTS: dict[str, int] = {}


def count(kind: str, n: int = 1) -> None:
    COUNTS[kind] = COUNTS.get(kind, 0) + n


def assert_not_500(response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    if response.status_code >= 400 and response.status_code not in (401, 405):
        text = response.json()["error"]["message"] if "json" in response.headers.get("content-type", "") \
            else response.text
        assert JAPANESE.search(text), (what, text[:300])


@pytest.fixture(scope="module")
def quiet(client) -> TestClient:
    return TestClient(client.app, raise_server_exceptions=False)


def signed_in_browser(client, headers) -> tuple[TestClient, str]:
    browser = TestClient(client.app, raise_server_exceptions=False)
    csrf = csrf_of(browser.get("/signin").text)
    response = browser.post("/signin", data={"csrf": csrf, "token": token_of(headers)}, follow_redirects=False)
    assert response.status_code == 303
    return browser, csrf_of(browser.get("/").text)


def fill(path: str, actors, **fixed) -> str:
    values = {"need_id": 901, "seed_id": 1, "organisation_id": 1, "researcher_id": actors.researcher_id,
              "job_id": 1, "token_id": 1, "account_id": 1, "name": "report.html", "request_id": 1,
              "notification_id": 1, "secret": "mf_no-such-feed", **fixed}
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def last(kind: str, total: int) -> None:
    print(f"\nnever a 500 — {kind}: {total} requests")


# ---- ids -----------------------------------------------------------------------------------------------
def test_every_id_of_every_route(client, actors, quiet):
    browser, csrf = signed_in_browser(client, actors.admin)
    sent = 0
    for key in route_keys(client.app):
        method, path = key.split(" ", 1)
        names = [n for n in re.findall(r"\{(\w+)\}", path) if n.endswith("_id")]
        if method == "MOUNT" or not names or key == "POST /signout":
            continue
        for name in names:
            for bad in BAD_IDS:
                url = fill(path, actors, **{name: bad})
                if path.startswith("/api/"):
                    body = {"json": {}} if method in ("POST", "PATCH") else {}
                    response = quiet.request(method, url, headers=actors.admin, **body)
                elif method == "POST":
                    response = browser.post(url, content=f"csrf={csrf}", headers=FORM, follow_redirects=False)
                else:
                    response = browser.get(url, headers={"accept": "text/html"}, follow_redirects=False)
                assert_not_500(response, f"{key} {name}={bad}")
                sent += 1
    assert sent > 200
    count("ids", sent)
    last("ids", sent)


# ---- JSON bodies ------------------------------------------------------------------------------------------
def _text_fields(schema: dict, body_schema: dict) -> list[tuple[str, bool]]:
    """(name, is a list of strings) for each string property of a request body."""
    if "$ref" in body_schema:
        body_schema = schema["components"]["schemas"][body_schema["$ref"].rsplit("/", 1)[1]]
    fields = []
    for name, prop in body_schema.get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        if any(o.get("type") == "string" or "enum" in o or "$ref" in o for o in options):
            fields.append((name, False))
        elif any(o.get("type") == "array" for o in options):
            fields.append((name, True))
    return fields


def _operations_with_bodies(app) -> list[tuple[str, str, str, dict]]:
    schema = app.openapi()
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                found.append((operation["operationId"], method.upper(), path, content["schema"]))
    return found


def test_every_json_body_has_a_base_row(client):
    ids = {operation_id for operation_id, *_ in _operations_with_bodies(client.app)}
    assert ids == set(BASE_BODIES), f"add a valid body to BASE_BODIES: {sorted(ids - set(BASE_BODIES))}"


def test_every_text_field_of_every_json_body(client, actors, quiet):
    schema = client.app.openapi()
    sent = 0
    for operation_id, method, path, body_schema in _operations_with_bodies(client.app):
        base = dict(BASE_BODIES[operation_id])
        if operation_id == "create_seed":
            base["researcher_id"] = actors.researcher_id  # as admin: whose seed it is
        for name, is_list in _text_fields(schema, body_schema):
            for value in REFUSED_TEXT + ODD_BUT_LEGAL:
                body = dict(base, **{name: [value] if is_list else value})
                response = quiet.request(method, fill(path, actors), headers={
                    **actors.admin, "content-type": "application/json"}, content=json.dumps(body))
                assert_not_500(response, f"{operation_id} {name}={value[:20]!r}")
                if value in REFUSED_TEXT and not name.endswith("_code"):
                    assert response.status_code == 422, (operation_id, name, value[:20], response.text[:200])
                sent += 1
    assert sent > 300
    count("json text", sent)
    last("json text", sent)


# ---- query strings and page forms ---------------------------------------------------------------------------
def _query_names(route) -> list[str]:
    dependant = getattr(route.original_route, "dependant", None)
    names = []

    def walk(dep) -> None:
        names.extend(p.alias for p in dep.query_params)
        for sub in dep.dependencies:
            walk(sub)

    if dependant is not None:
        walk(dependant)
    return names


def test_every_query_parameter_of_every_get_route(client, actors, quiet):
    from fastapi.routing import iter_route_contexts

    browser, _ = signed_in_browser(client, actors.admin)
    sent = 0
    for route in iter_route_contexts(client.app.routes):
        if "GET" not in (route.methods or ()):
            continue
        for name in _query_names(route):
            for raw in RAW_VALUES:
                url = f"{fill(route.path, actors)}?{name}={raw}"
                if route.path.startswith("/api/"):
                    response = quiet.get(url, headers=actors.admin)
                else:
                    response = browser.get(url, headers={"accept": "text/html"}, follow_redirects=False)
                assert_not_500(response, f"GET {route.path} {name}={raw}")
                sent += 1
    assert sent > 50
    count("query", sent)
    last("query", sent)


def test_every_field_of_every_page_form(client, actors):
    posts = [k for k in route_keys(client.app) if k.startswith("POST /") and not k.startswith("POST /api/")]
    assert set(posts) == set(FORM_FIELDS), "add the form's fields to FORM_FIELDS"
    sent = 0
    for key, fields in FORM_FIELDS.items():
        if key == "POST /signout":
            continue
        who = actors.researcher if "/seeds" in key else actors.admin
        browser, csrf = signed_in_browser(client, who)
        path = fill(key.split(" ", 1)[1], actors)
        for name in fields:
            for raw in RAW_VALUES + [quote(v) for v in ("\x00", "\u200b", "あ" * 10_001)]:
                response = browser.post(path, content=f"csrf={csrf}&title=t&{name}={raw}", headers=FORM,
                                        follow_redirects=False)
                assert_not_500(response, f"{key} {name}={raw[:20]}")
                sent += 1
    assert sent > 150
    count("forms", sent)
    last("forms", sent)


# ---- cookies and CSRF values ---------------------------------------------------------------------------------
def test_bad_cookies_on_every_page_and_bad_csrf_on_every_form(client, actors, quiet):
    keys = [k for k in route_keys(client.app) if not k.startswith(("MOUNT", "GET /api/", "POST /api/", "PATCH",
                                                                   "DELETE", "GET /openapi", "GET /docs",
                                                                   "GET /redoc"))]
    sent = 0
    for key in keys:
        method, path = key.split(" ", 1)
        url = fill(path, actors)
        for cookie in BAD_COOKIES:
            headers = {"cookie": f"mt_session={cookie}".encode(), "accept": "text/html"}
            if method == "POST":
                response = quiet.post(url, content="csrf=x", headers={**headers, **FORM}, follow_redirects=False)
            else:
                response = quiet.get(url, headers=headers, follow_redirects=False)
            assert_not_500(response, f"{key} cookie={cookie[:20]!r}")
            sent += 1
    for key in (k for k in keys if k.startswith("POST")):
        browser, _ = signed_in_browser(client, actors.admin)
        for csrf in BAD_CSRF:
            response = browser.post(fill(key.split(" ", 1)[1], actors), content=f"csrf={csrf}", headers=FORM,
                                    follow_redirects=False)
            assert_not_500(response, f"{key} csrf={csrf[:20]}")
            assert response.status_code == 403, (key, csrf[:20], response.status_code)
            sent += 1
    for token in ("Bearer \xff\xfe", "Bearer " + "x" * 10_000, "Basic YTpi", "Bearer", "bearer  mt_x"):
        response = quiet.get("/api/v1/me", headers={"authorization": token.encode("latin-1")})
        assert response.status_code == 401 and JAPANESE.search(response.json()["error"]["message"])
        sent += 1
    assert sent > 150
    count("cookies, csrf, tokens", sent)
    last("cookies, csrf, tokens", sent)
