"""Issue 14, item 4: a draft seed (「下書き（自分だけ）」) is its researcher's alone; a withdrawn one its researcher's
and the admins' (item 5). Every route that returns or uses a seed is walked with every role, for a draft and for a
withdrawn seed, and nothing of either may show where the rule says it must not.

- The routes come from `app.routes` (`route_keys`, shared with tests/api/test_route_table.py): each is either in
  `SEED_ROUTES`, with the call that makes it return or use the seed, or in `NO_SEEDS`, with the reason it shows
  none. A route added later in neither fails `test_every_route_is_classified`, and one that names `{seed_id}` or
  answers a seed's shape (SeedPublic, a match's `seed_id`) cannot hide in `NO_SEEDS`.
- A leak is the seed's unique marker (in its title and summary) anywhere in the answer, JSON or HTML, or an item
  route answering anything but 404 (401 / 303 signed out) where the seed must not be seen.
- The label on the seed form and the rule agree: the label says 「自分だけ」, and the walk finds only the owner.
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.audit import AuditAction, AuditEntry
from api.models import SeedVisibility
from api.web import labels

from ..web.conftest import signed_in_browsers
from .test_route_table import route_keys

API = "/api/v1"
ROLES = ("admin", "coordinator", "researcher", "other_researcher", "poster", "anonymous")
OWNER = "researcher"
DRAFT_MARK = "ZQXDRAFT"
WITHDRAWN_MARK = "ZQXWITHDRAWN"
TEXT = "雪室の冷気で野菜を低温熟成し、糖度を上げて冬の出荷を増やす。"
DRAFT = {"title": f"雪室熟成野菜 {DRAFT_MARK}", "summary": f"{TEXT} {DRAFT_MARK}", "keywords": ["雪室", "熟成"],
         "visibility": "private"}
WITHDRAWN = {"title": f"雪室熟成の冬野菜 {WITHDRAWN_MARK}", "summary": f"{TEXT} {WITHDRAWN_MARK}",
             "keywords": ["雪室"], "visibility": "public"}

# routes that show no seed, and why (every other route is in SEED_ROUTES below)
NO_SEEDS = {
    **dict.fromkeys(["GET /api/v1/needs", "GET /api/v1/needs/{need_id}", "PATCH /api/v1/needs/{need_id}",
                     "DELETE /api/v1/needs/{need_id}", "GET /needs", "GET /needs/new",
                     "GET /needs/municipalities", "POST /api/v1/needs/{need_id}/reopen", "GET /needs/{need_id}/edit",
                     "POST /needs/{need_id}/edit", "POST /needs/{need_id}/withdraw", "POST /needs/{need_id}/reopen"],
                    "needs only (and the need form's municipality choices)"),
    **dict.fromkeys(["GET /api/v1/me", "GET /api/v1/organisations", "POST /api/v1/organisations",
                     "GET /api/v1/organisations/{organisation_id}", "POST /api/v1/researchers",
                     "GET /api/v1/researchers/{researcher_id}", "PATCH /api/v1/researchers/{researcher_id}",
                     "DELETE /api/v1/researchers/{researcher_id}", "DELETE /api/v1/researchers/me"],
                    "people: no seed in the answer (erasure: test_appi.py)"),
    **dict.fromkeys(["POST /api/v1/reports", "GET /api/v1/reports", "GET /api/v1/reports/{job_id}",
                     "GET /api/v1/reports/{job_id}/files/{name}", "GET /coordinator", "POST /coordinator/reports",
                     "GET /coordinator/reports/{job_id}", "GET /coordinator/reports/{job_id}/status",
                     "GET /coordinator/reports/{job_id}/files/{name}"],
                    "reports search a copy of the index, which holds listed seeds only (test_the_index_holds_neither)"),
    **dict.fromkeys(["GET /api/v1/admin/tokens", "DELETE /api/v1/admin/tokens/{token_id}",
                     "POST /api/v1/admin/accounts/{account_id}/disable",
                     "POST /api/v1/admin/accounts/{account_id}/enable", "GET /api/v1/admin/audit",
                     "PATCH /api/v1/admin/accounts/{account_id}",
                     "PATCH /api/v1/admin/organisations/{organisation_id}"],
                    "tokens, accounts, audit rows (ids only)"),
    **dict.fromkeys(["GET /livez", "GET /readyz", "GET /openapi.json", "GET /docs", "GET /redoc",
                     "MOUNT /docs-assets", "MOUNT /static", "GET /help/scores", "GET /privacy", "GET /signin",
                     "POST /signin", "POST /signout"], "no data"),
    "GET /": "counts of listed seeds per region (access.listed_seeds)",
    # issue 15: the profile pages; the public one lists the researcher's seeds through access.listed_seeds
    **dict.fromkeys(["GET /my/profile", "POST /my/profile"], "the researcher's own profile: no seed"),
    "GET /researchers/{researcher_id}": "the researcher's listed seeds only (access.listed_seeds)",
    # issue 15: requests, feedback and notifications name partners (names and keys), never a seed's text
    **dict.fromkeys(["GET /api/v1/introductions", "GET /api/v1/introductions/{request_id}",
                     "POST /api/v1/introductions/{request_id}/answer", "POST /api/v1/feedback", "GET /api/v1/feedback",
                     "GET /api/v1/feedback/outcomes", "GET /api/v1/notifications",
                     "POST /api/v1/notifications/{notification_id}/read", "POST /api/v1/notifications/read-all",
                     "GET /introductions", "GET /introductions/{request_id}", "POST /introductions/{request_id}/answer",
                     "POST /introductions/settings", "POST /needs/{need_id}/feedback", "GET /coordinator/outcomes",
                     "GET /notifications", "POST /notifications/read-all",
                     "POST /notifications/{notification_id}/read"],
                    "introductions, feedback, notifications: partner names and keys, no seed"),
    # issue 15: standing alerts are computed for listed seeds only (api/alerts.py; test_alerts.py walks drafts)
    **dict.fromkeys(["GET /api/v1/alerts", "PUT /api/v1/alerts", "POST /api/v1/alerts/feed",
                     "GET /api/v1/notifications/feed.atom", "GET /feeds/{secret}.atom", "GET /alerts", "POST /alerts",
                     "POST /alerts/feed"],
                    "alert settings and the notifications' feed: alerts name listed seeds only, never a draft"),
    # issue 15: the admin pages list organisations, accounts (with a linked researcher's name) and tokens, no seed
    **dict.fromkeys(["GET /admin/organisations", "POST /admin/organisations", "GET /admin/accounts",
                     "POST /admin/accounts", "POST /admin/accounts/{account_id}/disable",
                     "POST /admin/accounts/{account_id}/enable", "GET /admin/tokens", "POST /admin/tokens",
                     "POST /admin/tokens/{token_id}/revoke", "GET /admin/organisations/{organisation_id}/edit",
                     "POST /admin/organisations/{organisation_id}/edit", "POST /admin/accounts/{account_id}/role"],
                    "admin pages: organisations, accounts and tokens; no seed is read or shown"),
    # issue 15, bulk seed import: the dry run and the job name the file's rows and, by external id, only the seeds
    # the university's office imported itself (seeds registered one by one have no external id)
    **dict.fromkeys(["GET /seed-import", "GET /seed-import/template", "POST /seed-import/check",
                     "POST /seed-import/run", "GET /seed-import/jobs/{job_id}",
                     "GET /seed-import/jobs/{job_id}/status", "GET /api/v1/seed-imports/template",
                     "POST /api/v1/seed-imports/check", "POST /api/v1/seed-imports",
                     "GET /api/v1/seed-imports/{job_id}"],
                    "the import's own rows and the office's imported seeds (tests/api/test_seed_import.py)"),
    # creating a seed answers the caller's own new seed, never another's
    **dict.fromkeys(["POST /api/v1/seeds", "GET /seeds/new", "POST /seeds/new"], "creates the caller's own seed"),
}


# ---- the actors and their seeds ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeds(client, actors) -> dict[str, int]:
    draft = client.post(f"{API}/seeds", json=DRAFT, headers=actors.researcher)
    withdrawn = client.post(f"{API}/seeds", json=WITHDRAWN, headers=actors.researcher)
    assert draft.status_code == withdrawn.status_code == 201
    assert client.delete(f"{API}/seeds/{withdrawn.json()['id']}", headers=actors.researcher).status_code == 200
    # a public need whose text is the seeds' text: were either indexed, it would be the first hit
    need = client.post(f"{API}/needs", json={"title": "雪室で野菜を熟成したい", "description": TEXT,
                                            "prefecture_code": "15"}, headers=actors.poster)
    assert need.status_code == 201
    return {"draft": draft.json()["id"], "withdrawn": withdrawn.json()["id"], "need": need.json()["id"]}


@pytest.fixture(scope="module")
def browsers(client, actors) -> dict[str, tuple[TestClient, str]]:
    """Per role: a browser signed in (anonymous: not), and its CSRF token."""
    return signed_in_browsers(client, actors, ROLES)


# ---- who may see what ------------------------------------------------------------------------------
def may_see(role: str, kind: str) -> bool:
    """The rule: a draft is the owner's alone; a withdrawn seed the owner's and the admins'."""
    return role == OWNER or (kind == "withdrawn" and role == "admin")


class Call:
    """One call of a route as a role, for the draft or the withdrawn seed."""

    def __init__(self, client, actors, browsers, seeds, role: str, kind: str):
        self.client, self.actors, self.browsers, self.seeds = client, actors, browsers, seeds
        self.role, self.kind = role, kind
        self.seed_id = seeds[kind]

    def api(self, method: str, path: str, **kwargs):
        headers = getattr(self.actors, self.role) if self.role != "anonymous" else {}
        return self.client.request(method, API + path, headers=headers, **kwargs)

    def page(self, method: str, path: str, data: dict | None = None):
        browser, csrf = self.browsers[self.role]
        if method == "POST":
            return browser.post(path, data={"csrf": csrf, **(data or {})}, follow_redirects=False)
        return browser.get(path, headers={"accept": "text/html"}, follow_redirects=False)


# Each: the call, and whether it is an item route (404 for whoever may not see the seed) or a list / a match.
# Owners' destructive calls are left out (`None`): they would change the seed the other rows need.
SEED_ROUTES = {
    "GET /api/v1/seeds": ("list", lambda c: [c.api("GET", "/seeds", params={"limit": 200}),
                                              c.api("GET", "/seeds", params={"limit": 200, "mine": True})]),
    "GET /api/v1/seeds/{seed_id}": ("item", lambda c: [c.api("GET", f"/seeds/{c.seed_id}")]),
    "PATCH /api/v1/seeds/{seed_id}": ("item", lambda c: [c.api("PATCH", f"/seeds/{c.seed_id}",
                                                               json={"keywords": ["雪室"]})]),
    "DELETE /api/v1/seeds/{seed_id}": ("item", lambda c: None if c.role == OWNER and c.kind == "draft"
                                       else [c.api("DELETE", f"/seeds/{c.seed_id}")]),
    "POST /api/v1/seeds/{seed_id}/reactivate": ("item", lambda c: None if c.kind == "withdrawn" and c.role in (
        OWNER, "admin") else [c.api("POST", f"/seeds/{c.seed_id}/reactivate")]),  # a draft is active: 409
    "GET /api/v1/seeds/{seed_id}/needs": ("item", lambda c: [c.api("GET", f"/seeds/{c.seed_id}/needs")]),
    "GET /api/v1/admin/support/seeds/{seed_id}": ("support", lambda c: [
        c.api("GET", f"/admin/support/seeds/{c.seed_id}", params={"reason": "問い合わせ番号42の確認"})]),
    "GET /api/v1/researchers/me/export": ("list", lambda c: [c.api("GET", "/researchers/me/export")]),
    "POST /api/v1/needs": ("match", lambda c: [c.api("POST", "/needs", json={
        "title": "雪室で野菜を熟成したい", "description": TEXT, "prefecture_code": "15"})]),
    "POST /api/v1/needs/{need_id}/matches": ("match", lambda c: [
        c.api("POST", f"/needs/{c.seeds['need']}/matches", json={"level": level, "top_k": 50})
        for level in ("seed", "researcher", "university")]),
    "POST /api/v1/needs/{need_id}/matches/export": ("match", lambda c: [
        c.api("POST", f"/needs/{c.seeds['need']}/matches/export", params={"format": "csv"},
              json={"level": level, "top_k": 50}) for level in ("seed", "researcher", "university")]),
    "GET /my/seeds": ("list", lambda c: [c.page("GET", "/my/seeds")]),
    # issue 15: the seeds' search page, searched for the draft's own words (not its mark: the search box echoes it)
    "GET /seeds": ("list", lambda c: [c.page("GET", "/seeds?q=雪室"), c.page("GET", "/seeds?q=熟成野菜")]),
    "GET /seeds/{seed_id}": ("item", lambda c: [c.page("GET", f"/seeds/{c.seed_id}")]),
    "GET /seeds/{seed_id}/edit": ("item", lambda c: [c.page("GET", f"/seeds/{c.seed_id}/edit")]),
    "POST /seeds/{seed_id}/edit": ("item", lambda c: [c.page("POST", f"/seeds/{c.seed_id}/edit",
                                                             {"title": ""})]),  # invalid: no write
    "POST /seeds/{seed_id}/withdraw": ("item", lambda c: None if c.role == OWNER and c.kind == "draft"
                                       else [c.page("POST", f"/seeds/{c.seed_id}/withdraw")]),
    "GET /needs/{need_id}": ("match", lambda c: [c.page("GET", f"/needs/{c.seeds['need']}?level=seed")]),
    "GET /needs/{need_id}/results": ("match", lambda c: [
        c.page("GET", f"/needs/{c.seeds['need']}/results?level={level}") for level in ("seed", "researcher")]),
    "GET /needs/{need_id}/export": ("match", lambda c: [
        c.page("GET", f"/needs/{c.seeds['need']}/export?format=csv&level=seed&count=50")]),
    "POST /seeds/{seed_id}/reactivate": ("item", lambda c: None if c.kind == "withdrawn" and c.role in (
        OWNER, "admin") else [c.page("POST", f"/seeds/{c.seed_id}/reactivate")]),
    # issue 15: asking for an introduction names a seed of the partner; a draft or withdrawn one is missing to all
    "POST /api/v1/introductions": ("item", lambda c: [c.api("POST", "/introductions", json={
        "need_id": c.seeds["need"], "seed_id": c.seed_id, "message": "紹介をお願いします"})]),
    "GET /needs/{need_id}/introductions/new": ("item", lambda c: [
        c.page("GET", f"/needs/{c.seeds['need']}/introductions/new?seed_id={c.seed_id}")]),
    "POST /needs/{need_id}/introductions/new": ("item", lambda c: [c.page(
        "POST", f"/needs/{c.seeds['need']}/introductions/new", {"seed_id": str(c.seed_id), "message": "紹介を"})]),
    "POST /needs/new": ("match", lambda c: [c.page("POST", "/needs/new", {
        "title": "雪室で野菜を熟成したい", "description": TEXT, "prefecture_code": "15", "visibility": "public"})]),
}


def _shows_seeds(route) -> bool:
    """Whether a route names a seed in its path or answers a seed's shape."""
    if "{seed_id}" in getattr(route, "path", ""):
        return True
    model = getattr(route, "response_model", None)
    if model is None or not hasattr(model, "model_json_schema"):
        return False
    schema = json.dumps(model.model_json_schema())
    return "SeedPublic" in schema or '"seed_id"' in schema


def test_every_route_is_classified(client):
    keys = set(route_keys(client.app))
    assert not set(SEED_ROUTES) & set(NO_SEEDS)
    unclassified = sorted(keys - set(SEED_ROUTES) - set(NO_SEEDS))
    assert not unclassified, f"routes neither in SEED_ROUTES nor in NO_SEEDS: {unclassified}"
    assert not (set(SEED_ROUTES) | set(NO_SEEDS)) - keys, "rows for routes that no longer exist"
    from fastapi.routing import APIRoute

    bearing = {f"{m} {r.path}" for r in client.app.routes if isinstance(r, APIRoute) and _shows_seeds(r)
               for m in r.methods if m != "HEAD"}
    hidden = sorted(k for k in bearing & set(NO_SEEDS) if NO_SEEDS[k] != "creates the caller's own seed")
    assert not hidden, f"routes that answer seeds but are listed as showing none: {hidden}"


def _leaks(response, mark: str) -> bool:
    return mark in response.text


def _check(kind_of_route: str, role: str, kind: str, responses) -> list[str]:
    mark = DRAFT_MARK if kind == "draft" else WITHDRAWN_MARK
    allowed = may_see(role, kind)
    wrong = []
    for response in responses:
        status = response.status_code
        if kind_of_route == "match":  # the index holds neither, for anyone, the owner too
            if _leaks(response, mark):
                wrong.append(f"{status} shows the {kind}")
            continue
        if kind_of_route == "support":  # admins only, drafts included; everyone else is refused
            allowed = role == "admin"
            if allowed and (status != 200 or not _leaks(response, mark)):
                wrong.append(f"{status}: the admin's support read failed")
        if not allowed and _leaks(response, mark):
            wrong.append(f"{status} shows the {kind}")
        if kind_of_route == "item" and not allowed and status not in (404, 401, 303):
            wrong.append(f"{status} instead of 404")
        if kind_of_route == "item" and allowed and status >= 500:
            wrong.append(f"{status} for who may see it")
    return wrong


def test_no_route_shows_a_draft_or_a_withdrawn_seed_to_whom_the_rule_hides_it(client, actors, browsers, seeds):
    wrong, calls = [], 0
    for key, (kind_of_route, make) in SEED_ROUTES.items():
        for kind in ("draft", "withdrawn"):
            for role in ROLES:
                responses = make(Call(client, actors, browsers, seeds, role, kind))
                if responses is None:
                    continue
                calls += len(responses)
                wrong += [f"{key} as {role}, {kind}: {w}" for w in _check(kind_of_route, role, kind, responses)]
    assert not wrong, "\n".join(wrong)
    print(f"\nseed routes × roles × (draft, withdrawn) walked: {len(SEED_ROUTES)} × {len(ROLES)} × 2, {calls} calls")


def test_the_owner_reads_its_draft_and_runs_it_against_needs(client, actors, seeds):
    url = f"{API}/seeds/{seeds['draft']}"
    assert client.get(url, headers=actors.researcher).json()["visibility"] == "private"
    assert client.get(url + "/needs", headers=actors.researcher).status_code == 200
    mine = client.get(f"{API}/seeds", params={"mine": True, "limit": 200}, headers=actors.researcher).json()
    assert {seeds["draft"], seeds["withdrawn"]} <= {s["id"] for s in mine["items"]}
    export = client.get(f"{API}/researchers/me/export", headers=actors.researcher).json()
    assert {seeds["draft"], seeds["withdrawn"]} <= {s["id"] for s in export["seeds"]}


def test_coordinators_and_admins_are_refused_where_they_used_to_read(client, actors, seeds):
    """The defect of issue 14: coordinators and admins read drafts, and ran seed→needs on them."""
    for who in (actors.coordinator, actors.admin):
        for path in (f"/seeds/{seeds['draft']}", f"/seeds/{seeds['draft']}/needs"):
            refused = client.get(API + path, headers=who)
            assert refused.status_code == 404
            assert refused.json()["error"]["message"] == f"シーズ（ID: {seeds['draft']}）が見つかりません。"
    assert client.get(f"{API}/seeds/{seeds['withdrawn']}", headers=actors.coordinator).status_code == 404
    assert client.get(f"{API}/seeds/{seeds['withdrawn']}", headers=actors.admin).status_code == 200


def test_the_support_path_needs_a_reason_and_is_audited(client, actors, seeds):
    url = f"{API}/admin/support/seeds/{seeds['draft']}"
    for params in ({}, {"reason": "   "}):
        missing = client.get(url, params=params, headers=actors.admin)
        assert missing.status_code == 422
        assert "理由" in missing.json()["error"]["message"]
    assert client.get(url, params={"reason": "理由\x00"}, headers=actors.admin).status_code == 422
    with Session(client.app.state.db) as session:
        before = len(session.exec(select(AuditEntry).where(
            col(AuditEntry.action) == AuditAction.support_seed_read.value)).all())
    read = client.get(url, params={"reason": "問い合わせ番号77: 下書きが保存できない"}, headers=actors.admin)
    assert read.status_code == 200 and read.json()["title"] == DRAFT["title"]
    with Session(client.app.state.db) as session:
        rows = session.exec(select(AuditEntry).where(
            col(AuditEntry.action) == AuditAction.support_seed_read.value).order_by(col(AuditEntry.id))).all()
    assert len(rows) == before + 1
    row = rows[-1]
    assert (row.seed_id, row.researcher_id, row.reason) == (seeds["draft"], actors.researcher_id,
                                                             "問い合わせ番号77: 下書きが保存できない")
    assert row.route == f"GET {API}/admin/support/seeds/{seeds['draft']}"
    assert client.get(url, params={"reason": "x"}, headers=actors.coordinator).status_code == 403


def test_the_index_holds_neither(client, seeds):
    """Match results and reports (which search a copy of the index) can show neither seed."""
    held = client.app.state.service.engine.seeds
    assert seeds["draft"] not in held and seeds["withdrawn"] not in held


def test_the_label_says_what_the_rule_does(client, browsers, seeds):
    label = labels.SEED_VISIBILITY[SeedVisibility.private]
    assert label.startswith("下書き（自分だけ")
    browser, _ = browsers[OWNER]
    form = browser.get("/seeds/new").text
    assert re.search(r"下書き（自分だけ", form)
    # 自分だけ: of all the roles, only the owner reads the draft
    readers = [role for role in ROLES if Call(client, None, browsers, seeds, role, "draft").page(
        "GET", f"/seeds/{seeds['draft']}").status_code == 200]
    assert readers == [OWNER]
