"""Issue 14 (OWASP API5, function-level authorisation): every route of the app × every role, from one table.

The routes come from `app.routes` (the API, the pages, the docs, the mounts), so a route added later without a
row in `EXPECTED` fails `test_every_route_has_a_row`. Each route is called as admin, coordinator, researcher,
poster and anonymous, and must answer the status its row says:

- API bodies are `{"unexpected": 1}`: a role let through gets the 422 of validation, a role kept out its 403, an
  anonymous caller 401; so nothing is written, and the role check is what the status shows.
- Deleting routes name an id that does not exist (`MISSING`): 404 for those let through.
- Pages are called with a signed-in session (or none) and, for forms, its CSRF token: anonymous callers are sent
  to /signin (303), roles kept out get the Japanese 403 page.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from api.limits import ID_MAX

from ..web.conftest import signed_in_browsers

ROLES = ("admin", "coordinator", "researcher", "poster", "anonymous")
MISSING = ID_MAX  # an id no row has
BAD_BODY = {"unexpected": 1}
MOUNT_SAMPLES = {"/static": "/static/site.css", "/docs-assets": "/docs-assets/favicon.png"}

# "METHOD path": statuses for admin, coordinator, researcher, poster, anonymous
EXPECTED: dict[str, tuple[int, int, int, int, int]] = {
    # ---- API: needs
    "POST /api/v1/needs": (422, 403, 403, 422, 401),
    "GET /api/v1/needs": (200, 200, 200, 200, 401),
    "GET /api/v1/needs/{need_id}": (200, 200, 200, 200, 401),
    "PATCH /api/v1/needs/{need_id}": (422, 422, 422, 422, 401),
    "DELETE /api/v1/needs/{need_id}": (404, 404, 404, 404, 401),
    "POST /api/v1/needs/{need_id}/matches": (422, 422, 422, 422, 401),
    "POST /api/v1/needs/{need_id}/matches/export": (422, 422, 422, 422, 401),
    "POST /api/v1/needs/{need_id}/reopen": (404, 404, 404, 404, 401),  # a missing id: nothing re-opened
    # ---- API: seeds
    "POST /api/v1/seeds": (422, 403, 422, 403, 401),
    "GET /api/v1/seeds": (200, 200, 200, 200, 401),
    "GET /api/v1/seeds/{seed_id}": (200, 200, 200, 200, 401),
    "PATCH /api/v1/seeds/{seed_id}": (422, 422, 422, 422, 401),
    "DELETE /api/v1/seeds/{seed_id}": (404, 404, 404, 404, 401),
    "POST /api/v1/seeds/{seed_id}/reactivate": (404, 404, 404, 404, 401),  # a missing id: nothing re-activated
    "GET /api/v1/seeds/{seed_id}/needs": (200, 200, 200, 403, 401),
    # ---- API: people
    "GET /api/v1/me": (200, 200, 200, 200, 401),
    "GET /api/v1/organisations": (200, 200, 200, 200, 401),
    "POST /api/v1/organisations": (422, 403, 403, 403, 401),
    "GET /api/v1/organisations/{organisation_id}": (200, 200, 200, 200, 401),
    "POST /api/v1/researchers": (422, 403, 403, 403, 401),
    "GET /api/v1/researchers/{researcher_id}": (200, 200, 200, 200, 401),
    "PATCH /api/v1/researchers/{researcher_id}": (422, 422, 422, 422, 401),
    "DELETE /api/v1/researchers/{researcher_id}": (404, 404, 404, 404, 401),  # a missing id: nothing erased
    "GET /api/v1/researchers/me/export": (404, 404, 200, 404, 401),  # only an account with a researcher profile
    "DELETE /api/v1/researchers/me": (404, 404, 422, 404, 401),  # without confirm=true: nothing erased
    # ---- API: reports
    "POST /api/v1/reports": (422, 422, 403, 403, 401),
    "GET /api/v1/reports": (200, 200, 403, 403, 401),
    "GET /api/v1/reports/{job_id}": (404, 404, 403, 403, 401),
    "GET /api/v1/reports/{job_id}/files/{name}": (404, 404, 403, 403, 401),
    # ---- API: admin
    "GET /api/v1/admin/tokens": (200, 403, 403, 403, 401),
    "DELETE /api/v1/admin/tokens/{token_id}": (404, 403, 403, 403, 401),
    "POST /api/v1/admin/accounts/{account_id}/disable": (404, 403, 403, 403, 401),
    "POST /api/v1/admin/accounts/{account_id}/enable": (404, 403, 403, 403, 401),
    "GET /api/v1/admin/audit": (200, 403, 403, 403, 401),
    "PATCH /api/v1/admin/accounts/{account_id}": (422, 403, 403, 403, 401),  # issue 15: a role change
    "PATCH /api/v1/admin/organisations/{organisation_id}": (422, 403, 403, 403, 401),  # issue 15: an edit
    "GET /api/v1/admin/support/seeds/{seed_id}": (422, 403, 403, 403, 401),  # no reason given
    # ---- API: introduction requests, feedback, notifications (issue 15)
    "POST /api/v1/introductions": (422, 422, 422, 422, 401),
    "GET /api/v1/introductions": (200, 200, 200, 200, 401),
    "GET /api/v1/introductions/{request_id}": (404, 404, 404, 404, 401),
    "POST /api/v1/introductions/{request_id}/answer": (422, 422, 422, 422, 401),
    "POST /api/v1/feedback": (422, 422, 422, 422, 401),
    "GET /api/v1/feedback": (200, 200, 200, 200, 401),
    "GET /api/v1/feedback/outcomes": (200, 200, 403, 403, 401),
    "GET /api/v1/notifications": (200, 200, 200, 200, 401),
    "POST /api/v1/notifications/{notification_id}/read": (404, 404, 404, 404, 401),
    "POST /api/v1/notifications/read-all": (200, 200, 200, 200, 401),
    # issue 15: standing alerts (each account's own; a rotation makes the caller's own new feed URL) and the feeds
    "GET /api/v1/alerts": (200, 200, 200, 200, 401),
    "PUT /api/v1/alerts": (422, 422, 422, 422, 401),
    "POST /api/v1/alerts/feed": (200, 200, 200, 200, 401),
    "GET /api/v1/notifications/feed.atom": (200, 200, 200, 200, 401),
    "GET /feeds/{secret}.atom": (404, 404, 404, 404, 404),  # no such secret: whoever asks
    # ---- health and docs
    "GET /livez": (200, 200, 200, 200, 200),
    "GET /readyz": (200, 200, 200, 200, 200),
    "GET /openapi.json": (200, 200, 200, 200, 200),
    "GET /docs": (200, 200, 200, 200, 200),
    "GET /redoc": (200, 200, 200, 200, 200),
    "MOUNT /docs-assets": (200, 200, 200, 200, 200),
    "MOUNT /static": (200, 200, 200, 200, 200),
    # ---- pages
    "GET /": (200, 200, 200, 200, 200),
    "GET /help/scores": (200, 200, 200, 200, 200),
    "GET /privacy": (200, 200, 200, 200, 200),
    "GET /signin": (200, 200, 200, 200, 200),
    "POST /signin": (422, 422, 422, 422, 422),  # no token typed
    "POST /signout": (303, 303, 303, 303, 303),
    "GET /needs": (200, 200, 200, 200, 303),
    "GET /needs/new": (200, 403, 403, 200, 303),
    "GET /needs/municipalities": (200, 200, 200, 200, 303),
    "POST /needs/new": (422, 403, 403, 422, 303),
    "GET /needs/{need_id}": (200, 200, 200, 200, 303),
    "GET /needs/{need_id}/results": (200, 200, 200, 200, 303),
    "GET /needs/{need_id}/export": (200, 200, 200, 200, 303),
    "GET /needs/{need_id}/edit": (200, 403, 403, 403, 303),  # need 901 is the demo poster's, not the test poster's
    "POST /needs/{need_id}/edit": (422, 403, 403, 403, 303),
    "POST /needs/{need_id}/withdraw": (404, 404, 404, 404, 303),
    "POST /needs/{need_id}/reopen": (404, 404, 404, 404, 303),
    "GET /my/seeds": (403, 403, 200, 403, 303),
    "GET /seeds/new": (403, 403, 200, 403, 303),
    "POST /seeds/new": (403, 403, 422, 403, 303),
    "GET /seeds/{seed_id}": (200, 200, 200, 200, 303),
    "GET /seeds/{seed_id}/edit": (200, 403, 200, 403, 303),
    "POST /seeds/{seed_id}/edit": (422, 403, 422, 403, 303),
    "POST /seeds/{seed_id}/withdraw": (404, 404, 404, 404, 303),
    "POST /seeds/{seed_id}/reactivate": (404, 404, 404, 404, 303),
    "GET /coordinator": (200, 200, 403, 403, 303),
    "POST /coordinator/reports": (422, 422, 403, 403, 303),
    "GET /coordinator/reports/{job_id}": (404, 404, 403, 403, 303),
    "GET /coordinator/reports/{job_id}/status": (404, 404, 403, 403, 303),
    "GET /coordinator/reports/{job_id}/files/{name}": (404, 404, 403, 403, 303),
    # issue 15: no seed_id: 422; the settings are a researcher's (its form saved: 303)
    "GET /needs/{need_id}/introductions/new": (422, 422, 422, 422, 303),
    "POST /needs/{need_id}/introductions/new": (422, 422, 422, 422, 303),
    "GET /introductions": (200, 200, 200, 200, 303),
    "GET /introductions/{request_id}": (404, 404, 404, 404, 303),
    "POST /introductions/{request_id}/answer": (404, 404, 404, 404, 303),
    "POST /introductions/settings": (403, 403, 303, 403, 303),
    "POST /needs/{need_id}/feedback": (422, 422, 422, 422, 303),
    "GET /coordinator/outcomes": (200, 200, 403, 403, 303),
    "GET /notifications": (200, 200, 200, 200, 303),
    "POST /notifications/read-all": (303, 303, 303, 303, 303),
    "POST /notifications/{notification_id}/read": (404, 404, 404, 404, 303),
    # issue 15, bulk seed import: a liaison office's and admins' (none of these actors is an office); an admin
    # sends no university or no checked file (422), and no job has the missing id (404)
    "GET /seed-import": (200, 403, 403, 403, 303),
    "GET /seed-import/template": (200, 403, 403, 403, 303),
    "POST /seed-import/check": (422, 403, 403, 403, 303),
    "POST /seed-import/run": (422, 403, 403, 403, 303),
    "GET /seed-import/jobs/{job_id}": (404, 403, 403, 403, 303),
    "GET /seed-import/jobs/{job_id}/status": (404, 403, 403, 403, 303),
    "GET /api/v1/seed-imports/template": (200, 403, 403, 403, 401),
    "POST /api/v1/seed-imports/check": (422, 403, 403, 403, 401),
    "POST /api/v1/seed-imports": (422, 403, 403, 403, 401),
    "GET /api/v1/seed-imports/{job_id}": (404, 403, 403, 403, 401),
    "GET /seeds": (200, 200, 200, 200, 303),  # issue 15: the seeds' search
    "GET /my/profile": (403, 403, 200, 403, 303),  # issue 15: a researcher's own profile (admins edit by the API)
    "POST /my/profile": (403, 403, 422, 403, 303),
    "GET /researchers/{researcher_id}": (200, 200, 200, 200, 303),
    "GET /alerts": (200, 200, 200, 200, 303),
    "POST /alerts": (422, 422, 422, 422, 303),  # no level chosen: nothing saved
    "POST /alerts/feed": (200, 200, 200, 200, 303),
    # issue 15: the admin pages (the forms sent empty: nothing is written; missing ids: 404 for admins)
    "GET /admin/organisations": (200, 403, 403, 403, 303),
    "POST /admin/organisations": (422, 403, 403, 403, 303),
    "GET /admin/accounts": (200, 403, 403, 403, 303),
    "POST /admin/accounts": (422, 403, 403, 403, 303),
    "POST /admin/accounts/{account_id}/disable": (404, 403, 403, 403, 303),
    "POST /admin/accounts/{account_id}/enable": (404, 403, 403, 403, 303),
    "GET /admin/tokens": (200, 403, 403, 403, 303),
    "POST /admin/tokens": (422, 403, 403, 403, 303),
    "POST /admin/tokens/{token_id}/revoke": (404, 403, 403, 403, 303),
    # issue 15: an organisation's edit (sent empty: refused, nothing written) and a role change (no role: refused)
    "GET /admin/organisations/{organisation_id}/edit": (200, 403, 403, 403, 303),
    "POST /admin/organisations/{organisation_id}/edit": (422, 403, 403, 403, 303),
    "POST /admin/accounts/{account_id}/role": (422, 403, 403, 403, 303),
}
# path parameters: real rows, except where a call would change one (a withdrawal names a missing id)
PARAMS = {"need_id": 901, "seed_id": 1, "organisation_id": 1, "job_id": MISSING, "token_id": MISSING,
          "account_id": MISSING, "name": "report.html"}
MISSING_FOR = {"DELETE /api/v1/needs/{need_id}", "DELETE /api/v1/seeds/{seed_id}", "POST /seeds/{seed_id}/withdraw",
               "DELETE /api/v1/researchers/{researcher_id}", "POST /api/v1/needs/{need_id}/reopen",
               "POST /api/v1/seeds/{seed_id}/reactivate", "POST /needs/{need_id}/withdraw",
               "POST /needs/{need_id}/reopen", "POST /seeds/{seed_id}/reactivate"}
PARAMS.update(request_id=MISSING, notification_id=MISSING)  # issue 15: no such request or notification
PARAMS.update(secret="mf_no-such-feed")  # issue 15: no feed has this secret
# forms that must not be valid, so that the role check, not a write, decides (the edits: an empty title)
FORMS = {"POST /coordinator/reports": {"formats": "nothing"}, "POST /seeds/{seed_id}/edit": {"title": ""},
         "POST /needs/{need_id}/edit": {"title": ""}, "POST /my/profile": {"name": ""}}


def route_keys(app) -> list[str]:
    """Every route the app answers, with its full path: FastAPI keeps included routers nested
    (`iter_route_contexts` walks them as the app does)."""
    keys = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            keys.append(f"MOUNT {route.path}")
        else:
            keys += [f"{method} {route.path}" for method in sorted(route.methods or ()) if method != "HEAD"]
    return keys


def test_every_route_has_a_row(client):
    keys = route_keys(client.app)
    assert len(keys) == len(set(keys))
    missing = sorted(set(keys) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(keys))
    assert not missing, f"routes without a row in EXPECTED: {missing}"
    assert not stale, f"rows of EXPECTED for routes that no longer exist: {stale}"


@pytest.fixture(scope="module")
def callers(client, actors) -> dict[str, tuple[TestClient, str]]:
    """Per role: a browser signed in with that role's token (anonymous: none), and its CSRF token."""
    return signed_in_browsers(client, actors, ROLES)


def call(client, actors, callers, key: str, role: str) -> int:
    method, path = key.split(" ", 1)
    if method == "MOUNT":
        return client.get(MOUNT_SAMPLES[path]).status_code
    params = dict(PARAMS, researcher_id=actors.researcher_id)
    url = re.sub(r"\{(\w+)\}", lambda m: str(MISSING if key in MISSING_FOR else params[m.group(1)]), path)
    if path.startswith("/api/"):
        headers = getattr(actors, role) if role != "anonymous" else {}
        body = {"json": BAD_BODY} if method in ("POST", "PATCH") else {}
        return client.request(method, url, headers=headers, **body).status_code
    browser, csrf = callers[role]
    if method == "POST":
        return browser.post(url, data={"csrf": csrf, **FORMS.get(key, {})}, follow_redirects=False).status_code
    return browser.get(url, headers={"accept": "text/html"}, follow_redirects=False).status_code


def test_every_route_answers_every_role_as_the_table_says(client, actors, callers):
    keys = sorted(route_keys(client.app), key=lambda k: k == "POST /signout")  # it signs everyone out: last
    wrong = []
    for key in keys:
        got = tuple(call(client, actors, callers, key, role) for role in ROLES)
        if got != EXPECTED[key]:
            wrong.append(f'"{key}": {got},  # expected {EXPECTED[key]}')
    assert not wrong, "\n".join(wrong)
    print(f"\nroutes × roles walked: {len(keys)} × {len(ROLES)} = {len(keys) * len(ROLES)}")
